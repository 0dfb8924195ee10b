"""Django's ``timesince`` / ``timeuntil`` texts ("3 days, 4 hours"), memoised for the spans a queue shows.

A queue page writes two of these per row; each builds lazily translated, plural-aware strings, which was an eighth
of the queue page's CPU. For a span shorter than 28 days between two UTC datetimes Django's result depends only on
the whole minutes of the span (no month or year can be counted, every other unit is a whole number of minutes)
and on the active language, so the text is computed by Django once per (language, direction, minutes) and reused.
Anything else — longer spans, other time zones — is passed straight to Django.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils.timesince import timesince, timeuntil
from django.utils.translation import get_language

_MAX = timedelta(days=28)
_CACHE_MAX = 20_000
_cache: dict[tuple[str | None, bool, int], str] = {}


def _utc(value: datetime) -> bool:
    return value.tzinfo is UTC or (value.tzinfo is not None and value.utcoffset() == timedelta(0)
                                   and getattr(value.tzinfo, "key", "UTC") == "UTC")


def _cached(span: timedelta, *, until: bool, d: datetime, now: datetime, lang: str | None) -> str:
    minutes = max(int(span.total_seconds() // 60), 0)
    key = (lang or get_language(), until, minutes)
    text = _cache.get(key)
    if text is None:
        text = timeuntil(d, now) if until else timesince(d, now)
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = text
    return text


def since(d: datetime, now: datetime, *, lang: str | None = None) -> str:
    """``timesince(d, now)``; ``lang``: the active language (``get_language()``) when the caller has it."""
    span = now - d
    if span < _MAX and _utc(d) and _utc(now):
        return _cached(span, until=False, d=d, now=now, lang=lang)
    return timesince(d, now)


def until(d: datetime, now: datetime, *, lang: str | None = None) -> str:
    """``timeuntil(d, now)``; ``lang`` as for :func:`since`."""
    span = d - now
    if span < _MAX and _utc(d) and _utc(now):
        return _cached(span, until=True, d=d, now=now, lang=lang)
    return timeuntil(d, now)
