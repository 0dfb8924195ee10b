"""The SQL fingerprinter: literals never split a shape, different statements never merge, and shapes group
exactly as pt-query-digest groups them on Percona Toolkit's own sample logs."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.diagnostics.slowlog.fingerprint import fingerprint
from conftest import DATA
from services import require_binary
from slowlog_sql_helpers import casework_groups, pt_groups

PT_SAMPLES = sorted((DATA / "slowlog" / "mysql" / "pt").iterdir())

ints = st.integers(min_value=-(10**12), max_value=10**12)
texts = st.text(alphabet=string.ascii_letters + string.digits + " _-.,;:()*%@", max_size=30)
floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)
literal = st.one_of(ints.map(str), floats.map(repr), texts.map(lambda s: "'" + s.replace("'", "") + "'"),
                    st.sampled_from(["NULL", "TRUE", "false", "0x1f", "-7"]))
TEMPLATES = [
    "SELECT * FROM orders WHERE id = {0}",
    "select name, total from shop.orders where customer = {0} and status = {1} limit {2}",
    "UPDATE accounts SET balance = balance + {0} WHERE id = {1}",
    "DELETE FROM sessions WHERE expires < {0}",
    "SELECT * FROM t WHERE a IN ({0}, {1}, {2}) ORDER BY b ASC",
    "INSERT INTO log (a, b) VALUES ({0}, {1})",
    "/* app:{2} */ SELECT c FROM t WHERE d = {0}",
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(TEMPLATES), st.lists(literal, min_size=3, max_size=3),
       st.lists(literal, min_size=3, max_size=3))
def test_different_literals_same_shape(template: str, a: list[str], b: list[str]) -> None:
    if "app:" in template:  # the comment text is free: keep it comment-safe
        a[2] = b[2] = "x"
    assert fingerprint(template.format(*a)) == fingerprint(template.format(*b))


@settings(max_examples=100, deadline=None)
@given(st.lists(ints, min_size=1, max_size=60), st.integers(min_value=1, max_value=30))
def test_in_lists_and_multi_row_inserts_collapse(values: list[int], rows: int) -> None:
    in_list = ", ".join(map(str, values))
    assert fingerprint(f"SELECT * FROM t WHERE id IN ({in_list})") == fingerprint("SELECT * FROM t WHERE id IN (1)")
    multi = ", ".join(f"({v}, 'x')" for v in values[:rows])
    assert fingerprint(f"INSERT INTO t (a, b) VALUES {multi}") == fingerprint("INSERT INTO t (a, b) VALUES (1, 'y')")


identifiers = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
    lambda s: s not in {"in", "null", "true", "false", "values", "value", "asc", "limit", "and", "or", "x", "b"}
    and not s.startswith("_")
)


@settings(max_examples=150, deadline=None)
@given(identifiers, identifiers, identifiers, identifiers)
def test_different_statements_stay_apart(t1: str, c1: str, t2: str, c2: str) -> None:
    a = fingerprint(f"SELECT {c1} FROM {t1} WHERE {c1} = 5")
    b = fingerprint(f"SELECT {c2} FROM {t2} WHERE {c2} = 5")
    assert (a == b) == ((t1, c1) == (t2, c2))
    assert fingerprint(f"DELETE FROM {t1} WHERE id = 1") != fingerprint(f"SELECT * FROM {t1} WHERE id = 1")


@settings(max_examples=100, deadline=None)
@given(st.lists(ints, min_size=1, max_size=5), st.lists(ints, min_size=1, max_size=5))
def test_postgres_keeps_bind_parameters(a: list[int], b: list[int]) -> None:
    q = "SELECT * FROM t WHERE a = $1 AND b = {} AND c IN ({})"
    fa = fingerprint(q.format(a[0], ", ".join(map(str, a))), dialect="postgres")
    fb = fingerprint(q.format(b[0], ", ".join(map(str, b))), dialect="postgres")
    assert fa == fb
    assert "$1" in fa
    assert fingerprint("SELECT * FROM t WHERE a = $1", dialect="postgres") != fingerprint(
        "SELECT * FROM t WHERE a = $2", dialect="postgres")


@pytest.mark.parametrize("sample", PT_SAMPLES, ids=lambda p: p.name)
def test_groups_like_pt_query_digest_on_its_samples(sample) -> None:  # type: ignore[no-untyped-def]
    binary = require_binary("pt-query-digest")
    ours = casework_groups(sample)
    theirs = pt_groups(binary, sample)
    assert {k: v[0] for k, v in ours.items()} == {k: v[0] for k, v in theirs.items()}
    for fp, (_, total) in theirs.items():
        assert ours[fp][1] == pytest.approx(total, abs=1e-5)


# -- the memo key: key(q1) == key(q2) must imply fingerprint(q1) == fingerprint(q2) ------------------------------

_TRICKY = st.sampled_from([
    "'", '"', "\\", "''", "'a b'", "'1,2'", "'x''y'", "'/*'", "'*/'", "'--'", "'#'", "' in (1) '", "0x1f", "1e5",
    "-", "+", ".", "-1", "+2.5", "1.", "b'01'", "x'ff'", "abc1", "t1", "fa", "false", "TRUE", "-false", "true-1",
    "null", "NULL", "$1", "$12", "in", "IN (", "values", "VALUES (", "(", ")", ",", "?", " ", "\n", "\t", "/*", "*/",
    "/*!40101 x*/", "--", "# c", "\n-- x\n", "order by", " asc", " ASC", "limit", "LIMIT 5", "union", " UNION ALL ",
    "select", "SELECT a FROM t", "insert into t values ", "INSERT INTO t (a) VALUES ", "call p(", "use db",
    "administrator command: Quit", "e", "f", "x", "_", "`t`", ";",
])
_QUERIES = st.lists(st.one_of(_TRICKY, st.text(alphabet="abef01x9'-+. ()$,\n", max_size=6)), max_size=14).map("".join)


def _masked(draw_literals: list[str], skeleton: list[str]) -> str:
    out = []
    for i, part in enumerate(skeleton):
        out.append(part)
        if i < len(draw_literals):
            out.append(draw_literals[i])
    return "".join(out)


@settings(max_examples=600, deadline=None)
@given(_QUERIES, st.sampled_from(["mysql", "postgres"]))
def test_cache_key_determines_the_fingerprint(query: str, dialect: str) -> None:
    """Where the key is the masked text, the fingerprint is a function of that text alone (the proof's claim)."""
    from casework.diagnostics.slowlog.fingerprint import _fingerprint, _tail, cache_key

    tag, text = cache_key(query, dialect)
    if tag == dialect:
        assert _tail(text, dialect == "postgres") == _fingerprint(query, dialect)
    else:
        assert text == query


_LITERALS = st.one_of(
    st.integers(min_value=-(10**9), max_value=10**9).map(str),
    st.sampled_from(["0x1f", "1.5", "-0.25", "1e3", "b'1'", "''", "'it''s'"]),
    st.text(alphabet=string.printable, max_size=8).map(lambda s: "'" + s.replace("'", "") + "'"),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_QUERIES, min_size=2, max_size=5), st.lists(_LITERALS, min_size=4, max_size=4),
       st.lists(_LITERALS, min_size=4, max_size=4), st.sampled_from(["mysql", "postgres"]))
def test_same_key_same_fingerprint(skeleton: list[str], a: list[str], b: list[str], dialect: str) -> None:
    from casework.diagnostics.slowlog.fingerprint import _fingerprint, cache_key

    q1, q2 = _masked(a, skeleton), _masked(b, skeleton)
    if cache_key(q1, dialect) == cache_key(q2, dialect):
        assert _fingerprint(q1, dialect) == _fingerprint(q2, dialect)
    # and the memoised function agrees with the reference whatever was cached before
    assert fingerprint(q1, dialect=dialect) == _fingerprint(q1, dialect)  # type: ignore[arg-type]
    assert fingerprint(q2, dialect=dialect) == _fingerprint(q2, dialect)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["SELECT", "select", "(", " ", "\t", "\n", "/* c */", "/*", ";", "x1", "é", "\u2003",
                                 "\u00a0", "INSERT;", "a", "1"]), max_size=6).map("".join))
def test_operation_fast_path_agrees(query: str) -> None:
    from casework.diagnostics.slowlog.fingerprint import _operation, operation

    assert operation(query) == _operation(query)
