"""Redis SLOWLOG parsing and findings — on output captured from this machine's Redis 7 and on a live
server (slowlog-log-slower-than 0 for the test's duration, restored afterwards)."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.diagnostics.report import InputError
from casework.diagnostics.slowlog import redis as rs
from casework.diagnostics.slowlog.entry import ParseStats
from conftest import DATA
from services import REDIS_URL, require_binary, require_port
from slowlog_mongo_helpers import shapes_from

REDIS = DATA / "slowlog" / "redis"


def _parse_text(text: str, fmt: str | None = None):
    stats = ParseStats()
    entries = list(rs.parse(text.splitlines(keepends=True), source="t", stats=stats, fmt=fmt))
    return entries, stats


def test_cli_and_json_captures_agree():
    cli, s1 = _parse_text((REDIS / "slowlog_get.txt").read_text())
    js, s2 = _parse_text((REDIS / "slowlog_get.json").read_text())
    assert s1.unparsed == s2.unparsed == 0 and cli
    by_id = {e.extra["slowlog_id"]: e for e in js}
    for e in cli:  # the JSON capture was taken just after: it holds every entry of the text one
        other = by_id[e.extra["slowlog_id"]]
        assert (e.fingerprint, e.duration_ms, e.ts, e.client) == (
            other.fingerprint,
            other.duration_ms,
            other.ts,
            other.client,
        )
    fps = {e.fingerprint for e in cli}
    assert {
        "GET cw:user:{n}:profile",
        "HSET cw:session:{uuid}",
        "KEYS cw:user:*",
        "LRANGE cw:queue:jobs 0 -1",
        "LRANGE cw:queue:jobs ? ?",
        "SMEMBERS cw:big:set",
    } <= fps
    found = rs.findings(shapes_from(cli))
    assert [f.code for f in found] == ["redis.blocking-command"]
    commands = {row["command"] for row in found[0].evidence["commands"]}
    assert "KEYS" in commands and "SMEMBERS" in commands  # 150 000 members: well over 10 ms
    assert "LRANGE 0 -1" not in commands  # 100 elements: fast, not blocking


def test_key_patterns():
    assert rs.fingerprint(["get", "user:42:profile"])[1] == "GET user:{n}:profile"
    assert rs.fingerprint(["HGETALL", "s:3f2a1b4c-1d2e-4f5a-8b9c-0d1e2f3a4b5c"])[1] == "HGETALL s:{uuid}"
    assert rs.fingerprint(["GET", "cache:9f8a7c6b5d4e3f21"])[1] == "GET cache:{hex}"
    assert rs.fingerprint(["CONFIG", "SET", "maxmemory", "1gb"])[1] == "CONFIG SET"
    assert rs.fingerprint(["FLUSHALL", "ASYNC"])[1] == "FLUSHALL ASYNC"
    assert rs.fingerprint(["EVAL", "return 1", "1", "lock:7"])[1] == "EVAL lock:{n}"


@settings(max_examples=100, deadline=None)
@given(a=st.integers(0, 10**12), b=st.uuids(), c=st.integers(0, 10**6))
def test_same_pattern_for_different_ids(a, b, c):
    fp1 = rs.fingerprint(["HGET", f"user:{a}:sess:{b}", "f"])[1]
    fp2 = rs.fingerprint(["HGET", f"user:{c}:sess:{uuid.uuid4()}", "g"])[1]
    assert fp1 == fp2 == "HGET user:{n}:sess:{uuid}"
    assert rs.fingerprint(["HGET", f"order:{a}", "f"])[1] != fp1


_sample = (REDIS / "slowlog_get.txt").read_text().splitlines()[:30]


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.one_of(st.text(max_size=80), st.sampled_from(_sample)), max_size=20),
    fmt=st.sampled_from([None, *rs.FORMATS]),
)
def test_fuzz_parser_never_raises(lines, fmt):
    stats = ParseStats()
    try:
        entries = list(rs.parse([x + "\n" for x in lines], source="fuzz", stats=stats, fmt=fmt))
    except InputError:
        return
    rs.findings(shapes_from(entries))


@pytest.mark.redis
def test_live_server_matches_redis_cli_output():
    require_port("Redis", "127.0.0.1", 6379)
    redis_cli = require_binary("redis-cli")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    old = client.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    tag = "".join(chr(103 + int(c, 16) % 20) for c in uuid.uuid4().hex[:8])  # letters g-z: no {hex}/{n}
    try:
        client.config_set("slowlog-log-slower-than", 0)
        client.slowlog_reset()
        for i in range(20):
            client.set(f"cwtest:{tag}:user:{i}", "v")
            client.get(f"cwtest:{tag}:user:{i}")
        client.sadd(f"cwtest:{tag}:big", *range(60000))
        client.smembers(f"cwtest:{tag}:big")
        client.keys(f"cwtest:{tag}:*")
        cli = subprocess.run(
            [redis_cli, "-h", "127.0.0.1", "-p", "6379", "--no-raw", "SLOWLOG", "GET", "128"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        live_stats = ParseStats()
        live = list(rs.live_entries(REDIS_URL, stats=live_stats))
    finally:
        client.config_set("slowlog-log-slower-than", old)
        client.delete(f"cwtest:{tag}:big", *(f"cwtest:{tag}:user:{i}" for i in range(20)))
    assert client.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"] == old
    text_entries, stats = _parse_text(cli)
    assert stats.unparsed == 0 and live_stats.unparsed == 0
    ours = [e for e in text_entries if f"cwtest:{tag}" in e.example]
    live_by_id = {e.extra["slowlog_id"]: e for e in live}
    for e in ours:
        assert live_by_id[e.extra["slowlog_id"]].fingerprint == e.fingerprint
        assert live_by_id[e.extra["slowlog_id"]].duration_ms == e.duration_ms
    assert f"SET cwtest:{tag}:user:{{n}}" in {e.fingerprint for e in ours}
    sets = [e for e in ours if e.operation == "SET"]
    assert len(sets) == 20 and len({e.fingerprint for e in sets}) == 1
    found = rs.findings(shapes_from(ours))
    assert found and found[0].code == "redis.blocking-command"
    assert "KEYS" in {row["command"] for row in found[0].evidence["commands"]}


def test_live_unreachable_server_is_a_clean_input_error():
    with pytest.raises(InputError) as exc:
        list(rs.live_entries("redis://127.0.0.1:1/0", stats=ParseStats()))
    assert "redis://127.0.0.1:1/0" in exc.value.one_line()
