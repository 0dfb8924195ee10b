"""The memoised ``since``/``until`` (queue rows) give exactly Django's ``timesince``/``timeuntil`` text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.timesince import timesince, timeuntil
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.desk.views import timefmt

BASE = datetime(2026, 1, 30, 23, 59, 30, tzinfo=UTC)  # near a month end: the month arithmetic's edge


@settings(max_examples=400, deadline=None)
@given(
    start=st.integers(min_value=-40 * 86400, max_value=40 * 86400),
    span_us=st.integers(min_value=-2 * 86400 * 10**6, max_value=35 * 86400 * 10**6),
    lang=st.sampled_from(["en", "zh-hans"]),
)
def test_same_text_as_django(start: int, span_us: int, lang: str) -> None:
    d = BASE + timedelta(seconds=start)
    now = d + timedelta(microseconds=span_us)
    with translation.override(lang):
        assert timefmt.since(d, now) == timesince(d, now)
        assert timefmt.until(now, d) == timeuntil(now, d)


def test_other_time_zones_and_long_spans_go_to_django() -> None:
    sh = ZoneInfo("Asia/Shanghai")
    d = datetime(2026, 3, 1, 9, 0, tzinfo=sh)
    now = datetime(2026, 3, 20, 18, 5, tzinfo=sh)
    assert timefmt.since(d, now) == timesince(d, now) == "2\xa0weeks, 5\xa0days"
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)
    assert timefmt.since(long_ago, BASE) == timesince(long_ago, BASE)
    with translation.override("zh-hans"):
        assert timefmt.since(BASE - timedelta(hours=3, minutes=2), BASE) == timesince(BASE - timedelta(hours=3, minutes=2), BASE)
