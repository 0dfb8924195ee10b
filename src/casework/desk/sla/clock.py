"""Business-hours arithmetic: pure functions over aware datetimes, no ORM.

A :class:`Calendar` is a time zone, working windows per weekday (local wall-clock times) and holidays (local
dates). Everything is computed by walking local days and intersecting each day's working windows with the
interval asked about, so daylight-saving changes and windows that cross midnight come out right: each window
is turned into two aware instants with :mod:`zoneinfo` before any subtraction.

``CALENDAR_HOURS`` (24×7, UTC, no holidays) is what a policy measured "in calendar hours" uses, so both kinds
of target go through the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A policy's targets are small (hours or days); a month-long holiday season in a sparse calendar is still
# found well inside ten years. The bound turns an impossible calendar into an error instead of a hang.
MAX_SEARCH_DAYS = 3660


class CalendarError(ValueError):
    """A calendar that cannot be used (no working time at all, bad time zone, bad window)."""


@dataclass(frozen=True, slots=True)
class Calendar:
    timezone: str = "UTC"
    # weekday (0 = Monday) -> [(start, end)] local wall-clock windows; end <= start means "until midnight"
    # only when end == 00:00 (a window may not otherwise cross midnight: split it over two days).
    hours: Mapping[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
            raise CalendarError(f"unknown time zone {self.timezone!r}") from exc
        for weekday, windows in self.hours.items():
            if weekday not in range(7):
                raise CalendarError(f"weekday must be 0..6, got {weekday!r}")
            for start, end in windows:
                if end != time(0) and end <= start:
                    raise CalendarError(f"window {start:%H:%M}-{end:%H:%M} ends before it starts")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_always_open(self) -> bool:
        # 24×7 without holidays: plain elapsed time, no day walk needed (the calendar-hours fast path).
        return not self.holidays and all(self.hours.get(d) == ((time(0), time(0)),) for d in range(7))

    @property
    def has_working_time(self) -> bool:
        return any(self.hours.get(d) for d in range(7))


def _all_day() -> dict[int, tuple[tuple[time, time], ...]]:
    return {d: ((time(0), time(0)),) for d in range(7)}


CALENDAR_HOURS = Calendar(timezone="UTC", hours=_all_day())


def parse_hours(raw: Mapping[str, Iterable[Iterable[str]]]) -> dict[int, tuple[tuple[time, time], ...]]:
    """``{"0": [["09:00", "18:00"]], ...}`` (the stored JSON form) -> the :class:`Calendar` form."""
    out: dict[int, tuple[tuple[time, time], ...]] = {}
    for key, windows in raw.items():
        try:
            weekday = int(key)
        except (TypeError, ValueError) as exc:
            raise CalendarError(f"weekday must be 0..6, got {key!r}") from exc
        parsed = []
        for window in windows:
            pair = list(window)
            if len(pair) != 2:
                raise CalendarError(f"a window is [start, end], got {pair!r}")
            try:
                start, end = (time.fromisoformat(str(v)) for v in pair)
            except ValueError as exc:
                raise CalendarError(f"bad time in window {pair!r}: {exc}") from exc
            parsed.append((start, end))
        out[weekday] = tuple(sorted(parsed))
    return out


def _local_windows(cal: Calendar, day: date) -> Iterator[tuple[datetime, datetime]]:
    """The working windows of one local date as aware UTC-comparable instants."""
    if day in cal.holidays:
        return
    zone = cal.zone
    for start, end in cal.hours.get(day.weekday(), ()):
        begin = datetime.combine(day, start, tzinfo=zone)
        finish = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone) if end == time(0) else \
            datetime.combine(day, end, tzinfo=zone)
        # Same-tzinfo subtraction in Python ignores UTC offsets (wall-clock arithmetic), which is wrong on DST
        # days: hand out UTC instants so every later subtraction and addition is in real elapsed time.
        begin, finish = begin.astimezone(UTC), finish.astimezone(UTC)
        if finish > begin:
            yield begin, finish


def _check_aware(*values: datetime) -> None:
    for v in values:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("business-hours arithmetic needs aware datetimes")


def business_seconds(cal: Calendar, start: datetime, end: datetime) -> float:
    """Working seconds in ``[start, end)``; 0 when ``end <= start``."""
    _check_aware(start, end)
    if end <= start:
        return 0.0
    if cal.is_always_open:
        return (end - start).total_seconds()
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    zone = cal.zone
    day = start.astimezone(zone).date() - timedelta(days=1)  # a window of the previous day may reach past midnight
    last = end.astimezone(zone).date()
    total = 0.0
    while day <= last:
        for begin, finish in _local_windows(cal, day):
            lo, hi = max(begin, start), min(finish, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def add_business_seconds(cal: Calendar, start: datetime, seconds: float) -> datetime:
    """The instant at which ``seconds`` working seconds have passed since ``start``.

    With ``seconds == 0`` the answer is ``start`` itself (a clock with nothing left is due now, even at night).
    """
    _check_aware(start)
    if seconds <= 0:
        return start
    if cal.is_always_open:
        return start + timedelta(seconds=seconds)
    if not cal.has_working_time:
        raise CalendarError("the calendar has no working hours")
    zone = cal.zone
    original_tz = start.tzinfo
    start = start.astimezone(UTC)
    day = start.astimezone(zone).date() - timedelta(days=1)
    left = float(seconds)
    for _ in range(MAX_SEARCH_DAYS):
        for begin, finish in _local_windows(cal, day):
            lo = max(begin, start)
            if finish <= lo:
                continue
            span = (finish - lo).total_seconds()
            if span >= left:
                return (lo + timedelta(seconds=left)).astimezone(original_tz)
            left -= span
        day += timedelta(days=1)
    raise CalendarError(f"no working time found within {MAX_SEARCH_DAYS} days (holidays cover everything?)")
