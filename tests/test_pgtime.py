"""On PostgreSQL the desk reads ``timestamptz`` with psycopg's C loader (``desk/pgtime.py``), and gets exactly what
Django's own loader gives: same values, same ``tzinfo``, same errors, over the whole range of years, with and without
microseconds, whatever offset the value was written with. Runs in the PostgreSQL pass of ``make test``."""

from __future__ import annotations

import datetime
import random

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.utils import timezone

from casework.desk import pgtime
from casework.desk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def pg() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(reason="runs in the PostgreSQL pass of `make test`: a PostgreSQL loader")


def _values() -> list[str]:
    rng = random.Random(7)
    values = ["0001-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00", "1970-01-01 00:00:00+00",
              "2024-02-29 12:00:00.5+00", "2024-03-10 02:30:00-05", "2024-10-27 01:30:00+01",
              "2000-01-01 00:00:00.000001+14", "1900-06-30 23:59:59-12:30", "2026-11-27 14:00:00+05:45"]
    for _ in range(3000):
        # Years 2-9998, so that no offset takes a value out of Python's range.
        at = datetime.datetime(2, 1, 1) + datetime.timedelta(microseconds=rng.randrange(315_474_825_600_000_000))
        micro = "" if rng.random() < 0.3 else f".{at.microsecond:06d}".rstrip("0")
        offset = rng.choice(["+00", "+08", "-03:30", "+05:45", "-11"])
        values.append(f"{at.year:04d}-{at:%m-%d %H:%M:%S}{micro}{offset}")
    return values


def _read(values: list[str], *, django_loader: bool) -> list[datetime.datetime]:
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute("SELECT v::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
                       [values])
        return [row[0] for row in cursor.fetchall()]


def test_the_connection_reads_timestamps_in_c(pg: None) -> None:
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text format
    assert loader is pgtime.loader_class()
    assert loader.timezone is datetime.UTC
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        assert cursor.cursor._tx.get_loader(1184, 0).load.__module__ != "psycopg.types.datetime"


def test_c_loader_values_equal_djangos(pg: None) -> None:
    values = _values()
    fast, reference = _read(values, django_loader=False), _read(values, django_loader=True)
    assert len(fast) == len(values) == len(reference)
    for got, want, text in zip(fast, reference, values, strict=True):
        assert got == want and got.tzinfo is want.tzinfo is datetime.UTC, text
        assert got.isoformat() == want.isoformat(), text


def test_models_read_aware_utc_datetimes(pg: None) -> None:
    from casework.desk.demo import DemoSpec, load_demo

    load_demo(DemoSpec(tickets=5, weeks=1, seed=3), now=timezone.now())
    for ticket in Ticket.objects.all():
        assert ticket.created_at.tzinfo is datetime.UTC
        assert ticket.created_at <= timezone.now()


def test_out_of_range_values_fail_alike(pg: None) -> None:
    for text in ("infinity", "-infinity"):
        errors = []
        for django_loader in (False, True):
            with pytest.raises(Exception) as info:
                _read([text], django_loader=django_loader)
            errors.append(type(info.value))
        assert errors[0] is errors[1], text
