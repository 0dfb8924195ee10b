"""The MySQL fast scan's per-piece loop in C (``_speedups.mysql_run``) must fold exactly what the Python loop of
``fastscan._mysql`` folds (the reference): the same rows (every value, its type and its line), in the same order,
for the same shapes, the same state carried from entry to entry (``use db;``, ``SET timestamp``, ``# Time``, the
database per thread), and the same pieces left to the reference parser (unparsed lines, banner lines)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.diagnostics.slowlog import digest as digest_module
from casework.diagnostics.slowlog import fastscan, mysql
from casework.diagnostics.slowlog import fingerprint as fp_module
from casework.diagnostics.slowlog.digest import Options, Partial, finish
from slowlog_sql_helpers import generated_logs
from speedups_helpers import c_speedups
from test_slowlog_fastscan import SQL_LOGS, _engine, _text

_speedups = c_speedups()


def _scan(text: str, monkeypatch: pytest.MonkeyPatch, *, use_c: bool) -> tuple[list[Any], Partial, list[int]]:
    """Fold ``text`` with the C loop on or off; the rows handed to each shape's fold (a spy on ``_Agg.add_rows``,
    which still folds), the partial, and how many pieces the C loop folded (per call)."""
    folded: list[Any] = []
    add_rows = digest_module._Agg.add_rows

    def spy(self, rows, source, order):  # type: ignore[no-untyped-def]
        folded.append((self.fingerprint, list(rows), source, order))
        return add_rows(self, rows, source, order)

    runs: list[int] = []
    real_run = _speedups.mysql_run

    def counting_run(*args):  # type: ignore[no-untyped-def]
        out = real_run(*args)
        runs.append(out[3])
        return out

    monkeypatch.setattr(digest_module._Agg, "add_rows", spy)
    monkeypatch.setattr(fastscan, "_mysql_run", counting_run if use_c else None)
    fp_module._cache.clear()
    fp_module._raw_cache.clear()
    part = Partial()
    assert fastscan.digest_text("mysql", text, source="x.log", part=part, order=3)
    monkeypatch.undo()
    return folded, part, runs


def _same_scan(text: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    c_rows, c_part, runs = _scan(text, monkeypatch, use_c=True)
    py_rows, py_part, _ = _scan(text, monkeypatch, use_c=False)
    assert c_rows == py_rows
    # the types too (1 vs 1.0 compare equal)
    assert [[tuple(type(v) for v in row) for row in rows] for _, rows, _, _ in c_rows] == \
        [[tuple(type(v) for v in row) for row in rows] for _, rows, _, _ in py_rows]
    assert dataclasses.asdict(c_part.stats) == dataclasses.asdict(py_part.stats)
    assert (c_part.entries, c_part.by_engine) == (py_part.entries, py_part.by_engine)
    assert list(c_part.aggs) == list(py_part.aggs)
    for part in (c_part, py_part):
        part.unparsed_at = [(0, "x.log", n) for n in part.stats.unparsed_lines]
    a = finish(c_part, options=Options(top=0), engines={"mysql": mysql})
    b = finish(py_part, options=Options(top=0), engines={"mysql": mysql})
    assert [dataclasses.asdict(s) for s in a.shapes] == [dataclasses.asdict(s) for s in b.shapes]
    assert a.summary == b.summary
    return runs


def _opt(*choices: str) -> st.SearchStrategy[str]:
    return st.sampled_from(["", *choices])


# A few values of each header line, so that the caches (Time, User@Host, fingerprints) and the state (db per
# thread) are hit and missed; odd values and layouts the C loop must leave to the reference.
_TIME = _opt("# Time: 241119  7:06:41\n", "# Time: 241119  7:06:42\n", "# Time: 2016-07-20T18:13:25.698433Z\n",
             "# Time: 2016-07-20T18:13:25+01:00\n", "# Time: \n", "# Time: 99\n")
_UH = _opt("# User@Host: app[app] @ web [10.0.0.1]\n", "# User@Host: app2[app2] @ web [10.0.0.2]\n",
           "# User@Host: [x]\n", "# User@Host: app\n", "# User@Host: root[root] @ localhost []  Id:     3\n",
           "# User@Host: é[é] @ hôte [10.0.0.3]\n", "# User@Host: a[b] @  [] Schema: x\n",
           "# User@Host: app[app] @ web [10.0.0.1]  Id:   77\n")
_THREAD = _opt("# Thread_id: 5\n", "# Thread_id: 2552  Schema: shop1  QC_hit: No\n", "# Thread_id: 77  Schema:   QC_hit: No\n",
               "# Thread_id: 5  Schema: shop:\n", "# Thread_id: 5 Schema:\n", "# Thread_id:5\n",
               "# Thread_id: 6  Schema: é\n", "# Thread_id: \n", "# Thread_id: 5  Schema: a\u2003b\n",
               "# Thread_id: 6  Schema: shop2  QC_hit: No\n")
_QT = st.sampled_from([
    "# Query_time: 0.5  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 5\n",
    "# Query_time: 0.000251  Lock_time: 0.000069  Rows_sent: 23  Rows_examined: 99109\n",
    "# Query_time: 2  Lock_time: 0 Rows_sent: 0  Rows_examined: 0  Rows_affected: 0\n",
    "# Query_time: 1.  Lock_time: 0  Rows_sent: 1  Rows_examined: 5\n",
    "# Query_time: 0.1000000000000000055511151231257827021181583404541015625  Lock_time: 0.3  Rows_sent: 1  "
    "Rows_examined: 2\n",
    "# Query_time: 1  Lock_time: 0  Rows_sent: 123456789012345678  Rows_examined: 1234567890123456789012\n",
    "# Query_time: 007.50  Lock_time: 0  Rows_sent: 007  Rows_examined: 0\n",
    "# Query_time: ٣  Lock_time: 0  Rows_sent: 1  Rows_examined: 5\n",
    "# Query_time: 0.5  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 5\r\n",
])
_MORE = st.lists(st.sampled_from(["# Rows_affected: 0  Bytes_sent: 893\n", "# Full_scan: Yes  Full_join: No\n",
                                  "# Full_scan: No  Full_join: Yes\n", "# Schema: x\n", "#\n", "# Time: 1\n",
                                  "# User@Host: a[b]\n"]), max_size=2).map("".join)
_USE = _opt("use db;\n", "use `db4`;\n", "use ``;\n", "use `a`b`;\n", "use é;\n", "use a;b\n", "use ;\n")
_SET = _opt("SET timestamp=1469038405;\n", "SET timestamp=1469038406.25;\n", "SET timestamp=x;\n",
            "SET timestamp=123456789012345678901234567890123456789012345678901234567890123456789;\n")
_STATEMENT = st.sampled_from([
    "SELECT 1", "SELECT id FROM t WHERE id = 7", "SELECT id FROM t WHERE id = 8", "select * from t where a = 'x'",
    "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (3, 'z')",
    "UPDATE t SET a = true WHERE b = 2", "SELECT /* c */ 1", "SELECT \"q\" FROM t", "SELECT 'é' FROM t",
    "séléct 1", "(SELECT 1)", "call p(1)", "SHOW STATUS", "# administrator command: Quit", "administrator command: Ping",
    "SET insert_id=1;\nINSERT INTO t VALUES (1)", "", "SELECT 'Schema: x'", "SELECT 1 -- c",
    "SELECT " + "a, " * 800 + "b FROM t",
])
_BANNER = ("/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:\n"
           "Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\nTime                 Id Command    Argument\n")
_ENTRY = st.tuples(_TIME, _UH, _THREAD, _QT, _MORE, _USE, _SET, _STATEMENT,
                   st.sampled_from([";\n", ";\n", ";\n", "\n", ";\n\n"]),
                   st.sampled_from(["", "", "", "", "", "", _BANNER, "noise\n", "#\n"])).map("".join)


# Entries in the layouts the C loop folds (each optional line there or not, values it reads itself).
_PLAIN_ENTRY = st.tuples(
    _opt("# Time: 241119  7:06:41\n", "# Time: 2016-07-20T18:13:25.698433Z\n"),
    _opt("# User@Host: app[app] @ web [10.0.0.1]\n", "# User@Host: é[é] @ hôte [10.0.0.3]\n",
         "# User@Host: root[root] @ localhost []  Id:     3\n"),
    _opt("# Thread_id: 2552  Schema: shop1  QC_hit: No\n", "# Thread_id: 5\n", "# Thread_id: 77  Schema:   QC_hit: No\n",
         "# Thread_id: 5  Schema: shop:\n", "# Thread_id: 6  Schema: é\n"),
    st.sampled_from(["# Query_time: 0.000251  Lock_time: 0.000069  Rows_sent: 23  Rows_examined: 99109\n",
                     "# Query_time: 2  Lock_time: 0 Rows_sent: 0  Rows_examined: 0  Rows_affected: 0\n",
                     "# Query_time: 007.50  Lock_time: 0  Rows_sent: 007  Rows_examined: 123456789012345678\n"]),
    _opt("# Rows_affected: 0  Bytes_sent: 893\n"),
    _opt("use db;\n", "use `db4`;\n", "use ``;\n", "use é;\n"),
    _opt("SET timestamp=1469038405;\n", "SET timestamp=1469038406.25;\n"),
    _STATEMENT, st.just(";\n")).map("".join)
# A log: a few entries, repeated in any order (as real logs repeat their shapes, users and clients), so that the C
# loop meets both values it has at hand and first occurrences it leaves to the Python loop.
_LOG = st.tuples(st.lists(st.one_of(_PLAIN_ENTRY, _ENTRY), min_size=1, max_size=6),
                 st.lists(st.integers(0, 5), min_size=1, max_size=40),
                 st.sampled_from(["", _BANNER, "x\n"]), st.sampled_from(["", ";\n#", "#"])).map(
    lambda t: t[2] + "".join(t[0][k % len(t[0])] for k in t[1]) + t[3])


@settings(max_examples=400, deadline=None)
@given(_LOG)
def test_mysql_run_folds_what_the_python_loop_folds(text: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _same_scan(text, mp)


def test_mysql_run_folds_plain_entries_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Repeated plain entries (cached values, known shapes) stay in C: one call folds the run of them."""
    entry = ("# Time: 241119  7:06:41\n# User@Host: app[app] @ web [10.0.0.1]\n# Thread_id: 5  Schema: shop1  QC_hit: No\n"
             "# Query_time: 0.5  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 5\nSET timestamp=1469038405;\n"
             "SELECT id FROM t WHERE id = {};\n")
    text = "".join(entry.format(k) for k in range(50))
    runs = _same_scan(text, monkeypatch)
    assert sum(runs) >= 47 and max(runs) >= 45


def test_mysql_run_generated_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = generated_logs(tmp_path, target_bytes=1_000_000)["mysql"]
    runs = _same_scan(text, monkeypatch)
    assert sum(runs) >= 0.9 * text.count("# Query_time:")


@pytest.mark.parametrize("path", [p for p in SQL_LOGS if _engine(p) == "mysql"], ids=lambda p: p.name)
def test_mysql_run_fixture_logs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _same_scan(_text(path), monkeypatch)


def test_mysql_run_checks_its_arguments() -> None:
    with pytest.raises(TypeError):
        _speedups.mysql_run([], 0, 0)
    state = mysql._State()
    with pytest.raises(TypeError):
        _speedups.mysql_run((), 0, 1, 1, 0, -1, 3, state, {}, {}, {}, {}, {}, 10, fp_module.fingerprint,
                            fp_module.operation)
    # nothing to fold: the position comes back as it went in
    assert _speedups.mysql_run(["x", "y"], 0, 1, 1, 0, -1, 3, state, {}, {}, {}, {}, {}, 10, fp_module.fingerprint,
                               fp_module.operation) == (0, 1, 0, 0)
    # a banner removal at the piece's position stops before it
    piece = " Query_time: 1  Lock_time: 0  Rows_sent: 1  Rows_examined: 1\nSELECT 1"
    assert _speedups.mysql_run([piece, piece], 0, 1, 1, 0, 0, 3, state, {}, {}, {}, {}, {}, 10, fp_module.fingerprint,
                               fp_module.operation) == (0, 1, 0, 0)


def test_mysql_run_has_no_reference_leaks() -> None:
    import sys

    head = ("# User@Host: app[app] @ web [10.0.0.1]\n# Thread_id: 5  Schema: shop1\n"
            "# Query_time: 0.5  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 5\nuse db;\nSET timestamp=1469038405;\n")
    # memoised by quick_key's mask; fingerprint() (an INSERT's commas); the Python operation (a non-ASCII word)
    statements = ["SELECT id FROM t WHERE id = 7", "INSERT INTO t (a, b) VALUES (1, 2)", "séléct 1"]
    pieces = [(head + s)[1:] for s in statements] + ["tail"]
    fps = [fp_module.fingerprint(s, dialect="mysql") for s in statements]
    uh = ("app", "web", None)
    uhv = "app[app] @ web [10.0.0.1]"
    uh_cache = {uhv: uh}
    aggs = {("mysql", fp): object() for fp in fps}
    state = mysql._State()
    pending: dict[str, list] = {}  # type: ignore[type-arg]
    args = (pieces, 0, 3, 1, 0, -1, 3, state, uh_cache, {}, fp_module._cache, pending, aggs, 2000,
            fp_module.fingerprint, fp_module.operation)
    assert _speedups.mysql_run(*args)[3] == 3
    pending.clear()
    watched = [*pieces, *fps, uh, uh[0], uh[1], state, fp_module.fingerprint, fp_module.operation]
    before = [sys.getrefcount(x) for x in watched]
    for _ in range(3000):
        assert _speedups.mysql_run(*args)[3] == 3
        pending.clear()
    assert [sys.getrefcount(x) for x in watched] == before
    assert state.db == "db" and state.db_by_thread == {"5": "db"} and state.ts == 1469038405.0
