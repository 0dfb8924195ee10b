"""``casework slowlog`` end to end: the JSON contract, Markdown and Chinese output, options, merging, inputs
(gzip, stdin), bad input (one line, exit 2), and the parallel path agreeing with the streaming one."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from casework.diagnostics.slowlog import pipeline
from casework.diagnostics.slowlog.digest import Options
from conftest import DATA

PT = DATA / "slowlog" / "mysql" / "pt"
PG = DATA / "slowlog" / "postgres" / "pgbadger"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casework.cli", "slowlog", *args],
        input=stdin.decode() if stdin is not None else None, capture_output=True, text=True, timeout=120,
    )


def as_json(*args: str, stdin: bytes | None = None) -> dict:  # type: ignore[type-arg]
    proc = run(*args, "--format", "json", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_json_contract_on_merged_mysql_and_postgres() -> None:
    doc = as_json(str(PT / "slow034.txt"), str(PT / "slow002.txt"), str(PG / "light.postgres.log.bz2"), "--top", "0")
    assert doc["kind"] == "slowlog"
    summary = doc["summary"]
    for key in ("entries", "unparsed", "internal", "shapes", "by_engine"):
        assert key in summary
    assert set(summary["by_engine"]) == {"mysql", "postgres"}
    assert summary["entries"] == sum(s["count"] for s in doc["shapes"])
    assert summary["shapes"] == len(doc["shapes"])
    for shape in doc["shapes"]:
        for key in ("fingerprint", "engine", "namespace", "count", "total_ms", "mean_ms", "p95_ms", "max_ms",
                    "examined", "returned", "internal", "plan", "codes"):
            assert key in shape
    totals = [s["total_ms"] for s in doc["shapes"]]
    assert totals == sorted(totals, reverse=True)
    assert sum(s["share"] for s in doc["shapes"]) == pytest.approx(1.0, abs=1e-3)
    codes = {f["code"] for f in doc["findings"]}
    assert "examined-returned-ratio" in codes  # slow034's DELETE examined 1.9M rows and returned none
    for f in doc["findings"]:
        assert set(f) >= {"code", "severity", "title", "detail", "evidence", "advice"}
        for ref in f["evidence"].get("shapes", []):
            shape = next(s for s in doc["shapes"] if s["fingerprint"] == ref["fingerprint"])
            assert f["code"] in shape["codes"]


def test_lock_wait_dominant(tmp_path: Path) -> None:
    log = tmp_path / "locks.log"
    log.write_text(
        "# Time: 2024-05-01T10:00:00.000000Z\n# User@Host: app[app] @ web [10.0.0.1]  Id: 9\n"
        "# Query_time: 2.000000  Lock_time: 1.800000 Rows_sent: 1  Rows_examined: 1\n"
        "SET timestamp=1714557600;\nUPDATE stock SET qty = qty - 1 WHERE sku = 'a-1';\n"
    )
    doc = as_json(str(log))
    [finding] = [f for f in doc["findings"] if f["code"] == "lock-wait-dominant"]
    assert finding["evidence"]["shapes"][0]["lock_ms"] == pytest.approx(1800)
    assert doc["shapes"][0]["codes"] == ["lock-wait-dominant"]


def test_sort_top_filter_and_time_window() -> None:
    doc = as_json(str(PG / "light.postgres.log.bz2"), "--sort", "count", "--top", "3")
    counts = [s["count"] for s in doc["shapes"]]
    assert len(counts) == 3 and counts == sorted(counts, reverse=True)
    full = as_json(str(PG / "light.postgres.log.bz2"), "--top", "0")
    assert counts[0] == max(s["count"] for s in full["shapes"])
    none = as_json(str(PG / "light.postgres.log.bz2"), "--filter", "user=nobody")
    assert none["summary"]["entries"] == 0 and none["summary"]["filtered_out"] == full["summary"]["entries"]
    window = as_json(str(PG / "light.postgres.log.bz2"), "--since", "2017-09-06T08:42:00", "--until", "2017-09-06T08:43:00Z")
    assert 0 < window["summary"]["entries"] < full["summary"]["entries"]
    assert window["summary"]["first_seen"] >= "2017-09-06T08:42:00"


def test_gzip_stdin_and_same_result(tmp_path: Path) -> None:
    raw = (PT / "slow034.txt").read_bytes()
    gz = tmp_path / "slow.log.gz"
    gz.write_bytes(gzip.compress(raw))
    a = as_json(str(PT / "slow034.txt"))
    b = as_json(str(gz))
    c = as_json("-", stdin=raw)
    strip = lambda d: [(s["fingerprint"], s["count"], s["total_ms"], s["example_line"]) for s in d["shapes"]]  # noqa: E731
    assert strip(a) == strip(b) == strip(c)


def test_markdown_and_chinese() -> None:
    md = run(str(PT / "slow034.txt"), "--format", "markdown")
    assert md.returncode == 0
    assert "| # |" in md.stdout and "`delete from forest where animal = ?`" in md.stdout
    zh = run(str(PT / "slow034.txt"), "--format", "markdown", "--lang", "zh")
    assert zh.returncode == 0
    assert "查询" in zh.stdout  # the catalogue's translation of the shape table / findings
    term = run(str(PT / "slow034.txt"))
    assert term.returncode == 0 and "delete from forest" in term.stdout


@pytest.mark.parametrize("content", [b"", b"hello world\nthis is no slow log\n"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.log"
    path.write_bytes(content)
    proc = run(str(path))
    assert proc.returncode == 2
    assert str(path) in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    missing = run(str(tmp_path / "missing.log"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert run(str(path), "--input-format", "nope").returncode == 2
    assert run(str(PT / "slow034.txt"), "--filter", "colour=red").returncode == 2


def test_unparsed_lines_are_reported(tmp_path: Path) -> None:
    good = (PG / "stmt_type.log").read_text()
    path = tmp_path / "mixed.log"
    path.write_text("garbage line one\n" + good + "more garbage\n")
    doc = as_json(str(path))
    assert doc["summary"]["unparsed"] == 2
    assert doc["summary"]["unparsed_lines"] == [f"{path}:1", f"{path}:{len(good.splitlines()) + 2}"]
    assert doc["summary"]["entries"] == good.count("duration: ")


MONGO = DATA / "slowlog" / "mongodb"


@pytest.mark.parametrize("sample", [PT / "slow030.txt", PG / "light.postgres.log.bz2", MONGO / "mongod44_slow.json.log",
                                    MONGO / "mongod42_slow.log", MONGO / "mtools_collscans_2.4.log",
                                    MONGO / "seed.tsv"], ids=lambda p: p.name)
def test_parallel_chunks_equal_streaming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample: Path) -> None:
    # Decompress and repeat so the file has many entry boundaries to cut at.
    if sample.suffix == ".bz2":
        import bz2

        text = bz2.decompress(sample.read_bytes())
    else:
        text = sample.read_bytes()
    path = tmp_path / "big.log"
    path.write_bytes(text * 4)
    seq = pipeline.digest_inputs([str(path)], options=Options(top=0), workers=1)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_MIN", 4096)
    monkeypatch.setattr(pipeline, "CHUNK_MAX", 8192)
    par = pipeline.digest_inputs([str(path)], options=Options(top=0), workers=2)
    key = lambda d: sorted((s.fingerprint, s.count, round(s.total_ms, 3), s.example_line, s.examined) for s in d.shapes)  # noqa: E731
    assert key(seq) == key(par)
    assert seq.summary["lines"] == par.summary["lines"]
    assert seq.summary["entries"] == par.summary["entries"] > 0
    assert seq.summary["unparsed"] == par.summary["unparsed"]
    assert seq.summary["unparsed_lines"] == par.summary["unparsed_lines"]


def test_pretty_printed_profile_is_not_chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Profile exports may span lines: they stream whole even when large, and give the same digest."""
    from casework.diagnostics.slowlog import mongodb

    text = (MONGO / "profile_array.json").read_text()
    assert mongodb.chunk_format(text, None) is None
    assert mongodb.chunk_format('{"t":{"$date":"2024-01-01T00:00:00Z"}}', None) == "mongodb-json"
    path = tmp_path / "profile.json"
    path.write_text(text)
    seq = pipeline.digest_inputs([str(path)], options=Options(top=0), workers=1)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    par = pipeline.digest_inputs([str(path)], options=Options(top=0), workers=2)
    assert [(s.fingerprint, s.count) for s in seq.shapes] == [(s.fingerprint, s.count) for s in par.shapes]
