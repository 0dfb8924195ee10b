"""The MongoDB C speedups must give exactly what their pure-Python references give — the same value, or the same
exception: the shape renderer (``_speedups.shape_text`` / ``mongodb_shape._shape_text_py``) on any document under
every parent whose numbers are kept and under none, ``command_shape`` on any command and operation,
``shape_of`` (``mongodb._shape_of_py``) and ``log_date`` (``mongodb._log_date_py``); and a whole digest of a
generated 4.4+ JSON log must be the same with the extension on and off (``CASEWORK_NO_SPEEDUPS``)."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.diagnostics.slowlog import mongodb, mongodb_shape, speedups
from casework.diagnostics.slowlog.digest import Options
from casework.diagnostics.slowlog.mongodb_shape import (
    _COMMAND_PARTS,
    _FLAG_KEYS,
    _KEEP_NUMBERS,
    _command_shape_py,
    _render_shape,
    _shape,
    _shape_text_py,
    render,
)
from casework.diagnostics.slowlog.pipeline import digest_inputs
from slowlog_mongo_helpers import DOCS, EXT_VALUES, KEYS, SCALARS, mongodb_generator
from speedups_helpers import c_speedups

_speedups = c_speedups()

ROOT = Path(__file__).parent.parent

PARENTS = st.sampled_from([None, *sorted(_KEEP_NUMBERS), "a", "$or", "from", "pipeline"])


def _outcome(func: Any, doc: Any, parent: Any) -> tuple[str, Any]:
    try:
        return "ok", func(doc, parent)
    except Exception as exc:  # noqa: BLE001 - the same exception type is part of the contract
        return "error", type(exc)


def _same(doc: Any, parent: Any) -> str:
    c = _speedups.shape_text(doc, parent)
    py = _shape_text_py(doc, parent)
    assert type(c) is type(py) and c == py and hash(c) == hash(py)
    return c


def test_extension_is_in_use() -> None:
    assert speedups.ENABLED and speedups.ext is _speedups
    assert mongodb_shape.shape_text is _speedups.shape_text
    assert mongodb_shape.command_shape is _speedups.command_shape
    assert mongodb.command_shape is _speedups.command_shape
    assert mongodb._shape_of is _speedups.shape_of
    assert mongodb._log_date is _speedups.log_date
    assert mongodb._json_attr is _speedups.json_attr


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=DOCS, parent=PARENTS)
def test_shape_text_equals_the_python_reference(doc: Any, parent: Any) -> None:
    assert _same(doc, parent) == render(_shape(doc, parent))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.dictionaries(KEYS, DOCS, max_size=5), parent=PARENTS)
def test_shape_text_of_documents_equals_the_python_reference(doc: dict[str, Any], parent: Any) -> None:
    _same(doc, parent)


@settings(max_examples=500, deadline=None)
@given(doc=st.recursive(st.one_of(SCALARS, EXT_VALUES), lambda inner: st.lists(inner, max_size=6), max_leaves=30),
       parent=PARENTS)
def test_shape_text_of_lists_equals_the_python_reference(doc: Any, parent: Any) -> None:
    _same(doc, parent)


@pytest.mark.parametrize("parent", [None, *sorted(_KEEP_NUMBERS)])
@pytest.mark.parametrize(
    "doc",
    [
        {}, [], [[]], [{}], [{}, {}], "$x", "x", "", 1, 1.5, True, None,
        {"a": -0.0, "b": 1e300, "c": -1e300, "d": 2.0, "e": 0.1, "f": 10**30, "g": -(2**63), "h": True, "i": None},
        {"$or": [{"a": 1, "b": 2}, {"b": 3, "a": 4}, {"a": 5, "b": 6}]},  # same keys in another order: one branch
        {"$or": [{"a": 1}, {"b": 2}, {"a": 3}]},
        {"x": [[1], [2]], "y": [[1], "$f", [2]], "z": ["$a", "$b", "$a", 1, None, {"$date": 1}, 2.5, "$b"]},
        {"$date": 1}, {"$date": 1, "$x": 2}, {"$date": 1, "$x": 2, "$y": 3}, [{"$oid": "1"}, {"$oid": "2"}, {"a": 1}],
        {"sort": {"a": 1, "b": -1.0, "c": 0.5}, "projection": {"x": 0, "y": True}, "from": "orders", "as": 5},
        {"é": {"😀": "$fld", "Ω": ["$😀", "x"]}, "from": "é😀"},
        [1, {"a": 1}, 2], [{"a": 1}, 1], [1, [1], 1], ["$a", [1], "$a", [2]],
    ],
    ids=repr,
)
def test_shape_text_on_known_documents(doc: Any, parent: Any) -> None:
    _same(doc, parent)


class _Color(enum.IntEnum):
    RED = 1


class _Str(str):
    pass


class _Float(float):
    pass


@pytest.mark.parametrize("parent", [None, "sort", "a", 5, ("t",)])
@pytest.mark.parametrize(
    "doc",
    [
        {1: 2, "a": "b"}, {"a": 1, 2: [3]}, {None: 1}, {(1, 2): "$x"}, {"a": _Color.RED}, {"a": _Str("$x")},
        {_Str("from"): "orders", "b": 1}, {_Str("$date"): 1}, {"a": _Float(2.0)}, {"a": (1, 2)}, {"a": b"$x"},
        {"a": 1 + 2j}, [(1, 2)], [{"a": 1}, (1,)], [1, (2,)], [(1,), 1], [_Str("$x")], [1, _Color.RED],
        (1, 2), _Str("$x"), _Color.RED, b"x", {"a": {1: 2}}, [{"a": 1}, {1: 2}], [{1: 2}, {1: 3}],
        {"a": [{"b": {2: 3}}, {"c": 1}]}, {"sort": {"a": _Color.RED, "b": _Float(0.5)}},
    ],
    ids=repr,
)
def test_shape_text_hands_what_it_does_not_mirror_to_python(doc: Any, parent: Any) -> None:
    """Non-str keys, subclasses and non-JSON values (callers other than orjson): the Python reference decides."""
    assert _outcome(_speedups.shape_text, doc, parent) == _outcome(_shape_text_py, doc, parent)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_kept_numbers_that_are_no_int_raise_as_the_reference(value: float) -> None:
    for parent in ("sort", "hint"):
        assert _outcome(_speedups.shape_text, {"a": value}, parent) == _outcome(_shape_text_py, {"a": value}, parent)
        assert _outcome(_speedups.shape_text, {"a": value}, parent)[0] == "error"
    assert _speedups.shape_text({"a": value}, None) == "{a: ?}"


def test_unhashable_parent_raises_as_the_reference() -> None:
    assert _outcome(_speedups.shape_text, {"a": 1}, ["x"]) == _outcome(_shape_text_py, {"a": 1}, ["x"]) == ("error", TypeError)
    assert _speedups.shape_text("$a", ["x"]) == "$a"


def test_result_is_a_canonical_str() -> None:
    """The text is built in a UCS4 buffer: the str made of it must be the canonical one (narrowest kind), equal
    to and hashing as the same text built by Python, or the digest's dict lookups would miss."""
    doc = {"$or": [{"😀": 1, "a": 2}, {"a": 3, "😀": 4}]}
    out = _speedups.shape_text({"b": 1, "x": doc["$or"][:1]}, None)
    assert out == "{b: ?, x: [{😀: ?, a: ?}]}"
    out = _speedups.shape_text({"$or": [{"b": 1, "é": 2}, {"é": 1, "b": 2}]}, None)
    assert out == _shape_text_py({"$or": [{"b": 1, "é": 2}, {"é": 1, "b": 2}]}, None)
    ascii_out = _speedups.shape_text({"a": [[1], [2]], "b": 1}, None)  # two lists: the reference's fallback
    assert ascii_out == "{a: [[?]], b: ?}" and hash(ascii_out) == hash("{a: [[?]], b: ?}") and ascii_out.isascii()
    wide = _speedups.shape_text({"é": 1, "😀": "$x"}, None)
    assert wide == "{é: ?, 😀: $x}" and hash(wide) == hash("{é: ?, 😀: $x}")


def test_deep_nesting_raises_recursion_error_not_a_crash() -> None:
    doc: Any = 1
    for _ in range(100_000):
        doc = {"a": doc}
    with pytest.raises(RecursionError):
        _speedups.shape_text(doc, None)


def test_no_reference_leaks() -> None:
    inner = {"b": [1, "$x", {"c": 2}], "é": "$y"}
    doc = {"a": inner, "$or": [{"a": 1, "b": 2}, {"b": 1, "a": 2}], "sort": {"a": 1.0, "b": 0.5}, "k": {1: 2}}
    bad = {"a": [1, {"b": 2}], "z": math.inf}  # raises under "sort", after the buffer holds text
    watched = [doc, inner, inner["b"], inner["é"], doc["$or"], doc["$or"][0], bad, bad["a"], "sort", None]
    _speedups.shape_text(doc, "sort")
    before = [sys.getrefcount(x) for x in watched]
    for _ in range(2000):
        _speedups.shape_text(doc, "sort")
        _speedups.shape_text(doc["$or"], None)
        with pytest.raises(OverflowError):
            _speedups.shape_text(bad, "sort")
    assert [sys.getrefcount(x) for x in watched] == before


def _command_py(command: Any, op: Any) -> tuple[str, Any]:
    """The pure-Python command_shape, with the pure-Python shape_text and statement shapes under it."""
    saved = mongodb_shape.shape_text, mongodb_shape.command_shape
    mongodb_shape.shape_text, mongodb_shape.command_shape = _shape_text_py, _command_shape_py
    try:
        return _outcome(lambda c, o: _command_shape_py(c, op=o), command, op)
    finally:
        mongodb_shape.shape_text, mongodb_shape.command_shape = saved


def _same_command(command: Any, op: Any) -> Any:
    c = _outcome(lambda c, o: _speedups.command_shape(c, op=o), command, op)
    py = _command_py(command, op)
    assert c == py
    if c[0] == "ok":
        assert [type(x) for x in c[1]] == [type(x) for x in py[1]]
        assert hash(c[1]) == hash(py[1])
    return c


COMMAND_NAMES = st.sampled_from(
    [*sorted(_COMMAND_PARTS), "getMore", "getmore", "findAndModify", "mapReduce", "geoNear", "Find", "FIND", "insert",
     "isMaster", "createIndexes", "fïnd", "İnsert", "q", "u", "query", "$query", "filter", "updates", "deletes"]
)  # fmt: skip
PART_KEYS = st.sampled_from(
    sorted({p for parts in _COMMAND_PARTS.values() for p in parts} | {"query", "$query", "orderby", "$orderby", "$db",
                                                                        "lsid", "updates", "deletes", *_FLAG_KEYS})
)  # fmt: skip
PART_VALUES = st.one_of(
    DOCS,
    st.dictionaries(st.sampled_from(["a", "$set", "$inc", "b", "é"]), DOCS, max_size=3),
    st.sampled_from([True, False, 1, None]),
)
STATEMENTS = st.lists(
    st.one_of(st.dictionaries(st.sampled_from(["q", "u", "multi", "upsert", "limit", "x"]), PART_VALUES, max_size=4),
              SCALARS),
    max_size=20,
)


@st.composite
def commands(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out[draw(COMMAND_NAMES)] = draw(st.sampled_from(["orders", 1, None]))
    for key in draw(st.lists(PART_KEYS, max_size=6)):
        out[key] = draw(STATEMENTS) if key in ("updates", "deletes") else draw(PART_VALUES)
    return out


OPS = st.sampled_from([None, "", "update", "remove", "delete", "query", "getmore", "insert", "command", "x"])


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=commands(), op=OPS)
def test_command_shape_equals_the_python_reference(command: dict[str, Any], op: Any) -> None:
    _same_command(command, op)


@pytest.mark.parametrize("op", [None, "update", "remove", "delete", "query", "getmore", ""])
@pytest.mark.parametrize(
    "command",
    [
        {}, {"find": "c"}, {"find": "c", "filter": {"a": 1}, "sort": {"b": -1}, "projection": {"x": 1}, "hint": "a_1"},
        {"find": "c", "filter": 5, "tailable": True, "awaitData": True, "oplogReplay": 1},
        {"find": "c", "tailable": True, "oplogReplay": True}, {"getMore": 1, "collection": "c"},
        {"q": {"a": 1}, "u": {"$set": {"b": 1}}, "multi": True}, {"q": {"a": 1}, "u": {"b": 1}}, {"u": {}},
        {"q": {"a": 1}, "u": [{"$set": {"b": 1}}]}, {"update": "c", "updates": [{"q": {"a": 1}, "u": {"$inc": {"n": 1}}}] * 3},
        {"delete": "c", "deletes": [{"q": {"a": 1}, "limit": 1}, {"q": {"b": 1}, "limit": 0}]},
        {"query": {"a": 1}, "orderby": {"b": -1}}, {"$query": {"a": 1}}, {"a": 1, "b": {"$gt": 2}},
        {"insert": "c", "documents": [{"a": 1}]}, {"isMaster": 1}, {"Find": "c", "filter": {"é": 1}},
        {"fïnd": "c"}, {"İnsert": "c"}, {"aggregate": "c", "pipeline": [{"$match": {"a": 1}}, {"$sort": {"a": 1}}]},
        {"distinct": "c", "key": "a", "query": {"b": 1}}, {"count": "c", "query": {"a": {"$in": [1, 2]}}},
    ],
    ids=repr,
)
def test_command_shape_on_known_commands(command: dict[str, Any], op: Any) -> None:
    _same_command(command, op)


class _Dict(dict):  # type: ignore[type-arg]
    pass


@pytest.mark.parametrize("op", [None, "update", "query", 5])
@pytest.mark.parametrize(
    "command",
    [
        {1: "c"}, {"find": "c", 1: 2}, _Dict(find="c"), {"q": {"a": 1}, "u": {1: 2}}, {"q": {"a": 1}, "u": {"b": 1, 2: 3}},
        {"q": {"a": 1}, "u": {"$set": 1, 2: 3}}, {"q": 1, "u": _Dict(b=1)}, {"q": 1, "u": _Dict({"$set": 1})},
        {"find": "c", "filter": _Dict(a=1)}, {"find": "c", "filter": (1, 2)}, {_Str("find"): "c", "filter": {"a": 1}},
        [("find", 1)], None, "find",
    ],
    ids=repr,
)
def test_command_shape_hands_what_it_does_not_mirror_to_python(command: Any, op: Any) -> None:
    _same_command(command, op)


def test_command_shape_arguments() -> None:
    with pytest.raises(TypeError):
        _speedups.command_shape({"find": "c"}, "update")  # op is keyword-only, as in Python
    with pytest.raises(TypeError):
        _speedups.command_shape({"find": "c"}, opp="update")
    with pytest.raises(TypeError):
        _speedups.command_shape()
    assert _speedups.command_shape({"find": "c"}) == ("find", "")
    assert _speedups.command_shape({}, op="update") == ("update", "")


def test_command_shape_has_no_reference_leaks() -> None:
    filt = {"a": 1, "b": {"$in": [1, 2]}}
    cmds = [{"find": "c", "filter": filt, "sort": {"a": 1}, "tailable": True}, {"q": filt, "u": {"x": 1}},
            {"q": filt, "u": {"$set": {"x": 1}}}, {"update": "c", "updates": [{"q": filt, "u": {"$set": {}}}]},
            {"query": filt, "orderby": {"a": -1}}, {"Find": "c"}, {"find": "c", "filter": {"a": math.inf}, "sort": {"a": math.inf}}]
    watched = [*cmds, filt, filt["b"], "update", None]
    for c in cmds:
        _outcome(lambda c, o: _speedups.command_shape(c, op=o), c, "update")
    before = [sys.getrefcount(x) for x in watched]
    for _ in range(2000):
        for c in cmds:
            _outcome(lambda c, o: _speedups.command_shape(c, op=o), c, "update")
            _outcome(lambda c, o: _speedups.command_shape(c, op=o), c, None)
    assert [sys.getrefcount(x) for x in watched] == before


def _shape_of_pure(*args: Any) -> tuple[str, Any]:
    """The pure-Python _shape_of, with the pure-Python command_shape and shape_text under it."""
    saved = mongodb_shape.shape_text, mongodb_shape.command_shape, mongodb.command_shape
    mongodb_shape.shape_text, mongodb_shape.command_shape = _shape_text_py, _command_shape_py
    mongodb.command_shape = _command_shape_py
    try:
        return _outcome(lambda a, _: mongodb._shape_of_py(*a), args, None)
    finally:
        mongodb_shape.shape_text, mongodb_shape.command_shape, mongodb.command_shape = saved


def _same_shape_of(*args: Any) -> Any:
    c = _outcome(lambda a, _: _speedups.shape_of(*a), args, None)
    assert c == _shape_of_pure(*args)
    return c


NAMESPACES = st.sampled_from([None, "", "shop.orders", "local.oplog.rs", "é.😀", " ", "a "])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=OPS, ns=NAMESPACES, command=st.one_of(commands(), st.none(), st.just([1]), st.just("find")),
       orig=st.one_of(st.none(), commands(), st.just({"find": "c", "filter": {"a": 1}}), st.just(5)))
def test_shape_of_equals_the_python_reference(op: Any, ns: Any, command: Any, orig: Any) -> None:
    _same_shape_of(op, ns, command, orig)


@pytest.mark.parametrize(
    ("op", "ns", "command", "orig"),
    [
        ("remove", "a.b", {"a": 1}, None), ("delete", "a.b", {"delete": "b", "deletes": []}, None),
        ("delete", "a.b", {"q": {"a": 1}, "limit": 1}, None), ("remove", "a.b", {1: 2}, None),
        ("remove", "a.b", {}, None), (None, "a.b", {"getMore": 5, "collection": "b"}, {"find": "b", "filter": {"x": 1}}),
        (None, "a.b", {"getMore": 5}, {}), (None, "a.b", {"getMore": 5}, {"aggregate": "b", "pipeline": [{"$match": {}}]}),
        ("getmore", None, None, {"Find": "b", "tailable": True, "awaitData": True}), ("insert", "a.b", {}, None),
        ("insert", "a.b", {"insert": "b"}, None), (None, "a.b", {"isMaster": 1}, None), (None, "a.b", {"FIND": "b"}, None),
        (None, "a.b", {"getMore": 1}, {"query": {"a": 1}, "orderby": {"b": 1}}), (None, "a.b", {"getMore": 1}, {" ": 1}),
        (None, "a.b", {"find ": "b"}, None), (None, "a.b", {"fïnd": "b"}, None), (5, "a.b", {"find": "b"}, None),
        (None, 5, {"find": "b"}, None), (None, "a.b", _Dict(find="b"), None), (None, "a.b", {"getMore": 1}, _Dict(find="b")),
        (None, "a.b", {"find": "b", "sort": {"a": math.inf}}, None),
    ],
    ids=repr,
)
def test_shape_of_on_known_operations(op: Any, ns: Any, command: Any, orig: Any) -> None:
    _same_shape_of(op, ns, command, orig)


_STAMP_PARTS = st.tuples(
    st.sampled_from(["2024-03-11T01:00", "2024-03-11T01:01", "1999-12-31T23:59", "2024-02-29T12:30", "2024-03-11T0١:00"]),
    st.sampled_from([":00", ":07", ":59", ":60", ":6x", ":٣1", "", ":0"]),
    st.sampled_from([".367", ".000", ".999", ".36", ".3671", "", ".36x", ".١23", ".367123"]),
    st.sampled_from(["+00:00", "Z", "-05:30", "+14:00", "", "+0000", "z", "X"]),
)


@settings(max_examples=2000, deadline=None)
@given(_STAMP_PARTS)
def test_log_date_equals_the_python_reference(parts: tuple[str, ...]) -> None:
    value = {"$date": "".join(parts)}
    ref = _outcome(lambda v, _: mongodb._log_date_py(v), value, None)  # fills the minute cache …
    assert _outcome(lambda v, _: _speedups.log_date(v), value, None) == ref  # … which C reads
    assert _outcome(lambda v, _: _speedups.log_date(v), value, None) == ref
    assert ref == _outcome(lambda v, _: mongodb._date(v), value, None)


@pytest.mark.parametrize(
    "value",
    [None, 5, "2024-03-11T01:00:00.367+00:00", {}, {"$date": 1710118800367}, {"$date": {"$numberLong": "1710118800367"}},
     {"$date": None}, {"$date": "2024-03-11T01:00:00.367+00:00", "x": 1}, _Dict({"$date": "2024-03-11T01:00:00.367Z"}),
     {"$date": _Str("2024-03-11T01:00:00.367Z")}, {"$date": "2024-03-11T01:00:00.367+00:00 "}],
    ids=repr,
)
def test_log_date_on_other_values(value: Any) -> None:
    mongodb._log_date_py({"$date": "2024-03-11T01:00:00.367+00:00"})
    mongodb._log_date_py({"$date": "2024-03-11T01:00:00.367Z"})
    assert _outcome(lambda v, _: _speedups.log_date(v), value, None) == _outcome(lambda v, _: mongodb._log_date_py(v), value, None)


def test_log_date_reads_the_cache_only_within_exact_double_range() -> None:
    """A cached start the reference did not compute (only a test puts one there) beyond 2**53 microseconds: C
    hands it to Python's int / int instead of dividing doubles."""
    key = "9999-01-01T00:00+00:00"
    stamp = {"$date": "9999-01-01T00:00:01.001+00:00"}
    saved = mongodb._MINUTE_STARTS.get(key)
    try:
        for start in (2**53 - 2_000_000, 2**53 - 1_001_000, 2**53 - 1_000_999, 2**60 + 1, -(2**53) + 5, 10**30):
            mongodb._MINUTE_STARTS[key] = start
            assert _speedups.log_date(stamp) == mongodb._log_date_py(stamp) == (start + 1_001_000) / 1_000_000
    finally:
        if saved is None:
            mongodb._MINUTE_STARTS.pop(key, None)
        else:
            mongodb._MINUTE_STARTS[key] = saved


def test_shape_of_and_log_date_have_no_reference_leaks() -> None:
    cmd = {"find": "c", "filter": {"a": 1}}
    orig = {"find": "c", "filter": {"b": {"$gt": 1}}, "tailable": True}
    bare = {"a": 1}
    stamp = {"$date": "2024-03-11T01:00:00.367+00:00"}
    watched = [cmd, orig, bare, stamp, stamp["$date"], "shop.orders", "remove", None]
    _speedups.shape_of(None, "shop.orders", cmd, orig)
    _speedups.log_date(stamp)
    before = [sys.getrefcount(x) for x in watched]
    for _ in range(3000):
        _speedups.shape_of(None, "shop.orders", cmd, orig)
        _speedups.shape_of("getmore", "shop.orders", {"getMore": 1}, orig)
        _speedups.shape_of("remove", "shop.orders", bare, None)
        _speedups.shape_of("remove", None, None, None)
        _speedups.log_date(stamp)
        _speedups.log_date({"$date": "x"})
    assert [sys.getrefcount(x) for x in watched] == before


def _json_attr_pure(doc: Any, attr: Any) -> tuple[str, Any]:
    saved = mongodb_shape.shape_text, mongodb_shape.command_shape, mongodb.command_shape, mongodb._shape_of
    mongodb_shape.shape_text, mongodb_shape.command_shape = _shape_text_py, _command_shape_py
    mongodb.command_shape, mongodb._shape_of = _command_shape_py, mongodb._shape_of_py
    try:
        return _outcome(lambda d, a: mongodb._json_attr_py(d, a), doc, attr)
    finally:
        mongodb_shape.shape_text, mongodb_shape.command_shape, mongodb.command_shape, mongodb._shape_of = saved


def _same_json_attr(doc: Any, attr: Any) -> None:
    c = _outcome(lambda d, a: _speedups.json_attr(d, a), doc, attr)
    py = _json_attr_pure(doc, attr)
    assert repr(c) == repr(py) and c == py


_CTX = st.sampled_from([None, "conn12", "conn7Balancer", "conn", "con", "TTLMonitor", "xconnBalancer", "", 4, "Balancer"])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attr=st.fixed_dictionaries({}, optional={
    "ns": st.sampled_from(["shop.orders", "local.oplog.rs", "", 5, None]),
    "command": st.one_of(commands(), st.none(), st.just(7), st.just({"find": "c", "tailable": True, "awaitData": True})),
    "originatingCommand": st.one_of(commands(), st.none(), st.just({"find": "c", "tailable": True, "awaitData": True})),
    "type": st.sampled_from(["command", "update", "remove", "delete", 3, None, ["update"]]),
    "user": st.sampled_from(["__system", "app", 1, None]),
    "planSummary": st.sampled_from(["COLLSCAN", 1, None, ""]),
    "keysExamined": st.one_of(st.integers(-3, 10**20), st.sampled_from([True, 1.5, "12", "x", None, {"$numberLong": "5"}])),
    "appName": st.sampled_from(["shop-api", 7, ""]),
    "docsExamined": st.one_of(st.integers(0, 10**6), st.sampled_from([False, 2.5, "3", {"$numberLong": "9"}, []])),
    "nreturned": st.one_of(st.integers(0, 10**6), st.sampled_from([None, 1e3, {}])),
    "durationMillis": st.integers(0, 10),
}), ctx=_CTX, with_ctx=st.booleans())
def test_json_attr_equals_the_python_reference(attr: dict[str, Any], ctx: Any, with_ctx: bool) -> None:
    doc = {"t": {"$date": "2024-03-11T01:00:00.000Z"}, "attr": attr}
    if with_ctx:
        doc["ctx"] = ctx
    _same_json_attr(doc, attr)


@pytest.mark.parametrize(
    ("doc", "attr"),
    [
        ({}, {}), ({"ctx": _Str("conn1")}, {}), ({}, {"command": _Dict(find="c")}), ({}, {"originatingCommand": _Dict()}),
        (_Dict(), {}), ({}, _Dict(ns="a.b")), ({}, {"ns": _Str("a.b"), "command": {"find": "c"}}),
        ({}, {"keysExamined": {"$numberLong": "inf"}}), ({}, {"command": {"find": "c", "sort": {"a": math.inf}}}),
        ({"ctx": "conn1"}, {"user": _Str("u"), "planSummary": _Str("COLLSCAN"), "appName": _Str("a")}),
    ],
    ids=repr,
)
def test_json_attr_on_other_values(doc: Any, attr: Any) -> None:
    _same_json_attr(doc, attr)


def test_json_attr_has_no_reference_leaks() -> None:
    cmd = {"find": "c", "filter": {"a": 1}, "tailable": True, "awaitData": True}
    attr = {"ns": "shop.orders", "command": cmd, "type": "command", "user": "u", "planSummary": "COLLSCAN",
            "keysExamined": 5, "appName": "a", "docsExamined": {"$numberLong": "7"}, "nreturned": 2}
    doc = {"ctx": "conn5", "attr": attr}
    watched = [cmd, attr, doc, attr["ns"], attr["user"], attr["planSummary"], attr["appName"], doc["ctx"], None, True]
    _speedups.json_attr(doc, attr)
    before = [sys.getrefcount(x) for x in watched]
    for _ in range(3000):
        _speedups.json_attr(doc, attr)
        _outcome(lambda d, a: _speedups.json_attr(d, a), doc, {"keysExamined": {"$numberLong": "inf"}})
    after = [sys.getrefcount(x) for x in watched]
    assert after[:-2] == before[:-2]  # None and True: immortal-ish singletons others touch too


@pytest.fixture(scope="module")
def json_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mongo") / "gen.json.log"
    mongodb_generator().generate(path, fmt="json", size_mb=1.5, seed=11, templates=200)
    return path


def test_every_generated_command_shapes_the_same(json_log: Path) -> None:
    n = 0
    for line in json_log.read_text().splitlines():
        if '"Slow query"' not in line:
            continue
        attr = json.loads(line)["attr"]
        for key in ("command", "originatingCommand"):
            doc = attr.get(key)
            if isinstance(doc, dict):
                for name, value in doc.items():
                    _same(value, name)
                _same(doc, None)
                for op in (None, attr.get("type"), "query", "getmore"):
                    _same_command(doc, op)
                    _same_shape_of(op, attr.get("ns"), doc, attr.get("originatingCommand"))
                n += 1
    assert n > 1000


def test_generated_log_same_digest_in_process(json_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def shapes() -> list[dict[str, Any]]:
        d = digest_inputs([str(json_log)], options=Options(top=0), workers=1)
        return [dataclasses.asdict(s) for s in d.shapes]

    with_c = shapes()
    monkeypatch.setattr(mongodb_shape, "shape_text", _shape_text_py)
    monkeypatch.setattr(mongodb_shape, "command_shape", _command_shape_py)
    monkeypatch.setattr(mongodb, "command_shape", _command_shape_py)
    monkeypatch.setattr(mongodb, "_shape_of", mongodb._shape_of_py)
    monkeypatch.setattr(mongodb, "_log_date", mongodb._log_date_py)
    monkeypatch.setattr(mongodb, "_json_attr", mongodb._json_attr_py)
    from casework.diagnostics.slowlog import digest

    monkeypatch.setattr(digest, "_agg_add", digest._Agg.add)
    pure = shapes()
    assert len(with_c) >= 100 and with_c == pure


def test_environment_switch_gives_the_same_digest(json_log: Path) -> None:
    out = {}
    for flag in ("0", "1"):
        env = {**os.environ, "CASEWORK_NO_SPEEDUPS": flag}
        probe = subprocess.run([sys.executable, "-c", "from casework.diagnostics.slowlog import mongodb_shape as m; "
                                "import casework.diagnostics.slowlog.mongodb as j, casework.diagnostics.slowlog.digest as g; "
                                "print(m.shape_text is m._shape_text_py and m.command_shape is m._command_shape_py "
                                "and j._shape_of is j._shape_of_py and j._log_date is j._log_date_py "
                                "and j._json_attr is j._json_attr_py and g._agg_add is g._Agg.add)"], env=env, capture_output=True, text=True, check=True)
        assert probe.stdout.strip() == ("False" if flag == "0" else "True")
        run = subprocess.run([sys.executable, "-m", "casework.cli", "slowlog", str(json_log), "--format", "json", "--top",
                              "0"], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
        out[flag] = json.loads(run.stdout)["shapes"]
    assert out["0"] == out["1"] and len(out["0"]) >= 100


def test_reference_pair_is_what_the_python_fallback_calls() -> None:
    assert _render_shape([(1,)], None) == render(_shape([(1,)], None)) == "[?]"
