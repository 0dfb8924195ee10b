"""MongoDB slow-log parser, shapes and findings — on the seed's real rows, mtools' sample logs and
generated logs whose truth is known."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.diagnostics.report import InputError
from casework.diagnostics.slowlog import mongodb
from casework.diagnostics.slowlog.entry import ParseStats
from casework.diagnostics.slowlog.mongodb_shape import command_shape, filter_fields
from casework.i18n import use_language
from conftest import DATA
from slowlog_mongo_helpers import mongodb_generator, shapes_from

MONGO = DATA / "slowlog" / "mongodb"


def _parse(path: Path, fmt: str | None = None):
    stats = ParseStats()
    with path.open(encoding="utf-8") as fh:
        entries = list(mongodb.parse(fh, source=path.name, stats=stats, fmt=fmt))
    return entries, stats


# --- the seed ticket ----------------------------------------------------------------------------------------


def test_seed_rows_are_internal_oplog_tailing():
    entries, stats = _parse(MONGO / "seed.tsv")
    assert stats.unparsed == 0 and len(entries) == 2
    for e in entries:
        assert e.operation == "getmore" and e.namespace == "local.oplog.rs"
        assert e.internal and e.internal_reason == "oplog-tailing"
        assert e.user == "__system" and e.duration_ms == 808 and e.examined == 7 and e.returned == 7
        assert (
            e.plan == "COLLSCAN"
            and e.lock_ms is None
            and e.extra["await_ms"] == pytest.approx(808.7, abs=0.1)
        )
    # Both secondaries' getMores are one shape: cursor ids and timestamps are values.
    assert {e.client for e in entries} == {"11.192.145.216", "11.195.33.95"}
    assert len({e.fingerprint for e in entries}) == 1
    assert entries[0].fingerprint == (
        "getmore local.oplog.rs find filter={ts: {$gte: ?}} tailable awaitData oplogReplay"
    )
    shapes = shapes_from(entries)
    found = mongodb.findings(shapes)
    codes = [f.code for f in found]
    assert codes == [
        "mongodb.internal-oplog-tailing"
    ]  # not a collscan: it is replication, not a customer scan
    oplog = found[0]
    assert "808" in oplog.detail and "5000" in oplog.detail and "awaitData" in oplog.detail
    assert oplog.evidence["max_time_ms"] == 5000 and oplog.evidence["users"] == {"__system": 2}
    assert shapes[0].codes == ["mongodb.internal-oplog-tailing"]
    with use_language("zh"):
        zh = mongodb.findings(shapes_from(entries))[0]
    assert zh.title != oplog.title  # translated


def test_sniff_picks_each_format():
    assert mongodb.sniff((MONGO / "seed.tsv").read_text()) >= 90
    assert mongodb.sniff((MONGO / "mongod44_slow.json.log").read_text()[:65536]) == 100
    assert mongodb.sniff((MONGO / "mtools_4.0.13_queryratio.log").read_text()) >= 80
    assert mongodb.sniff((MONGO / "profile.jsonl").read_text()) >= 90
    assert mongodb.sniff((MONGO / "profile_array.json").read_text()) >= 90
    assert mongodb.sniff("SELECT 1;\n# Time: 2024-01-01\n") == 0
    assert mongodb.sniff((DATA / "slowlog" / "redis" / "slowlog_get.txt").read_text()) == 0


# --- mtools' sample logs (Apache-2.0) -----------------------------------------------------------------------


def test_mtools_4_0_log_groups_the_three_collscans_and_names_the_index():
    entries, stats = _parse(MONGO / "mtools_4.0.13_queryratio.log")
    assert stats.unparsed == 0
    finds = [e for e in entries if e.fingerprint == "find mtools.test filter={name: ?}"]
    assert [e.duration_ms for e in finds] == [26, 27, 26]
    assert all(e.plan == "COLLSCAN" and e.examined == 100000 for e in finds)
    assert [e.line for e in finds] == [16, 21, 23]
    shapes = shapes_from(entries)
    found = mongodb.findings(shapes)
    collscan = [f for f in found if f.code == "collscan"]
    assert len(collscan) == 1
    assert collscan[0].evidence["filter_fields"]["equality"] == ["name"]
    assert collscan[0].evidence["suggested_index"] == "{name: 1}"
    assert "createIndex({name: 1})" in collscan[0].advice
    internal = [f for f in found if f.code == "mongodb.internal-operation"]
    assert internal and "admin-namespace" in internal[0].evidence["by_reason"]


def test_mtools_2_4_log_legacy_query_and_ttl_monitor():
    entries, stats = _parse(MONGO / "mtools_collscans_2.4.log")
    assert stats.unparsed == 0
    fps = {e.fingerprint for e in entries if not e.internal}
    assert fps == {
        "find test.docs filter={foo: ?} sort={foo: -1}",
        "find test.docs filter={foo: ?} sort={bar: -1}",
        "find test.docs filter={foo: {$in: [?]}} sort={bar: -1}",
    }
    ttl = [e for e in entries if e.internal_reason == "ttl-monitor"]
    assert len(ttl) == 4 and all(e.ts is None for e in ttl)  # ctime logs carry no year


# --- profile documents --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["profile.jsonl", "profile_array.json"])
def test_profile_documents_lines_and_pretty_array(name):
    entries, stats = _parse(MONGO / name)
    assert stats.unparsed == 0
    assert [e.duration_ms for e in entries] == [1312, 1275, 431, 212]
    assert (
        entries[0].fingerprint
        == entries[1].fingerprint
        == ("find shop.orders filter={status: ?, created: {$gte: ?}} sort={created: -1}")
    )
    assert entries[0].user == "shop_rw@shop" and entries[0].client == "10.20.1.17"
    assert entries[2].lock_ms == pytest.approx(402.113)
    assert entries[3].internal_reason == "sessions"
    found = mongodb.findings(shapes_from(entries))
    scan = next(f for f in found if f.code == "collscan")
    assert scan.evidence["suggested_index"] == "{status: 1, created: -1}"


# --- generated logs: shapes and totals equal the generator's truth -----------------------------------------


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_generated_log_totals_equal_truth(tmp_path, fmt):
    gen = mongodb_generator()
    path = tmp_path / f"gen.{fmt}.log"
    truth = gen.generate(path, fmt=fmt, size_mb=1.5, seed=3, templates=150)
    entries, stats = _parse(path)
    assert stats.unparsed == 0
    got: dict[str, list] = {}
    for e in entries:
        row = got.setdefault(e.fingerprint, [0, 0.0, e.internal])
        row[0] += 1
        row[1] += e.duration_ms
    assert set(got) == set(truth)
    for fp, t in truth.items():
        assert got[fp][0] == t["count"], fp
        assert got[fp][1] == t["total_ms"], fp
        assert got[fp][2] == t["internal"], fp


def test_checked_in_json_and_text_logs_agree():
    """The same generator seed rendered as 4.4 JSON and ≤4.2 text gives the same shapes."""
    js, s1 = _parse(MONGO / "mongod44_slow.json.log")
    tx, s2 = _parse(MONGO / "mongod42_slow.log")
    assert s1.unparsed == s2.unparsed == 0
    assert {e.fingerprint for e in js} >= {e.fingerprint for e in tx[:200]}
    oplog = [e for e in js if e.internal_reason == "oplog-tailing"]
    assert oplog and all(e.namespace == "local.oplog.rs" for e in oplog)
    codes = {f.code for f in mongodb.findings(shapes_from(js))}
    assert {"mongodb.internal-oplog-tailing", "mongodb.internal-operation", "collscan"} <= codes


# --- the fingerprinter ---------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    # A string starting with "$" is a field reference ("$total"), which the shape keeps by design: not a value.
    st.text(max_size=20).filter(lambda s: not s.startswith("$")),
    st.booleans(),
    st.none(),
)
_fields = st.lists(
    st.from_regex(r"[a-z][a-zA-Z0-9_.]{0,10}", fullmatch=True), min_size=1, max_size=5, unique=True
)


@settings(max_examples=150, deadline=None)
@given(fields=_fields, data=st.data())
def test_same_shape_for_different_values(fields, data):
    ops = data.draw(
        st.lists(st.sampled_from(["eq", "$gt", "$in"]), min_size=len(fields), max_size=len(fields))
    )

    def build():
        filt = {}
        for f, op in zip(fields, ops, strict=True):
            if op == "eq":
                filt[f] = data.draw(_scalars)
            elif op == "$in":
                filt[f] = {"$in": data.draw(st.lists(_scalars, min_size=1, max_size=30))}
            else:
                filt[f] = {op: data.draw(_scalars)}
        return {
            "find": "c",
            "filter": filt,
            "sort": {fields[0]: -1},
            "lsid": {"id": data.draw(st.uuids()).hex},
        }

    assert command_shape(build()) == command_shape(build())
    fp = "find db.c " + command_shape(build())[1]
    ff = filter_fields(fp)
    assert set(ff["equality"] + ff["range"]) == {f for f in fields if not f.startswith("$")}


@settings(max_examples=100, deadline=None)
@given(a=_fields, b=_fields)
def test_different_fields_stay_apart(a, b):
    sa = command_shape({"find": "c", "filter": {k: 1 for k in a}})
    sb = command_shape({"find": "c", "filter": {k: 1 for k in b}})
    assert (sa == sb) == (a == b)


# --- fuzzing: never a traceback ----------------------------------------------------------------------------

_seed_line = (MONGO / "seed.tsv").read_text().splitlines()[0]
_text_line = (MONGO / "mtools_4.0.13_queryratio.log").read_text().splitlines()[15]
_json_line = next(
    line for line in (MONGO / "mongod44_slow.json.log").read_text().splitlines() if "Slow query" in line
)


def _mutations(base: str):
    return st.builds(
        lambda cut, insert, pos: base[:cut] + insert + base[pos:],
        st.integers(0, len(base)),
        st.text(max_size=12),
        st.integers(0, len(base)),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(
        st.one_of(
            st.text(max_size=200), _mutations(_seed_line), _mutations(_text_line), _mutations(_json_line)
        ),
        max_size=6,
    ),
    fmt=st.sampled_from([None, *mongodb.FORMATS]),
)
def test_fuzz_parser_never_raises(lines, fmt):
    stats = ParseStats()
    try:
        entries = list(mongodb.parse([x + "\n" for x in lines], source="fuzz", stats=stats, fmt=fmt))
    except InputError:
        return
    for e in entries:
        assert isinstance(e.fingerprint, str) and e.duration_ms == e.duration_ms
    mongodb.findings(shapes_from(entries))


# --- end to end through the digest and the command ----------------------------------------------------------


def _cli_json(*args: str) -> dict:
    import json
    import subprocess

    exe = Path(sys.executable).with_name("casework")
    out = subprocess.run(
        [str(exe), "slowlog", *args, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_command_on_seed_answers_the_ticket():
    doc = _cli_json(str(MONGO / "seed.tsv"))
    assert doc["kind"] == "slowlog" and doc["summary"]["entries"] == 2 and doc["summary"]["internal"] == 2
    codes = [f["code"] for f in doc["findings"]]
    assert "mongodb.internal-oplog-tailing" in codes
    assert "lock-wait-dominant" not in codes  # the awaitData wait is not lock contention
    (shape,) = doc["shapes"]
    assert shape["internal"] and shape["count"] == 2 and shape["total_ms"] == 1616
    assert shape["codes"] == ["mongodb.internal-oplog-tailing"]


def test_command_merges_generated_json_log_with_truth(tmp_path):
    gen = mongodb_generator()
    path = tmp_path / "mongod.json.log"
    truth = gen.generate(path, fmt="json", size_mb=1.0, seed=5, templates=80)
    doc = _cli_json(str(path), "--top", "0")
    got = {s["fingerprint"]: s for s in doc["shapes"]}
    assert set(got) == set(truth)
    for fp, t in truth.items():
        assert (got[fp]["count"], got[fp]["total_ms"], got[fp]["internal"]) == (
            t["count"],
            t["total_ms"],
            t["internal"],
        )
    excluded = _cli_json(str(path), "--top", "0", "--exclude-internal")
    assert not any(s["internal"] for s in excluded["shapes"])
