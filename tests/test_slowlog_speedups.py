"""The optional C speedups (``slowlog/_speedups.c``) must give exactly what the pure-Python reference gives: the
literal-masking passes character for character (random SQL-ish text, Unicode included), and whole digests of
the generated benchmark logs and the real-log fixtures with the extension on and off (``CASEWORK_NO_SPEEDUPS``)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.diagnostics.slowlog import fastscan, mysql, postgres, speedups
from casework.diagnostics.slowlog import fingerprint as fp_module
from casework.diagnostics.slowlog.digest import Options, Partial, finish
from slowlog_sql_helpers import generated_logs
from speedups_helpers import c_speedups
from test_slowlog_fastscan import SQL_LOGS, _engine, _text

_speedups = c_speedups()

ROOT = Path(__file__).parent.parent

# Characters that matter to the passes (quotes, number characters, '$', word and non-word, newlines) plus
# non-ASCII letters, digits and numerics (Unicode \w in the PostgreSQL look-behind) and wide characters.
_ALPHABET = list("''''\"\\$_ \n\t.,()=+-xbXBacdefgz0123456789;*/#") + ["é", "Ω", "٣", "²", "Ⅻ", "\u00a0", "€", "😀", "𝟘"]
_SQLISH = st.lists(
    st.one_of(st.sampled_from(_ALPHABET), st.sampled_from(["''", "'it''s'", "$1", "t1", "0x1f", "-1.5e3", "IN (1, 2)"])),
    max_size=40,
).map("".join)


def test_extension_is_in_use() -> None:
    assert speedups.ENABLED and speedups.ext is _speedups
    assert fp_module._mask_mysql is _speedups.mask_mysql
    assert fp_module._mask_pg is _speedups.mask_pg
    assert fastscan._count_keys is _speedups.count_keys
    assert fp_module._quick_key is _speedups.quick_key
    assert fastscan._pg_frame is _speedups.pg_frame
    assert fastscan._pg_prefix is _speedups.pg_prefix
    assert fastscan._mysql_piece is _speedups.mysql_piece
    assert fastscan._mysql_run is _speedups.mysql_run
    assert fastscan._newlines is _speedups.newlines
    assert fastscan._operation is _speedups.operation
    from casework.diagnostics.slowlog import digest

    assert digest._add_counts is _speedups.add_counts
    assert digest._agg_add is _speedups.agg_add
    from casework.diagnostics.slowlog import mongodb_shape

    assert mongodb_shape.shape_text is _speedups.shape_text
    assert mongodb_shape.command_shape is _speedups.command_shape
    from casework.diagnostics.slowlog import mongodb

    assert mongodb._shape_of is _speedups.shape_of
    assert mongodb._log_date is _speedups.log_date
    assert mongodb._json_attr is _speedups.json_attr


@settings(max_examples=1500, deadline=None)
@given(_SQLISH)
def test_mask_mysql_equals_the_expression(text: str) -> None:
    assert _speedups.mask_mysql(text) == fp_module._KEY_MYSQL.sub("?", text)


@settings(max_examples=1500, deadline=None)
@given(_SQLISH)
def test_mask_pg_equals_the_expression(text: str) -> None:
    assert _speedups.mask_pg(text) == fp_module._KEY_PG.sub("?", text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_masks_equal_the_expressions_on_any_text(text: str) -> None:
    assert _speedups.mask_mysql(text) == fp_module._KEY_MYSQL.sub("?", text)
    assert _speedups.mask_pg(text) == fp_module._KEY_PG.sub("?", text)


@pytest.mark.parametrize(
    ("text", "mysql_out", "pg_out"),
    [
        ("a = 'x' AND b = 12", "a = ? AND b = ?", "a = ? AND b = ?"),
        ("'it''s' || 'x", "?? || 'x", "? || 'x"),  # PG: '' is a quote inside the string
        ("'a''b", "?'b", "?'b"),  # PG: no closing quote, so the pattern backtracks to the last '' pair
        ("'a''b''c", "??'c", "?'c"),
        ("t1 = $2 + -3", "t? = $? ? ?", "t1 = $2 ? ?"),  # PG: no number right after a word character or '$'
        ("é1 ٣2 _3 (4", "é? ٣? _? (?", "é1 ٣2 _3 (?"),
        ("😀'x' 0xff", "😀? ?", "😀? ?"),
        ("", "", ""),
    ],
)
def test_masks_on_known_cases(text: str, mysql_out: str, pg_out: str) -> None:
    assert _speedups.mask_mysql(text) == fp_module._KEY_MYSQL.sub("?", text) == mysql_out
    assert _speedups.mask_pg(text) == fp_module._KEY_PG.sub("?", text) == pg_out


_HEADERS = st.lists(
    st.sampled_from(["Full_", "Full", "Schema:", "Schema", "Thread_id:", "# Time:", "# Time", "User@Host:", "User@",
                     "F", "S", "T", "#", "U", " ", "\n", ":", "_", "é", "😀", "x"]),
    max_size=30,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(_HEADERS, st.integers(-3, 40), st.integers(-3, 200))
def test_count_keys_equals_the_guard_expression(text: str, start: int, end: int) -> None:
    assert _speedups.count_keys(text, start, end) == len(fastscan._MY_GUARD.findall(text, start, end))


_QUERY_TOKENS = ["SELECT ", "select", "INSERT", "insert ", "REPLACE", "into t values (1, 2), (3, 4)", "Call ", "call",
                 "USE ", "use", "administrator command: ", "/*", "*/", "/", "*", "--", "-", "#", "\\", '"', ",",
                 "TRUE", "False", "tRuE", "tru", "fals", "t", "e", " ", "  ", "\n", "\t", "\x1c", "\x0b", "é", "\u2003",
                 "'x'", "'it''s'", "12", "-3", "$1", "t1", "x" * 30, "(", ")", "?", "a = b"]
_QUERIES = st.lists(st.sampled_from(_QUERY_TOKENS), max_size=14).map("".join)


@settings(max_examples=2000, deadline=None)
@given(_QUERIES, st.sampled_from(["mysql", "postgres"]))
def test_quick_key_is_cache_key_where_it_answers(query: str, dialect: str) -> None:
    """Where the C quick key answers, it is exactly the key the Python steps compute (same tag, same text)."""
    quick = _speedups.quick_key(query, dialect == "postgres")
    saved = fp_module._quick_key
    fp_module._quick_key = None
    try:
        ref = fp_module.cache_key(query, dialect)
    finally:
        fp_module._quick_key = saved
    if quick is not None:
        assert (dialect, quick) == ref
    assert fp_module.cache_key(query, dialect) == ref


def test_quick_key_answers_for_plain_queries() -> None:
    assert _speedups.quick_key("SELECT * FROM t WHERE a = 'x' AND b IN (1, 2)", False) == "SELECT * FROM t WHERE a = ? AND b IN (?, ?)"
    assert _speedups.quick_key("SELECT 1 /* c */", False) is None
    assert _speedups.quick_key("INSERT INTO t VALUES (1), (2)", False) is None  # pt's multi-row cut: Python
    assert _speedups.quick_key("INSERT INTO t VALUES (1), (2)", True) == "INSERT INTO t VALUES (?), (?)"
    assert _speedups.quick_key('SELECT "a"', True) == 'SELECT "a"' and _speedups.quick_key('SELECT "a"', False) is None


_PG_TOKENS = ["2024-11-19 07:06:40.075 UTC [1] a@b LOG:  ", "duration: 1.5 ms  statement: ", "duration: 2 ms  execute S_1: ",
              "duration: ", "SELECT $1", "x", "\n", "\n", "\t", " ", "\r", "DETAIL:  parameters: ", "$1 = '5'", "é", "😀"]
_PG_TEXTS = st.lists(st.sampled_from(_PG_TOKENS), max_size=25).map("".join)


@settings(max_examples=1500, deadline=None)
@given(_PG_TEXTS, st.integers(0, 300))
def test_pg_frame_equals_the_python_framing(text: str, gap_start: int) -> None:
    for m in fastscan._PG_FAST.finditer(text):
        for gap in (0, gap_start, m.start()):
            assert _speedups.pg_frame(text, m.start(), m.end(), gap) == fastscan._pg_frame_py(text, m.start(), m.end(), gap)


_PREFIX_PARTS = st.tuples(
    st.sampled_from(["2024-11-19 07:06:40", "2024-11-19T07:06:40", "2024-11-1９ 07:06:40", "2024/11/19 07:06:40", "2024-11-19"]),
    st.sampled_from(["", ".075", ".", ".0٣", ".123456"]),
    st.sampled_from(["", " ", "\t", "UTC", " UTC", " UT", " U", " UTCXYZ", " CEST", " +02", " +05:30", " -0330", " +0٣",
                     " UTC\u2003", " UTCé", " utc", " [", " 1"]),
    st.sampled_from(["", " ", " [1]", " [39060] ", " [39060]", " [39060]x", " [3٣] ", " [] ", " [12]\u2003", " [12]\t"]),
    st.sampled_from(["", "app2@shop1 LOG:  ", "user=u,db=d LOG:  ", " LOG:  ", "x"]),
)


@settings(max_examples=1500, deadline=None)
@given(_PREFIX_PARTS)
def test_pg_prefix_equals_the_python_split_where_it_answers(parts: tuple[str, ...]) -> None:
    prefix = "".join(parts)
    quick = _speedups.pg_prefix(prefix)
    if quick is not None:
        assert quick == fastscan._pg_prefix_py(prefix)


def test_pg_prefix_answers_for_the_default_prefix() -> None:
    prefix = "2024-11-19 07:06:40.075 UTC [39060] app2@shop1 LOG:  "
    assert _speedups.pg_prefix(prefix) == fastscan._pg_prefix_py(prefix) == (
        "2024-11-19 07:06:40", ".075", "UTC", " app2@shop1 LOG:  ")
    assert _speedups.pg_prefix("2024-11-19 07:06:40 [1] x") == ("2024-11-19 07:06:40", None, None, " x")


def _opt(*choices: str) -> st.SearchStrategy[str]:
    return st.sampled_from(["", *choices])


_NOISE = st.sampled_from(["", "", "", " ", "x", "\n", "#", ":", "[", ";", "é", "٣", "\u2003", "Schema: s", "Full_scan: Yes"])
_PIECES = st.tuples(
    _opt("#"), st.sampled_from([" ", " ", ""]),
    _opt("Time: 241119  7:06:41\n# ", "Time: 2016-07-20T18:13:25.698433Z\n# ", "Time: 2016-07-20T18:13:25+01:00\n# ",
         "Time: \n# ", "Time: 1\n#"),
    _opt("User@Host: app[app] @ web [10.0.0.1]\n# ", "User@Host: [x]\n# ", "User@Host: app\n# ",
         "User@Host: a[b] Schema: x\n# ", "User@Host: root[root] @ localhost []  Id:     3\n# ", "User@Host: é[é]\n# "),
    _opt("Thread_id: 5\n# ", "Thread_id: 2552  Schema: shop1  QC_hit: No\n# ", "Thread_id: 77  Schema:   QC_hit: No\n# ",
         "Thread_id: 5 Schema:\n# ", "Thread_id:5\n# ", "Thread_id: 5Schema: x\n# ", "Thread_id: 5\u2003Schema: x\n# ",
         "Thread_id: \n# ", "Thread_id: 5  Schema: a\u2003b\n# "),
    st.sampled_from(["Query_time: 0.5  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 5",
                     "Query_time: 2  Lock_time: 0 Rows_sent: 0  Rows_examined: 0  Rows_affected: 0",
                     "Query_time: 1.  Lock_time: 0  Rows_sent: 1  Rows_examined: 5", "Query_time: ٣  Lock_time: 0  Rows_sent: 1  Rows_examined: 5",
                     "Query_time: 0.5  Lock_time: 0.1  Rows_sent: 1  Rows_examined: 5٣", "Query_time: 0.5 Lock_time: 0.1 Rows_sent: 1 Rows_examined: 5",
                     "Query_time: 0.5  Lock_time: .1  Rows_sent: 1  Rows_examined: 5"]),
    st.sampled_from(["\n", "\n", "\r\n", ""]),
    st.lists(st.sampled_from(["# Rows_affected: 0  Bytes_sent: 893\n", "# Full_scan: Yes  Full_join: No\n", "# Schema: x\n",
                              "#\n", "# Time: 1\n", "# User@Host: a[b]\n", "# x"]), max_size=3).map("".join),
    _opt("use db;\n", "use `db4`;\n", "use a;b\n", "use ;\n", "use db;"),
    _opt("SET timestamp=1469038405;\n", "SET timestamp=1.5;\n", "SET timestamp=x;\n", "SET timestamp=1;"),
    st.sampled_from(["SELECT 1", "", "# x", "use x;", "SET timestamp=3;\nSELECT 1", "SET insert_id=1;\nINSERT 1",
                     "SELECT\n# administrator command: Quit", "é", "SELECT 'Schema:'", "SELECT 1;\n"]),
    _NOISE, st.integers(0, 200),
)


@settings(max_examples=2000, deadline=None)
@given(_PIECES)
def test_mysql_piece_equals_the_expression_and_guard(parts: tuple) -> None:  # type: ignore[type-arg]
    *texts, noise, where = parts
    piece = "".join(texts)
    where = min(where, len(piece))
    piece = piece[:where] + noise + piece[where:]
    quick = _speedups.mysql_piece(piece)
    if quick is None:
        return
    p0 = 1 if piece.startswith("#") else 0
    m = fastscan._MY_FAST.fullmatch(piece, p0)
    assert m is not None and m.groups() == quick
    assert "administrator command" not in piece
    captured = sum(quick[k] is not None for k in (1, 2, 3))
    assert len(fastscan._MY_GUARD.findall(piece, p0, m.start("arg"))) == captured


def test_mysql_piece_answers_for_generated_pieces(generated: dict[str, str]) -> None:
    pieces = generated["mysql"].split(mysql.SEPARATOR)
    answered = [p for p in pieces if _speedups.mysql_piece(p) is not None]
    assert len(answered) >= 0.99 * len(pieces) - 2
    for p in answered[:500]:
        assert fastscan._MY_FAST.fullmatch(p, 1 if p.startswith("#") else 0).groups() == _speedups.mysql_piece(p)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["\n", "x", "é", "\u2003", "😀", "\r\n", "\n\n", "a" * 70]), max_size=40).map("".join))
def test_newlines_is_str_count(text: str) -> None:
    assert _speedups.newlines(text) == text.count("\n")


_INSERT_PARTS = st.lists(st.sampled_from([
    "INSERT", "insert", "Insert", "REPLACE", "replace", " IGNORE", " ignore", "IGNORE", " ", "  ", "\t", "\n", "\x0b", "\x1c",
    "\u2003", "INTO", "into", "INTO ", "t", "tbl_values", "(a, b)", "VALUES", "values", "VALUE", "VALUESx", "(", ")", ",",
    " , ", "), (", "),(", ") ,\n(", "1", "-1", "0x1f", "'x'", "'a,b'", "'),('", "'", "/*", "*/", "/*!40001*/", "--", "#",
    "\\", "\"", "true", "FALSE", "truex", "é", "ſ", "K", "ON DUPLICATE KEY UPDATE a = 1", "SELECT 1",
]), max_size=14).map("".join)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_INSERT_PARTS, st.sampled_from(["INSERT", "REPLACE", "INSERT IGNORE"]).flatmap(
    lambda verb: _INSERT_PARTS.map(lambda rest: verb + " INTO t (a, b) VALUES (1, 'x')" + rest))))
def test_insert_key_is_cache_key_where_it_answers(query: str) -> None:
    quick = _speedups.insert_key(query)
    if quick is not None:
        assert fp_module.cache_key(query, "mysql") == ("mysql", quick)


def test_insert_key_answers_for_multi_row_inserts() -> None:
    for query, key in [
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (?, ?)"),
        ("insert ignore  into t values(1),(2)", "insert ignore  into t values(?)"),
        ("REPLACE INTO t VALUES (1) ,\n ( 2)", "REPLACE INTO t VALUES (?)"),
        ("INSERT INTO t (a, b) VALUES (3, 'z')", "INSERT INTO t (a, b) VALUES (?, ?)"),
        ("INSERT INTO t SELECT a, b FROM u WHERE c = 1", "INSERT INTO t SELECT a, b FROM u WHERE c = ?"),
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') ON DUPLICATE KEY UPDATE a = 1", "INSERT INTO t (a, b) VALUES (?, ?)"),
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') -- c", "INSERT INTO t (a, b) VALUES (?, ?)"),
    ]:
        assert _speedups.insert_key(query) == key
        assert fp_module.cache_key(query, "mysql") == ("mysql", key)
    for query in ["INSERT INTO t VALUES (1, true), (2)", "INSERT /* c */ INTO t VALUES (1), (2)", " INSERT INTO t VALUES (1), (2)",
                  "INSERT INTO t VALUES ('é'), (2)", "SELECT 1, 2", "INSERT INTO t VALUES (\"a\"), (2)"]:
        assert _speedups.insert_key(query) is None


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(["SELECT", "select", "Insert", "x1", "é", "(", " ", "\t", "\n", "\u2003", ";", ";;", "/*",
                                 "a", "Z", "_", "1", "-", "ſ", "K", "*/", "/* c */", "*", "/", "\r", "\x1c", "\x0b",
                                 "/* é */", "SELECT" * 11]), max_size=6).map("".join))
def test_operation_equals_the_python_operation_where_it_answers(query: str) -> None:
    quick = _speedups.operation(query)
    if quick is not False:
        assert quick == fp_module.operation(query)


def test_operation_answers_for_plain_statements() -> None:
    assert _speedups.operation("select 1") == "SELECT"
    assert _speedups.operation("UPDATE;\nx") == "UPDATE"
    assert _speedups.operation("x1 y") is None
    assert _speedups.operation("/* c */ SELECT 1") == "SELECT" == fp_module.operation("/* c */ SELECT 1")
    assert _speedups.operation("( /* a */(/* b */\tselect;\n1") == "SELECT"
    assert _speedups.operation("/* never closed SELECT") is None
    assert _speedups.operation("/*/ x1") is None
    assert _speedups.operation("\u2003SELECT") == "SELECT" == fp_module.operation("\u2003SELECT")
    assert _speedups.operation("(é") is False


_COUNTS = st.dictionaries(st.integers(-100, 5000), st.integers(1, 9), max_size=40)


@settings(max_examples=1500, deadline=None)
@given(_COUNTS, _COUNTS, st.sampled_from([(1, 1), (60, 60), (60, 120), (120, 3840), (7, 3)]))
def test_add_counts_equals_the_python_merge_loop(dst: dict[int, int], src: dict[int, int],
                                                  scale: tuple[int, int]) -> None:
    from casework.diagnostics.slowlog import digest

    mine, theirs = dict(dst), dict(dst)
    _speedups.add_counts(mine, src, *scale)
    digest._add_counts_py(theirs, src, *scale)
    assert list(mine.items()) == list(theirs.items())  # same keys in the same order, same counts


def test_add_counts_is_counter_update_for_counters() -> None:
    from collections import Counter

    a, b = Counter({"x": 1, "y": 2}), Counter({"x": 1, "y": 2})
    a.update(Counter({"z": 3, "x": 4}))
    _speedups.add_counts(b, Counter({"z": 3, "x": 4}), 1, 1)
    assert list(a.items()) == list(b.items()) and a.most_common() == b.most_common()


def test_results_are_canonical_str() -> None:
    """A wide character inside a masked string literal leaves a narrower result: it must equal (and hash as) the
    same text built by Python, or memo lookups would miss."""
    out = _speedups.mask_mysql("select '😀' from t")
    assert out == "select ? from t" and hash(out) == hash("select ? from t")
    assert out.isascii()


def test_rejects_non_str() -> None:
    with pytest.raises(TypeError):
        _speedups.mask_mysql(b"select 1")  # type: ignore[arg-type]


def _digest(engine: str, text: str, monkeypatch: pytest.MonkeyPatch, *, pure: bool):  # type: ignore[no-untyped-def]
    if pure:
        monkeypatch.setattr(fp_module, "_mask_mysql", lambda s: fp_module._KEY_MYSQL.sub("?", s))
        monkeypatch.setattr(fp_module, "_mask_pg", lambda s: fp_module._KEY_PG.sub("?", s))
        monkeypatch.setattr(fastscan, "_count_keys", fastscan._count_keys_py)
        monkeypatch.setattr(fp_module, "_quick_key", None)
        monkeypatch.setattr(fastscan, "_pg_frame", fastscan._pg_frame_py)
        monkeypatch.setattr(fastscan, "_pg_prefix", None)
        monkeypatch.setattr(fastscan, "_mysql_piece", None)
        monkeypatch.setattr(fastscan, "_mysql_run", None)
        monkeypatch.setattr(fastscan, "_newlines", lambda s: s.count("\n"))
        monkeypatch.setattr(fastscan, "_operation", None)
        monkeypatch.setattr(digest_module, "_agg_add", digest_module._Agg.add)
    fp_module._cache.clear()
    fp_module._raw_cache.clear()
    part = Partial()
    applied = fastscan.digest_text(engine, text, source="x.log", part=part, order=0)
    if not applied:
        part.add_entries({"mysql": mysql, "postgres": postgres}[engine].parse_text(text, source="x.log", stats=part.stats),
                         options=Options(top=0), order=0)
    part.unparsed_at = [(0, "x.log", n) for n in part.stats.unparsed_lines]
    monkeypatch.undo()
    return finish(part, options=Options(top=0), engines={engine: {"mysql": mysql, "postgres": postgres}[engine]})


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    assert [dataclasses.asdict(s) for s in a.shapes] == [dataclasses.asdict(s) for s in b.shapes]
    assert a.summary == b.summary


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return generated_logs(tmp_path_factory.mktemp("gen"), target_bytes=1_000_000)


@pytest.mark.parametrize("engine", ["mysql", "postgres"])
def test_generated_logs_same_digest_with_and_without(generated: dict[str, str], engine: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    c = _digest(engine, generated[engine], monkeypatch, pure=False)
    py = _digest(engine, generated[engine], monkeypatch, pure=True)
    assert c.summary["shapes"] >= 100
    _same(c, py)


@pytest.mark.parametrize("path", SQL_LOGS, ids=lambda p: p.name)
def test_fixture_logs_same_digest_with_and_without(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _text(path)
    _same(_digest(_engine(path), text, monkeypatch, pure=False), _digest(_engine(path), text, monkeypatch, pure=True))


def test_environment_switch_selects_the_pure_path(tmp_path: Path, generated: dict[str, str]) -> None:
    """CASEWORK_NO_SPEEDUPS=1 really runs without the extension, and the CLI's digest is the same."""
    log = tmp_path / "pg.log"
    log.write_text(generated["postgres"])
    out = {}
    for flag in ("0", "1"):
        env = {**os.environ, "CASEWORK_NO_SPEEDUPS": flag}
        probe = subprocess.run([sys.executable, "-c", "from casework.diagnostics.slowlog import speedups as s; "
                                "print(s.ENABLED)"], env=env, capture_output=True, text=True, check=True)
        assert probe.stdout.strip() == ("True" if flag == "0" else "False")
        run = subprocess.run([sys.executable, "-m", "casework.cli", "slowlog", str(log), "--format", "json", "--top", "0"],
                             env=env, capture_output=True, text=True, check=True, cwd=ROOT)
        out[flag] = json.loads(run.stdout)["shapes"]
    assert out["0"] == out["1"] and len(out["0"]) >= 100


# --- _Agg.add in C (agg_add) ----------------------------------------------------------------------------------

from casework.diagnostics.slowlog import digest as digest_module  # noqa: E402
from casework.diagnostics.slowlog.entry import Entry  # noqa: E402

_FLOATS = st.one_of(st.floats(min_value=-5, max_value=1e7, allow_nan=False), st.sampled_from([0.0, -0.0, 1e-300, 5e-324, 1.02, 2.5]))
_ENTRY = st.builds(
    Entry,
    engine=st.just("mongodb"),
    source=st.sampled_from(["a.log", "b.log"]),
    line=st.integers(1, 10**6),
    ts=st.one_of(st.none(), st.floats(min_value=-1e6, max_value=2e9, allow_nan=False), st.sampled_from([0.0, 59.999, 60.0])),
    duration_ms=_FLOATS,
    fingerprint=st.just("find x.y"),
    example=st.sampled_from(["e1", "e2", "é"]),
    namespace=st.one_of(st.none(), st.sampled_from(["x.y", "x.z"])),
    db=st.one_of(st.none(), st.sampled_from(["x", "y", "é"])),
    user=st.one_of(st.none(), st.integers(0, 130).map(str)),  # enough distinct values to trim
    client=st.one_of(st.none(), st.integers(0, 300).map(str)),
    operation=st.one_of(st.none(), st.sampled_from(["find", "getmore"])),
    examined=st.one_of(st.none(), st.integers(0, 10**12), st.just(0)),
    returned=st.one_of(st.none(), st.integers(-1, 10**6)),
    lock_ms=st.one_of(st.none(), _FLOATS),
    plan=st.one_of(st.none(), st.sampled_from(["", "COLLSCAN", "IXSCAN { a: 1 }"])),
    internal=st.booleans(),
    internal_reason=st.one_of(st.none(), st.sampled_from(["", "oplog-tailing", "ttl"])),
    extra=st.dictionaries(st.sampled_from(["format", "keys_examined", "await_ms", "app"]),
                          st.one_of(st.integers(-5, 10**6), _FLOATS, st.booleans(), st.text(max_size=3), st.none()),
                          max_size=3),
)
# Values of types the C steps do not take (int durations and times, float counts, NaN, inf, a bool lock wait, …):
# agg_add hands those entries to the Python method.
_ODD_ENTRY = st.builds(
    lambda e, field, value: (setattr(e, field, value), e)[1],
    _ENTRY,
    st.sampled_from(["duration_ms", "ts", "examined", "returned", "lock_ms", "plan", "internal", "extra"]),
    st.sampled_from([3, -2, 0, 2.5, math.nan, math.inf, -math.inf, True, None, "x", 1e308, {"k": 1}]),
)


def _agg_state(agg) -> list:  # type: ignore[no-untyped-def]
    out = []
    for slot in digest_module._Agg.__slots__:
        v = getattr(agg, slot)
        out.append((slot, type(v), list(v.items()) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v)))
    return out


def _fold(add, entries: list[Entry]):  # type: ignore[no-untyped-def]
    agg = digest_module._Agg(entries[0], 0)
    outcomes = []
    for i, e in enumerate(entries):
        try:
            add(agg, e, i % 3)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - the same exception is part of the contract
            outcomes.append(type(exc))
    return outcomes, _agg_state(agg)


def _same_fold(entries: list[Entry]) -> None:
    c = _fold(_speedups.agg_add, entries)
    py = _fold(digest_module._Agg.add, entries)
    assert repr(c) == repr(py)  # repr: NaN sums compare equal by their text


@settings(max_examples=400, deadline=None)
@given(st.lists(_ENTRY, min_size=1, max_size=160))
def test_agg_add_equals_the_python_method(entries: list[Entry]) -> None:
    _same_fold(entries)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_ENTRY, _ODD_ENTRY), min_size=1, max_size=40))
def test_agg_add_hands_other_types_to_the_python_method(entries: list[Entry]) -> None:
    _same_fold(entries)


def test_agg_add_coarsens_the_minute_table_and_trims_as_python() -> None:
    import random

    rng = random.Random(5)
    entries = [Entry("mongodb", "a", i, rng.uniform(0, 3e6 * 60), rng.uniform(0.1, 5000), "fp", f"ex{i}",
                     client=str(rng.randrange(400)), db=str(rng.randrange(120)), extra={"keys_examined": i})
               for i in range(6000)]
    c = _fold(_speedups.agg_add, entries)
    assert c == _fold(digest_module._Agg.add, entries)
    state = dict((slot, v) for slot, _t, v in c[1])
    assert state["width"] > 60 and len(state["minute"]) <= digest_module.MINUTE_BUCKETS_MAX
    assert [k for k, _ in state["clients"] if k == "other"] == ["other"]


def test_agg_add_is_in_use_and_has_no_reference_leaks() -> None:
    assert digest_module._agg_add is _speedups.agg_add
    e = Entry("mongodb", "a.log", 5, 1710118800.5, 12.5, "fp", "ex", "x.y", "x", "u", "c", "find", 3, 1, 0.5, "COLLSCAN",
              True, "ttl", {"keys_examined": 4, "app": "a"})
    agg = digest_module._Agg(e, 0)
    watched = [e, e.extra, e.ts, e.duration_ms, e.example, e.client, agg.buckets]
    _speedups.agg_add(agg, e, 1)
    agg.exact = None  # else it keeps a reference to each duration added
    before = [sys.getrefcount(x) for x in watched]
    for _ in range(5000):
        _speedups.agg_add(agg, e, 1)
    assert [sys.getrefcount(x) for x in watched] == before
    assert agg.count == 5001 and agg.sums["keys_examined"] == 4 * 5001


def test_agg_add_folds_plain_entries_itself() -> None:
    from collections import Counter

    d = digest_module
    calls: list[int] = []

    def spy(*args):  # type: ignore[no-untyped-def]
        calls.append(1)
        return d._Agg.add(*args)

    e = Entry("mongodb", "a.log", 5, 1710118800.5, 12.5, "fp", "ex", "x.y", "x", "u", "c", "find", 3, 1, 0.5, "COLLSCAN",
              True, "ttl", {"keys_examined": 4})
    _speedups.agg_setup(d._Agg, Entry, Counter, spy, d._trim, d._ZERO, d.EXACT_MAX, d._TRIM_AT, d.MINUTE_BUCKETS_MAX,
                        d._LOG_BASE)
    try:
        agg = d._Agg(e, 0)
        for _ in range(10):
            _speedups.agg_add(agg, e, 0)
        assert calls == []
        e.duration_ms = 5  # an int: the Python method
        _speedups.agg_add(agg, e, 0)
        assert calls == [1]
    finally:
        _speedups.agg_setup(d._Agg, Entry, Counter, d._Agg.add, d._trim, d._ZERO, d.EXACT_MAX, d._TRIM_AT,
                            d.MINUTE_BUCKETS_MAX, d._LOG_BASE)


def test_agg_add_with_an_empty_slot_raises_as_python() -> None:
    e = Entry("mongodb", "a.log", 5, 1710118800.5, 12.5, "fp", "ex", extra={"keys_examined": 4})
    outcomes = []
    for add in (_speedups.agg_add, digest_module._Agg.add):
        agg = digest_module._Agg(e, 0)
        del agg.sums
        with pytest.raises(AttributeError):
            add(agg, e, 0)
        outcomes.append(_agg_state_without(agg, "sums"))
    assert outcomes[0] == outcomes[1]


def _agg_state_without(agg, slot: str) -> list:  # type: ignore[no-untyped-def]
    return [x for x in _agg_state_safe(agg) if x[0] != slot]


def _agg_state_safe(agg) -> list:  # type: ignore[no-untyped-def]
    out = []
    for slot in digest_module._Agg.__slots__:
        if not hasattr(agg, slot):
            out.append((slot, None, "<unset>"))
            continue
        v = getattr(agg, slot)
        out.append((slot, type(v), list(v.items()) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v)))
    return out


def test_agg_setup_needs_plain_slots() -> None:
    from collections import Counter

    class NoSlots:
        count = 0

    d = digest_module
    for agg_type, entry_type in ((NoSlots, Entry), (d._Agg, NoSlots)):
        with pytest.raises(TypeError):
            _speedups.agg_setup(agg_type, entry_type, Counter, d._Agg.add, d._trim, d._ZERO, d.EXACT_MAX, d._TRIM_AT,
                                d.MINUTE_BUCKETS_MAX, d._LOG_BASE)
    # the failed call changed nothing
    e = Entry("mongodb", "a.log", 5, 1710118800.5, 12.5, "fp", "ex")
    agg = d._Agg(e, 0)
    _speedups.agg_add(agg, e, 0)
    assert agg.count == 1
