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
