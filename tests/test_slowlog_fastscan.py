"""The chunk-level fast scan (``fastscan.py``) must give exactly the digest of the reference parsers: same shapes,
counts, totals, percentiles, histograms, examples and their lines, same unparsed counts and line numbers."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.diagnostics.slowlog import fastscan, mysql, pipeline, postgres
from casework.diagnostics.slowlog.digest import Options, Partial, finish
from casework.diagnostics.slowlog.reader import decode
from slowlog_sql_helpers import generated_logs

DATA = Path(__file__).parent / "data" / "slowlog"
SQL_LOGS = sorted((DATA / "mysql").rglob("*")) + sorted((DATA / "postgres").rglob("*"))
SQL_LOGS = [p for p in SQL_LOGS if p.is_file()]


def _text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    elif data[:3] == b"BZh":
        data = bz2.decompress(data)
    return decode(data, Partial().stats)


def _engine(path: Path) -> str:
    return "mysql" if "mysql" in path.parts else "postgres"


def _digests(engine: str, text: str, *, order: int = 0):  # type: ignore[no-untyped-def]
    """(reference digest, fast digest, whether the fast path applied) for one chunk of text."""
    module = {"mysql": mysql, "postgres": postgres}[engine]
    options = Options(top=0)
    ref = Partial()
    ref.add_entries(module.parse_text(text, source="x.log", stats=ref.stats), options=options, order=order)
    ref.unparsed_at = [(order, "x.log", n) for n in ref.stats.unparsed_lines]
    fast = Partial()
    applied = fastscan.digest_text(engine, text, source="x.log", part=fast, order=order)
    fast.unparsed_at = [(order, "x.log", n) for n in fast.stats.unparsed_lines]
    engines = {engine: module}
    return finish(ref, options=options, engines=engines), finish(fast, options=options, engines=engines), applied


def _assert_identical(ref, fast) -> None:  # type: ignore[no-untyped-def]
    assert [dataclasses.asdict(s) for s in fast.shapes] == [dataclasses.asdict(s) for s in ref.shapes]
    assert fast.summary == ref.summary
    assert [dataclasses.asdict(f) for f in fast.findings] == [dataclasses.asdict(f) for f in ref.findings]


@pytest.mark.parametrize("path", SQL_LOGS, ids=lambda p: p.name)
def test_fixture_logs_fast_equals_reference(path: Path) -> None:
    text = _text(path)
    ref, fast, applied = _digests(_engine(path), text)
    _assert_identical(ref, fast)
    if applied:
        # Also as a later chunk of a file (example lines and unparsed lines relative to the chunk).
        ref2, fast2, _ = _digests(_engine(path), text * 2, order=3)
        _assert_identical(ref2, fast2)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return generated_logs(tmp_path_factory.mktemp("gen"), target_bytes=600_000)


@pytest.mark.parametrize("engine", ["mysql", "postgres"])
def test_generated_logs_fast_equals_reference(generated: dict[str, str], engine: str) -> None:
    ref, fast, applied = _digests(engine, generated[engine])
    assert applied
    assert ref.summary["entries"] > 1000
    _assert_identical(ref, fast)


MYSQL_ODD = """\
# Time: 241119  7:06:40
# User@Host: app0[app0] @ web0 [10.0.0.1]
# Thread_id: 9796  Schema: shop0  QC_hit: No
# Query_time: 0.000251  Lock_time: 0.000069  Rows_sent: 23  Rows_examined: 99109
# Rows_affected: 0  Bytes_sent: 275
SET timestamp=1732000000;
SELECT 1;
garbage without header;
# User@Host: app1[app1] @ web1 [10.0.0.2]
# Thread_id: 77  Schema:   QC_hit: No
# Query_time: 0.5  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 5
# Full_scan: Yes  Full_join: No
use other;
SELECT * FROM t WHERE a = 'x';
# User@Host: app1[app1] @ web1 [10.0.0.2]
# Query_time: 0.25  Lock_time: 0  Rows_sent: 1  Rows_examined: 5
SELECT * FROM t WHERE a = 'y'
# a comment line inside the statement
AND b = 2;
# Time: 2016-07-20T18:13:25.698433Z
# User@Host: root[root] @ localhost []  Id:     3
# Query_time: 1.5  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0
SET timestamp=1469038405;
# administrator command: Quit;
# User@Host: root[root] @ localhost []  Id:     3
# Query_time: 2.5  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0\r
SELECT 2;\r
# User@Host: root[root] @ localhost []  Id:     4
# Query_time: 0.7  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0
use `db4`;
SET timestamp=1469038407;
SELECT 3;
# User@Host: root[root] @ localhost []  Id:     4
# Query_time: 0.8  Lock_time: 0.000000 Rows_sent: 0  Rows_examined: 0
SELECT 4;
"""

PG_ODD = """\
2024-11-19 07:06:40.075 UTC [1] app2@shop1 LOG:  duration: 0.236 ms  statement: SELECT 1
2024-11-19 07:06:40.076 UTC [1] app2@shop1 LOG:  duration: 0.100 ms  parse <unnamed>: SELECT $1
2024-11-19 07:06:40.077 UTC [1] app2@shop1 LOG:  duration: 0.300 ms  execute <unnamed>: SELECT $1
\tFROM t
    WHERE x = 1
2024-11-19 07:06:40.077 UTC [1] app2@shop1 DETAIL:  parameters: $1 = '5'
this is garbage
\tduration: 7.5 ms  statement: SELECT 7 (a continuation line with no entry: ignored)
2024-11-19 07:06:40.077 UTC [1] app2@shop1 LOG:  duration: 0.400 ms  execute S_1: SELECT $1
2024-11-19 07:06:40.077 UTC [1] app2@shop1 DETAIL:  parameters: $1 = '9'\r
2024-11-19 07:06:40.078 UTC [1] user=u,db=d,app=psql,client=1.2.3.4 LOG:  duration: 1.5 ms  statement: SELECT 2;
2024-11-19 07:06:40.079 UTC [1] app2@shop1 DETAIL:  parameters: $1 = '6'
\tAND y = 3
2024-11-19 07:06:40.080 UTC [1] app2@shop1 LOG:  duration: 12.5 ms  statement: SELECT 3 FROM cr\r
2024-11-19 07:06:40.081 UTC [1] app2@shop1 LOG:  duration: 3.5 ms  statement:   \n\
2024-11-19 07:06:40.082 UTC [1] app2@shop1 LOG:  checkpoint starting: time
2024-11-19 07:06:40.083 UTC [1] app2@shop1 LOG:  duration: 4.5 ms  statement: SELECT 4
2024-11-19 07:06:40.083 UTC [1] app2@shop1 DETAIL:  parameters: $1 = '7'
2024-11-19 07:06:40.083 UTC [1] app2@shop1 DETAIL:  parameters: $1 = '8'

2024-11-19 07:06:40.084 UTC [1] duration: 9 ms x LOG:  duration: 5.5 ms  statement: SELECT 5
2024-11-19 07:06:40.085 UTC [1] app2@shop1 LOG:  duration: 6.5 ms  statement: SELECT 6"""


@pytest.mark.parametrize(("engine", "text"), [("mysql", MYSQL_ODD), ("postgres", PG_ODD)])
def test_odd_entries_fast_equals_reference(engine: str, text: str) -> None:
    ref, fast, applied = _digests(engine, text)
    assert applied
    assert ref.summary["entries"] >= 5
    _assert_identical(ref, fast)


@pytest.mark.parametrize("path", [DATA / "mysql" / "pt" / "slow030.txt", DATA / "postgres" / "pgbadger" / "stmt_type.log"],
                         ids=lambda p: p.name)
def test_chunked_fast_equals_streamed_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    big = tmp_path / "big.log"
    big.write_bytes(path.read_bytes() * 6)
    seq = pipeline.digest_inputs([str(big)], options=Options(top=0), workers=1)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_MIN", 2048)
    monkeypatch.setattr(pipeline, "CHUNK_MAX", 4096)
    par = pipeline.digest_inputs([str(big)], options=Options(top=0), workers=2)
    _assert_identical(seq, par)


# -- the column-wise fold ----------------------------------------------------------------------------------------

_ROW = st.tuples(
    st.sampled_from([0.0, 0.5, 1.0, 1.5, 3.25, 1e-3, 1234.5678, 0.1, 0.2, 0.30000000000000004]),  # ms (ties!)
    st.one_of(st.none(), st.floats(min_value=1.6e9, max_value=1.6e9 + 3e6, allow_nan=False)),  # ts: > 2048 minutes
    st.one_of(st.none(), st.integers(0, 140).map(lambda i: f"db{i}")),  # > 100 distinct: the counters trim
    st.one_of(st.none(), st.sampled_from(["u1", "u2", ""])),
    st.one_of(st.none(), st.integers(0, 3).map(str)),
    st.one_of(st.none(), st.sampled_from(["SELECT", "UPDATE"])),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.one_of(st.none(), st.integers(0, 100)),
    st.one_of(st.none(), st.sampled_from([0.0, 0.1, 0.2, 0.7])),
    st.one_of(st.none(), st.sampled_from(["Full_scan", "Full_join"])),
    st.text(max_size=3),
    st.integers(1, 10**6),
    st.one_of(st.none(), st.just(lambda: {"application": "psql"})),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ROW, max_size=700), st.lists(st.integers(0, 700), max_size=4))
def test_add_rows_folds_exactly_as_add_values(rows: list[tuple], cuts: list[int]) -> None:  # type: ignore[type-arg]
    from casework.diagnostics.slowlog.digest import _Agg

    one = _Agg.start("mysql", "fp", "e", "s", 1, 0)
    for r in rows:
        one.add_values(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], "s", r[11], 0, r[12])
    many = _Agg.start("mysql", "fp", "e", "s", 1, 0)
    bounds = [0, *sorted(c for c in cuts if c <= len(rows)), len(rows)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        many.add_rows(rows[a:b], "s", 0)
    for name in _Agg.__slots__:
        mine, theirs = getattr(many, name), getattr(one, name)
        assert mine == theirs, name
        if isinstance(theirs, dict):
            assert list(mine.items()) == list(theirs.items()), name  # same insertion order: ties in most_common


@pytest.mark.parametrize("seed", range(4))
def test_add_rows_trims_and_coarsens_as_add_values(seed: int) -> None:
    """Thousands of rows: counters pass the trim threshold and the minute table coarsens, mid-batch."""
    import random

    from casework.diagnostics.slowlog.digest import MINUTE_BUCKETS_MAX, _Agg

    rnd = random.Random(seed)
    rows = [
        (rnd.choice([0.0, 0.25, rnd.random() * 1000]), rnd.choice([None, 1.6e9 + rnd.random() * 6e6]),
         f"db{int(rnd.paretovariate(0.7))}", rnd.choice([None, "u"]), f"c{rnd.randrange(150)}", "SELECT",
         rnd.randrange(1000), 0, rnd.random(), None, f"q{i}", i, None)
        for i in range(6000)
    ]
    one = _Agg.start("mysql", "fp", "e", "s", 1, 0)
    for r in rows:
        one.add_values(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], "s", r[11], 0, r[12])
    assert one.width > 60 and "other" in one.clients and len(one.minute) <= MINUTE_BUCKETS_MAX
    many = _Agg.start("mysql", "fp", "e", "s", 1, 0)
    cut = rnd.randrange(6000)
    many.add_rows(rows[:cut], "s", 0)
    many.add_rows(rows[cut:], "s", 0)
    for name in _Agg.__slots__:
        mine, theirs = getattr(many, name), getattr(one, name)
        assert mine == theirs, name
        if isinstance(theirs, dict):
            assert list(mine.items()) == list(theirs.items()), name


def _histogram_by_key(a, t0: float, t1: float) -> list[int]:  # type: ignore[no-untyped-def]
    """The time histogram evaluated key by key (what ``digest._histogram`` computes with bisection)."""
    from casework.diagnostics.slowlog.digest import HISTOGRAM_BINS

    bins = [0] * HISTOGRAM_BINS
    span = max(t1 - t0, 1e-9)
    for k, v in a.minute.items():
        i = int((max(k * a.width, t0) - t0) / span * HISTOGRAM_BINS)
        bins[min(max(i, 0), HISTOGRAM_BINS - 1)] += v
    return bins


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([60, 120, 3840]), st.integers(0, 3 * 10**7), st.sampled_from([1, 5, 50, 3000]),
       st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 9)), min_size=1, max_size=300),
       st.floats(-100, 100), st.sampled_from([0.0, 0.5, 59.9, 1e5]))
def test_histogram_equals_the_key_by_key_sum(width: int, base: int, spread: int, items: list[tuple[int, int]],
                                             before: float, after: float) -> None:
    from casework.diagnostics.slowlog.digest import _Agg, _histogram

    a = _Agg.start("mysql", "fp", "e", "s", 1, 0)
    a.width = width
    a.minute = {base + k % spread: v for k, v in items}
    keys = sorted(a.minute)
    t0 = keys[0] * width + before
    t1 = keys[-1] * width + after
    assert _histogram(a, t0, t1) == _histogram_by_key(a, t0, t1)
    assert _histogram(a, t0, t0) == _histogram_by_key(a, t0, t0)
