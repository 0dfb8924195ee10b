"""The 4.4+ JSON log's quick paths give what the plain ones give: the per-minute timestamp cache the very float
``_date`` computes, and the chunk path (``parse_text``) the entries, line numbers and counts of ``parse``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from casework.diagnostics.slowlog import mongodb
from casework.diagnostics.slowlog.entry import ParseStats
from casework.diagnostics.slowlog.reader import split_lines
from conftest import DATA

SAMPLE = DATA / "slowlog" / "mongodb" / "mongod44_slow.json.log"

_zones = st.one_of(
    st.just("Z"),
    st.integers(-14 * 60, 14 * 60).map(
        lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
    ),
)


def _stamp(moment: datetime, digits: int, zone: str) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + zone


@settings(max_examples=400, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)),
    digits=st.sampled_from([0, 3, 6]),
    zone=_zones,
)
def test_log_date_is_date(moment: datetime, digits: int, zone: str) -> None:
    value = {"$date": _stamp(moment, digits, zone)}
    expected = mongodb._date(value)
    assert mongodb._log_date(value) == expected  # fills the minute's cache …
    assert mongodb._log_date(value) == expected  # … and reads it


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789-:T.Z+ ٣x", max_size=32))
def test_log_date_on_near_misses(text: str) -> None:
    # Whatever the text, the cached reading agrees with fromisoformat's (None when it refuses).
    base = "2024-03-11T01:00:00.367+00:00"
    mongodb._log_date({"$date": base})  # the minute is cached: edits of it must not slip through
    for candidate in (text, base[: len(text)] + text[len(base) :], base[:17] + text[:2] + base[19:]):
        value = {"$date": candidate}
        assert mongodb._log_date(value) == mongodb._date(value)


def test_log_date_examples() -> None:
    stamp = "2024-03-11T01:00:07.367+00:00"
    want = datetime(2024, 3, 11, 1, 0, 7, 367000, tzinfo=UTC).timestamp()
    assert mongodb._log_date({"$date": stamp}) == want
    assert mongodb._log_date({"$date": stamp}) == want
    shifted = datetime(2024, 3, 11, 1, 0, 7, 367000, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert mongodb._log_date({"$date": "2024-03-11T01:00:07.367+05:30"}) == shifted.timestamp()
    for bad in ("2024-13-11T01:00:07.367+00:00", "2024-03-11T01:00:60.367+00:00", "2024-03-11T01:00:0٣.367Z"):
        assert mongodb._log_date({"$date": bad}) is None
    assert mongodb._log_date({"$date": {"$numberLong": "1710118800367"}}) == 1710118800.367


_POOL = [line.rstrip("\n") for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()] + [
    "",
    "   ",
    "garbage",
    '{"t":{"$date":"2024-03-11T01:00:00.367+00:00"},"msg":"Slow query","attr":{',
    '{"t":{"$date":"x"},"msg":"Slow query","attr":{"durationMillis":"12"}}',
    '{"msg":"Slow query","attr":[]}',
    '{"t":{"$date":"2024-03-11T01:00:00.367+00:00"},"msg":"connection accepted"}',
]


@settings(max_examples=150, deadline=None)
@given(
    picks=st.lists(st.sampled_from(_POOL), min_size=1, max_size=25),
    crlf=st.booleans(),
    final_newline=st.booleans(),
)
def test_chunk_path_is_stream_path(picks: list[str], crlf: bool, final_newline: bool) -> None:
    end = "\r\n" if crlf else "\n"
    text = end.join(picks) + (end if final_newline else "")
    s1, s2 = ParseStats(), ParseStats()
    fast = [asdict(e) for e in mongodb.parse_text(text, source="f", stats=s1, fmt="mongodb-json")]
    ref = [asdict(e) for e in mongodb.parse(split_lines(text), source="f", stats=s2, fmt="mongodb-json")]
    assert fast == ref
    assert (s1.lines, s1.unparsed, s1.unparsed_lines) == (s2.lines, s2.unparsed, s2.unparsed_lines)
    shifted = list(
        mongodb.parse_text(text, source="f", stats=ParseStats(), fmt="mongodb-json", first_line=11)
    )
    assert [e.line for e in shifted] == [e["line"] + 10 for e in ref]


def test_entries_are_built_positionally_in_field_order() -> None:
    # The per-line paths pass Entry's values by position: the order they assume must be the dataclass's.
    from dataclasses import fields

    from casework.diagnostics.slowlog.entry import Entry

    assert tuple(f.name for f in fields(Entry)) == mongodb.ENTRY_FIELDS
    assert mongodb._new_entry is Entry
    values = list(range(len(mongodb.ENTRY_FIELDS)))
    assert asdict(mongodb._entry_by_name(*values)) == dict(zip(mongodb.ENTRY_FIELDS, values, strict=True))


# --- the whole line: against the plain reading the quick one replaced -------------------------------------------


def _plain_entry(line: str, lineno: int, source: str, stats: ParseStats):
    """The 4.4+ line reader as it was before the quick path (helpers called, keyword Entry, no memo): the
    reference the quick reader must equal on any line."""
    import orjson

    from casework.diagnostics.slowlog.entry import Entry
    from casework.diagnostics.slowlog.mongodb_internal import classify

    m = mongodb
    if '"Slow query"' not in line:
        if not line.lstrip().startswith("{"):
            stats.bad_line(lineno)
        return None
    try:
        doc = orjson.loads(line)
        attr = doc["attr"]
        duration = attr["durationMillis"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        stats.bad_line(lineno)
        return None
    duration = m._num(duration)
    if duration is None or not isinstance(attr, dict):
        stats.bad_line(lineno)
        return None
    ns = attr.get("ns")
    ns = ns if isinstance(ns, str) else None
    command = attr.get("command")
    orig = attr.get("originatingCommand")
    op_type = attr.get("type")
    operation, fp = m._shape_of(
        op_type if op_type in ("update", "remove", "delete") else None, ns, command, orig
    )
    ctx = doc.get("ctx")
    ctx = ctx if isinstance(ctx, str) else None
    user = attr.get("user") if isinstance(attr.get("user"), str) else None
    reason = classify(ns=ns, op=operation, user=user, ctx=ctx, tailing=m._tailing(command, orig))
    plan = attr.get("planSummary")
    extra = {"format": "mongodb-json"}
    keys = m._int(attr.get("keysExamined"))
    if keys is not None:
        extra["keys_examined"] = keys
    app = attr.get("appName")
    if isinstance(app, str):
        extra["app"] = app
    return m._await_not_lock(
        Entry(
            engine=m.ENGINE,
            source=source,
            line=lineno,
            ts=m._date(doc.get("t")),
            duration_ms=float(duration),
            fingerprint=fp,
            example=m._trim(line),
            namespace=ns,
            db=ns.partition(".")[0] if ns else None,
            user=user,
            client=m._client_host(attr.get("remote")),
            operation=operation,
            examined=m._int(attr.get("docsExamined")),
            returned=m._int(attr.get("nreturned")),
            lock_ms=m._lock_wait_ms(attr.get("locks")),
            plan=plan if isinstance(plan, str) else None,
            internal=reason is not None,
            internal_reason=reason,
            extra=extra,
        )
    )


_counts = st.one_of(
    st.integers(-5, 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(0, 10**6).map(lambda n: {"$numberLong": str(n)}),
    st.sampled_from(["12", "x", True, None, [], {}]),
)
_locks = st.dictionaries(
    st.sampled_from(["Global", "Database", "Collection", "oplog"]),
    st.fixed_dictionaries(
        {},
        optional={
            "acquireCount": st.fixed_dictionaries({"r": st.integers(0, 5)}),
            "timeAcquiringMicros": st.dictionaries(st.sampled_from(["r", "w", "W"]), _counts, max_size=2),
        },
    ),
    max_size=3,
)
_commands = st.one_of(
    st.fixed_dictionaries(
        {
            "find": st.just("c"),
            "filter": st.dictionaries(st.sampled_from(["a", "b", "ts"]), _counts, max_size=2),
        },
        optional={"tailable": st.booleans(), "awaitData": st.booleans(), "sort": st.just({"a": -1})},
    ),
    st.fixed_dictionaries({"getMore": st.integers(1, 10**12), "collection": st.just("oplog.rs")}),
    st.fixed_dictionaries({"q": st.just({"a": 1}), "u": st.just({"$set": {"b": 2}})}),
    st.sampled_from([None, "find", [], {}]),
)
_attrs = st.fixed_dictionaries(
    {"durationMillis": _counts},
    optional={
        "type": st.sampled_from(["command", "update", "remove", "delete", 3]),
        "ns": st.sampled_from(
            ["shop.orders", "local.oplog.rs", "config.system.sessions", "admin.$cmd", "x", 5]
        ),
        "appName": st.sampled_from(["shop-api", 7]),
        "command": _commands,
        "originatingCommand": _commands,
        "planSummary": st.sampled_from(["COLLSCAN", "IXSCAN { a: 1 }", 1]),
        "keysExamined": _counts,
        "docsExamined": _counts,
        "nreturned": _counts,
        "locks": st.one_of(_locks, st.just("locks")),
        "user": st.sampled_from(["__system", "app", 1]),
        "remote": st.sampled_from(["10.0.0.1:27017", "host", "[::1]:5", "a:b", 7]),
    },
)
_times = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)).flatmap(
        lambda t: st.sampled_from([0, 3, 6]).flatmap(
            lambda d: _zones.map(lambda z: {"$date": _stamp(t, d, z)})
        )
    ),
    st.integers(0, 2 * 10**12).map(lambda ms: {"$date": {"$numberLong": str(ms)}}),
    st.sampled_from([None, "2024-03-11T01:00:00Z", {"$date": 5}, {"$date": "bad"}]),
)


@settings(max_examples=250, deadline=None)
@given(
    attr=_attrs,
    t=_times,
    ctx=st.sampled_from([None, "conn12", "conn7Balancer", "TTLMonitor", "LogicalSessionCacheRefresh", "", 4]),
    escape=st.booleans(),
)
def test_quick_line_reader_is_the_plain_one(attr, t, ctx, escape) -> None:
    import orjson

    doc = {"t": t, "s": "I", "c": "COMMAND", "id": 51803, "ctx": ctx, "msg": "Slow query", "attr": attr}
    line = orjson.dumps(doc).decode()
    if escape:  # the same keys, \u-escaped: the quick reader's substring tests must not be fooled
        line = line.replace('"timeAcquiringMicros"', '"\\u0074imeAcquiringMicros"')
    s1, s2 = ParseStats(), ParseStats()
    for _ in range(2):  # the second time through the memos
        quick = mongodb._json_log_entry(line, 3, "f", s1)
        plain = _plain_entry(line, 3, "f", s2)
        assert (asdict(quick) if quick else None) == (asdict(plain) if plain else None)
    assert (s1.unparsed, s1.unparsed_lines) == (s2.unparsed, s2.unparsed_lines)
