"""Business-hours arithmetic and the SLA state machine against hand-computed cases, plus a hypothesis oracle.

No database: ``clock.py`` and ``machine.py`` are pure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.desk.sla.clock import (
    CALENDAR_HOURS,
    Calendar,
    CalendarError,
    add_business_seconds,
    business_seconds,
    parse_hours,
)
from casework.desk.sla.machine import FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION, SLAState

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
H = 3600.0
DAY = ((time(9), time(18)),)
OFFICE = Calendar(timezone="Asia/Shanghai", hours={d: DAY for d in range(5)},
                  holidays=frozenset({date(2026, 10, 1)}))


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


# --- hand-computed clock cases ------------------------------------------------------------------------------


def test_over_a_weekend():
    # Friday 17:00 + 4 working hours = Friday 17-18 (1 h) + Monday 09-12 (3 h).
    assert add_business_seconds(OFFICE, sh(2026, 3, 13, 17), 4 * H) == sh(2026, 3, 16, 12)
    assert business_seconds(OFFICE, sh(2026, 3, 13, 17), sh(2026, 3, 16, 12)) == 4 * H


def test_over_a_night():
    # Tuesday 20:00 (after hours) + 1 h = Wednesday 10:00; the evening counts nothing.
    assert add_business_seconds(OFFICE, sh(2026, 3, 17, 20), 1 * H) == sh(2026, 3, 18, 10)
    assert business_seconds(OFFICE, sh(2026, 3, 17, 17, 30), sh(2026, 3, 18, 9, 30)) == 1 * H


def test_over_a_holiday():
    # Wednesday 30 Sep 17:30 + 2 h: 30 min that day, 1 Oct is a holiday, Friday 2 Oct 09:00 + 1.5 h.
    assert add_business_seconds(OFFICE, sh(2026, 9, 30, 17, 30), 2 * H) == sh(2026, 10, 2, 10, 30)
    assert business_seconds(OFFICE, sh(2026, 9, 30, 0), sh(2026, 10, 3, 0)) == 18 * H


def test_input_in_another_time_zone():
    # 00:30 UTC Monday is 08:30 in Shanghai: the clock starts at 09:00 local, 1 h later is 02:00 UTC.
    start = datetime(2026, 3, 16, 0, 30, tzinfo=UTC)
    due = add_business_seconds(OFFICE, start, 1 * H)
    assert due == datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
    assert due.tzinfo is UTC  # answered in the caller's zone
    # Sunday 23:00 UTC is Monday 07:00 in Shanghai: Monday counts, Sunday evening UTC does not.
    assert business_seconds(OFFICE, datetime(2026, 3, 15, 23, tzinfo=UTC), sh(2026, 3, 16, 11)) == 2 * H


def test_daylight_saving_days_are_23_and_25_hours():
    around_the_clock = Calendar(timezone="America/New_York", hours={d: ((time(0), time(0)),) for d in range(7)},
                                holidays=frozenset({date(2026, 1, 1)}))  # a holiday disables the 24x7 fast path
    spring = business_seconds(around_the_clock, datetime(2026, 3, 7, 12, tzinfo=NY), datetime(2026, 3, 8, 12, tzinfo=NY))
    autumn = business_seconds(around_the_clock, datetime(2026, 10, 31, 12, tzinfo=NY),
                              datetime(2026, 11, 1, 12, tzinfo=NY))
    assert (spring, autumn) == (23 * H, 25 * H)
    # Office hours 09-18 New York across the spring change: 9 h is still 9 h of real time.
    office_ny = Calendar(timezone="America/New_York", hours={d: DAY for d in range(7)})
    assert add_business_seconds(office_ny, datetime(2026, 3, 7, 17, tzinfo=NY), 2 * H) == \
        datetime(2026, 3, 8, 10, tzinfo=NY)


def test_calendar_hours_count_everything():
    start = datetime(2026, 3, 13, 17, tzinfo=UTC)
    assert add_business_seconds(CALENDAR_HOURS, start, 4 * H) == start + timedelta(hours=4)
    assert business_seconds(CALENDAR_HOURS, start, start + timedelta(days=3)) == 72 * H


def test_overnight_window_split_over_two_days():
    night = Calendar(timezone="Asia/Shanghai", hours={0: ((time(22), time(0)),), 1: ((time(0), time(6)),)})
    # Monday 23:00 + 3 h = Tuesday 02:00 (the window continues past midnight).
    assert add_business_seconds(night, sh(2026, 3, 16, 23), 3 * H) == sh(2026, 3, 17, 2)


def test_bad_calendars_are_refused():
    with pytest.raises(CalendarError):
        Calendar(timezone="Mars/Olympus")
    with pytest.raises(CalendarError):
        Calendar(hours=parse_hours({"0": [["18:00", "09:00"]]}))
    with pytest.raises(CalendarError):
        add_business_seconds(Calendar(timezone="UTC", hours={}), sh(2026, 3, 16, 9), H)
    with pytest.raises(ValueError):
        business_seconds(OFFICE, datetime(2026, 3, 16, 9), datetime(2026, 3, 16, 10))


# --- hand-computed SLA cases -----------------------------------------------------------------------------------

TARGETS = {FIRST_RESPONSE: 1 * H, NEXT_RESPONSE: 2 * H, RESOLUTION: 8 * H}


def started(at: datetime, cal: Calendar = OFFICE, targets: dict[str, float] = TARGETS) -> SLAState:
    state = SLAState()
    state.start(cal=cal, at=at, targets=targets, policy_id=None, calendar_id=None)
    return state


def clock(state: SLAState, name: str, now: datetime, cal: Calendar = OFFICE):
    return {v.name: v for v in state.view(cal, now)}[name]


def test_ticket_opened_at_night_is_due_next_morning():
    state = started(sh(2026, 3, 16, 22))  # Monday 22:00
    assert state.clocks[FIRST_RESPONSE].due_at == sh(2026, 3, 17, 10)
    assert state.clocks[RESOLUTION].due_at == sh(2026, 3, 17, 17)
    assert state.next_due(OFFICE)[0] == sh(2026, 3, 17, 10)


def test_pending_customer_pauses_and_resumes_with_the_time_left():
    state = started(sh(2026, 3, 16, 9))  # Monday 09:00, resolution due 17:00
    state.engineer_replied(OFFICE, sh(2026, 3, 16, 9, 30))
    state.status_changed(OFFICE, sh(2026, 3, 16, 10), "pending_customer")  # 1 h of resolution used
    view = clock(state, RESOLUTION, sh(2026, 3, 19, 12))  # three days later, still paused
    assert (view.state, view.elapsed_seconds, view.remaining_seconds) == ("paused", 1 * H, 7 * H)
    # The customer answers Tuesday 11:00 (a week later): 7 h left = Tue 11-18 → due Tuesday 18:00.
    state.customer_replied(OFFICE, sh(2026, 3, 24, 11))
    state.status_changed(OFFICE, sh(2026, 3, 24, 11), "in_progress")
    assert state.clocks[RESOLUTION].due_at == sh(2026, 3, 24, 18)
    # Next response restarted when the customer wrote: 2 h → 13:00.
    assert state.clocks[NEXT_RESPONSE].due_at == sh(2026, 3, 24, 13)
    assert state.next_due(OFFICE)[0] == sh(2026, 3, 24, 13)


def test_first_response_met_and_missed():
    state = started(sh(2026, 3, 16, 9))
    state.engineer_replied(OFFICE, sh(2026, 3, 16, 9, 59))
    assert clock(state, FIRST_RESPONSE, sh(2026, 3, 16, 12)).state == "met"
    late = started(sh(2026, 3, 16, 9))
    late.engineer_replied(OFFICE, sh(2026, 3, 16, 10, 1))
    view = clock(late, FIRST_RESPONSE, sh(2026, 3, 16, 12))
    assert (view.state, view.breached) == ("breached", True)
    assert late.any_breached()


def test_resolution_stops_and_reopening_resumes():
    state = started(sh(2026, 3, 16, 9))
    state.engineer_replied(OFFICE, sh(2026, 3, 16, 9, 10))
    state.status_changed(OFFICE, sh(2026, 3, 16, 12), "resolved")  # 3 h used
    assert clock(state, RESOLUTION, sh(2026, 3, 20, 12)).state == "stopped"
    assert state.next_due(OFFICE) == (None, None)
    # Reopened Wednesday 17:00: 5 h left = Wed 17-18 + Thu 09-13.
    state.status_changed(OFFICE, sh(2026, 3, 18, 17), "in_progress")
    assert state.clocks[RESOLUTION].due_at == sh(2026, 3, 19, 13)


def test_breach_while_running_and_the_about_to_breach_window():
    state = started(sh(2026, 3, 16, 9))
    state.engineer_replied(OFFICE, sh(2026, 3, 16, 9, 5))
    due, warn = state.next_due(OFFICE)
    assert due == sh(2026, 3, 16, 17) and warn == sh(2026, 3, 16, 15)  # last quarter of 8 h = 2 h
    assert clock(state, RESOLUTION, sh(2026, 3, 16, 15, 30)).about_to_breach
    over = clock(state, RESOLUTION, sh(2026, 3, 17, 10))
    assert (over.state, over.remaining_seconds) == ("breached", -2 * H)


def test_calendar_hours_policy_counts_the_night():
    state = started(datetime(2026, 3, 16, 22, tzinfo=UTC), CALENDAR_HOURS)
    assert state.clocks[FIRST_RESPONSE].due_at == datetime(2026, 3, 16, 23, tzinfo=UTC)


def test_state_survives_json_round_trip():
    state = started(sh(2026, 3, 16, 9))
    state.status_changed(OFFICE, sh(2026, 3, 16, 10), "pending_customer")
    again = SLAState.from_json(state.to_json())
    assert again == state


# --- hypothesis: any sequence of status changes keeps elapsed + remaining = target ----------------------------

# Minute-aligned windows so a minute-by-minute oracle is exact; a lunch break and a Saturday morning add edges.
FUZZ_CAL = Calendar(
    timezone="Asia/Shanghai",
    hours={**{d: ((time(9), time(12)), (time(13), time(18))) for d in range(5)}, 5: ((time(10), time(12)),)},
    holidays=frozenset({date(2026, 3, 18)}),
)
FUZZ_TARGETS = {FIRST_RESPONSE: 90 * 60.0, NEXT_RESPONSE: 120 * 60.0, RESOLUTION: 20 * H}


def _working_minute(cal: Calendar, instant: datetime) -> bool:
    local = instant.astimezone(cal.zone)
    if local.date() in cal.holidays:
        return False
    return any(s <= local.time() < e for s, e in cal.hours.get(local.weekday(), ()))


def _oracle_minutes(cal: Calendar, intervals: list[tuple[datetime, datetime]]) -> int:
    total = 0
    for lo, hi in intervals:
        t = lo
        while t < hi:
            total += _working_minute(cal, t)
            t += timedelta(minutes=1)
    return total


@settings(max_examples=60, deadline=None)
@given(
    start_minute=st.integers(min_value=0, max_value=7 * 24 * 60),
    steps=st.lists(st.tuples(st.integers(min_value=1, max_value=36 * 60),
                             st.sampled_from(["in_progress", "pending_customer", "resolved"])),
                   max_size=8),
    tail=st.integers(min_value=0, max_value=24 * 60),
)
def test_any_status_sequence_keeps_elapsed_plus_remaining_equal_to_target(start_minute, steps, tail):
    t = sh(2026, 3, 14, 0) + timedelta(minutes=start_minute)
    state = started(t, FUZZ_CAL, FUZZ_TARGETS)
    state.engineer_replied(FUZZ_CAL, t)  # leave the resolution clock as the one under test
    counting: list[tuple[datetime, datetime]] = []
    since: datetime | None = t
    status = "in_progress"
    for gap, new in steps:
        t = t + timedelta(minutes=gap)
        if new == status:
            continue
        state.status_changed(FUZZ_CAL, t, new)
        should_count = new not in ("pending_customer", "resolved")
        if since is not None and not should_count:
            counting.append((since, t))
            since = None
        elif since is None and should_count:
            since = t
        status = new
    now = t + timedelta(minutes=tail)
    if since is not None:
        counting.append((since, now))
    view = clock(state, RESOLUTION, now, FUZZ_CAL)
    expected = _oracle_minutes(FUZZ_CAL, counting) * 60.0
    assert view.elapsed_seconds == expected
    assert view.elapsed_seconds + view.remaining_seconds == FUZZ_TARGETS[RESOLUTION]
    res = state.clocks[RESOLUTION]
    if res.counting and view.remaining_seconds > 0:
        # The stored due time is exactly the remaining working time away from now.
        assert business_seconds(FUZZ_CAL, now, res.due_at) == view.remaining_seconds
