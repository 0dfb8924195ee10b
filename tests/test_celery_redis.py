"""Scale-out mode for real: a Celery worker process on the machine's Redis, against the PostgreSQL test database,
runs the SLA breach check that beat schedules and records the breaches in the desk.

It needs the worker and the test to share one database, so it runs in the PostgreSQL pass of `make test` (the
in-memory SQLite test database of the first pass cannot be shared with another process).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from celery import Celery
from django.db import connection

from casework.desk.sla.policies import ensure_default_policies
from casework.desk.tickets import services as ticket_services
from casework.desk.tickets.models import EventKind
from desk_fixtures import make_world
from services import REDIS_URL, require_port

pytestmark = pytest.mark.django_db(transaction=True)

BROKER = REDIS_URL.rsplit("/", 1)[0] + "/14"  # a database of its own, flushed by the test


def _postgres_url() -> str:
    s = connection.settings_dict
    return f"postgresql://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker():
    if connection.vendor != "postgresql":
        pytest.skip(reason="runs in the PostgreSQL pass of `make test`: the worker must share the test database")
    require_port("Redis", "127.0.0.1", 6379)
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    env = {**os.environ, "DATABASE_URL": _postgres_url(), "CELERY_BROKER_URL": BROKER,
           "CELERY_RESULT_BACKEND": BROKER}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "casework.desk.celery", "worker", "--pool", "solo",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_worker_on_redis_records_breaches(worker):
    ensure_default_policies()
    world = make_world()
    # A basic organisation's P3 opened Monday 10:00 Shanghai: first response due 14:00, long past by now.
    ticket = ticket_services.create_ticket(
        organisation=world.org_b, contact=world.customer_b, product="oss", subject="PutObject 403",
        description="RequestId 5F1A", at=datetime(2026, 3, 16, 10, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    client = Celery(broker=BROKER, backend=BROKER)
    result = client.send_task("casework.desk.sla.check_breaches")
    try:
        recorded = result.get(timeout=120)
    except Exception:
        worker.terminate()
        raise AssertionError("the worker did not answer:\n" + (worker.communicate(timeout=20)[0] or "")) from None
    assert recorded == 2
    clocks = set(ticket.events.filter(kind=EventKind.SLA_BREACHED).values_list("data__clock", flat=True))
    assert clocks == {"first_response", "resolution"}
