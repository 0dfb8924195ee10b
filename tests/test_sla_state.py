"""SLA state through the real ticket services: policy choice, pauses, reopening, the breach job, the queue
annotations — and the live state equals the state recomputed from the event log (on the demo data too)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from casework.desk.sla import jobs, queries, state
from casework.desk.sla.models import BusinessCalendar, Notification, SLAPolicy, TicketSLA
from casework.desk.sla.policies import ensure_default_policies
from casework.desk.team.models import Line
from casework.desk.tickets import services
from casework.desk.tickets.models import EventKind, Status, Ticket
from desk_fixtures import make_world

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
MON_10 = datetime(2026, 3, 16, 10, tzinfo=SH)  # Monday 10:00 in the default calendar's zone


@pytest.fixture
def world():
    ensure_default_policies()  # a transactional test before us may have flushed the migration's defaults
    w = make_world()
    Line.objects.filter(code__in=["storage", "network"]).update(lead=w.lead)
    return w


def open_ticket(world, *, org=None, severity="P3", product="oss", at=MON_10) -> Ticket:
    org = org or world.org_b
    contact = world.customer_a if org == world.org_a else world.customer_b
    return services.create_ticket(organisation=org, contact=contact, product=product, subject="PutObject 403",
                                  description="RequestId 5F1A", severity=severity, at=at)


def live(ticket: Ticket) -> TicketSLA:
    return TicketSLA.objects.get(ticket=ticket)


def assert_live_equals_recomputed(ticket: Ticket) -> None:
    row = live(ticket)
    derived = state.derive(ticket)
    assert row.state == derived.to_json(), ticket.ref
    due, warn = derived.next_due(state.calendar_of(derived))
    assert (row.due_at, row.warn_at, row.paused, row.breached) == (due, warn, derived.paused, derived.any_breached())


def test_standard_policy_counts_office_hours(world):
    ticket = open_ticket(world)  # basic organisation, P3: "Standard (office hours)", first response 4 h
    row = live(ticket)
    assert row.policy.name == "Standard (office hours)"
    assert row.due_at == datetime(2026, 3, 16, 14, tzinfo=SH)
    # Opened Friday 17:00: 1 h on Friday, 3 h on Monday.
    late = open_ticket(world, at=datetime(2026, 3, 13, 17, tzinfo=SH))
    assert live(late).due_at == datetime(2026, 3, 16, 12, tzinfo=SH)


def test_enterprise_p1_runs_around_the_clock(world):
    ticket = open_ticket(world, org=world.org_a, severity="P1", at=datetime(2026, 3, 14, 3, tzinfo=SH))  # Saturday
    row = live(ticket)
    assert row.policy.name.startswith("Enterprise urgent")
    assert row.due_at == datetime(2026, 3, 14, 3, 15, tzinfo=SH)


def test_first_matching_policy_in_order_wins(world):
    cal = BusinessCalendar.objects.create(name="UTC weekdays", timezone="UTC",
                                          hours={str(d): [["08:00", "16:00"]] for d in range(5)})
    SLAPolicy.objects.create(name="Storage fast", position=1, lines=["storage"], severities=["P3"],
                             targets={"P3": {"first_response": 30}}, calendar=cal)
    storage = open_ticket(world, product="oss")  # routed to storage
    network = open_ticket(world, product="slb")  # routed to network: falls through to the standard policy
    assert live(storage).policy.name == "Storage fast"
    # 10:00 in Shanghai is 02:00 UTC, before that calendar's day starts: 08:00 UTC + 30 min.
    assert live(storage).due_at == datetime(2026, 3, 16, 8, 30, tzinfo=ZoneInfo("UTC"))
    assert live(network).policy.name == "Standard (office hours)"


def test_pending_customer_pauses_then_resumes_with_time_left_and_reopening(world):
    ticket = open_ticket(world)
    services.claim(ticket=ticket, engineer=world.t0_storage, at=MON_10 + timedelta(minutes=5))
    ticket.refresh_from_db()
    services.reply(ticket=ticket, actor=world.t0_storage, body="Please send the request id.", pending_customer=True,
                   at=MON_10 + timedelta(hours=1))  # resolution clock: 1 h used of 45 h
    ticket.refresh_from_db()
    row = live(ticket)
    assert row.paused and row.due_at is None
    paused = ticket.events.get(kind=EventKind.SLA_PAUSED)
    assert paused.data == {"clocks": ["resolution"]}
    assert_live_equals_recomputed(ticket)

    # The customer answers on Thursday 15:00: the clock resumes with 44 h left; next response (8 h) restarts.
    answer_at = datetime(2026, 3, 19, 15, tzinfo=SH)
    services.reply(ticket=ticket, actor=world.customer_b, body="RequestId 5F1A-22B0", at=answer_at)
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    resumed = ticket.events.get(kind=EventKind.SLA_RESUMED)
    assert set(resumed.data["clocks"]) == {"next_response", "resolution"}
    row = live(ticket)
    assert not row.paused
    assert row.due_at == datetime(2026, 3, 20, 14, tzinfo=SH)  # next response: Thu 15-18 (3 h) + Fri 09-14 (5 h)
    clocks = {c.name: c for c in state.load(ticket).view(state.calendar_of(state.load(ticket)), answer_at)}
    assert clocks["resolution"].elapsed_seconds == 3600 and clocks["resolution"].state == "running"

    services.resolve(ticket=ticket, actor=world.t0_storage, note="Bucket policy fixed.",
                     at=answer_at + timedelta(hours=2))
    ticket.refresh_from_db()
    row = live(ticket)
    assert row.due_at is None and not row.breached
    assert_live_equals_recomputed(ticket)

    services.set_status(ticket=ticket, actor=world.t0_storage, status=Status.IN_PROGRESS,
                        at=answer_at + timedelta(days=1))  # reopened Friday 15:00
    ticket.refresh_from_db()
    view = {c.name: c for c in state.load(ticket).view(state.calendar_of(state.load(ticket)),
                                                      answer_at + timedelta(days=1))}
    assert view["resolution"].state == "running"
    assert view["resolution"].elapsed_seconds == 3 * 3600  # 1 h before the pause, 2 h Thursday afternoon
    assert_live_equals_recomputed(ticket)


def test_breach_job_records_once_and_notifies_assignee_and_lead(world):
    ticket = open_ticket(world)
    services.claim(ticket=ticket, engineer=world.t0_storage, at=MON_10 + timedelta(minutes=1))
    later = datetime(2026, 3, 16, 15, tzinfo=SH)  # first response was due 14:00
    assert jobs.check_breaches(now=later) == 1
    breach = ticket.events.get(kind=EventKind.SLA_BREACHED)
    assert breach.data["clock"] == "first_response"
    assert breach.engineer == world.t0_storage
    who = set(Notification.objects.filter(ticket=ticket, kind="breach").values_list("user__username", flat=True))
    assert who == {"t0_storage", "lead"}
    assert live(ticket).breached
    assert jobs.check_breaches(now=later + timedelta(hours=1)) == 0  # recorded once per cycle
    assert_live_equals_recomputed(ticket)
    # Days later the resolution clock runs out too: a second, separate breach.
    assert jobs.check_breaches(now=datetime(2026, 3, 25, 12, tzinfo=SH)) == 1
    assert ticket.events.filter(kind=EventKind.SLA_BREACHED).count() == 2
    assert_live_equals_recomputed(ticket)


def test_queue_annotations_sort_and_flag(world):
    soon = open_ticket(world, at=MON_10)  # due 14:00
    later = open_ticket(world, at=MON_10 + timedelta(hours=2))  # due 16:00
    paused = open_ticket(world, at=MON_10)
    services.claim(ticket=paused, engineer=world.t0_storage, at=MON_10)
    paused.refresh_from_db()
    services.reply(ticket=paused, actor=world.t0_storage, body="Need logs", pending_customer=True, at=MON_10)
    now = datetime(2026, 3, 16, 13, 30, tzinfo=SH)  # soon is in its last hour (quarter of 4 h), later is not
    qs = queries.order_by_time_left(queries.annotate_sla(Ticket.objects.all(), now=now))
    rows = [(t.ref, t.sla_about_to_breach, t.sla_breached, t.sla_paused) for t in qs]
    assert rows == [(soon.ref, True, False, False), (later.ref, False, False, False),
                    (paused.ref, False, False, True)]
    flagged = list(queries.about_to_breach(Ticket.objects.all(), now=now).values_list("ref", flat=True))
    assert flagged == [soon.ref]
    overdue = queries.annotate_sla(Ticket.objects.filter(pk=soon.pk), now=now + timedelta(hours=1)).get()
    assert overdue.sla_breached


@pytest.mark.django_db
def test_recomputed_state_equals_live_state_on_the_demo_data():
    from casework.desk.demo import DemoSpec, load_demo

    ensure_default_policies()
    # The lead's demo generator, smaller than `casework desk demo` (2,000 tickets) to keep the suite fast;
    # every ticket is played through the services, so the live receiver saw every event.
    now = datetime(2026, 3, 20, 12, tzinfo=SH)
    load_demo(DemoSpec(tickets=250, weeks=3, seed=11), now=now)
    jobs.check_breaches(now=now)  # breach events are part of the log too
    tickets = list(Ticket.objects.select_related("organisation", "product"))
    assert len(tickets) == 250
    assert TicketSLA.objects.count() == 250
    for ticket in tickets:
        assert_live_equals_recomputed(ticket)
    kinds = set(Ticket.objects.values_list("events__kind", flat=True))
    assert {EventKind.SLA_PAUSED, EventKind.SLA_RESUMED, EventKind.SLA_BREACHED} <= kinds


@pytest.mark.django_db(transaction=True)
def test_embedded_scheduler_records_breaches_in_the_background():
    import time as _time

    from django.db import OperationalError

    from casework.desk.team.models import Organisation
    from casework.desk.team.reference import ensure_reference_data

    ensure_reference_data()
    ensure_default_policies()
    org = Organisation.objects.create(name="Late Org")
    ticket = services.create_ticket(organisation=org, contact=None, product="oss", subject="No answer",
                                    description="waiting", at=datetime(2026, 1, 5, 10, tzinfo=SH))
    jobs._started.clear()  # the scheduler starts once per process; the test owns this process
    stop = jobs.start_embedded_scheduler(interval=0.05)
    try:
        deadline = _time.monotonic() + 20
        while _time.monotonic() < deadline:
            try:
                if ticket.events.filter(kind=EventKind.SLA_BREACHED).count() == 2:
                    break
            except OperationalError:  # SQLite's shared-cache test database locks tables while the job writes
                pass
            _time.sleep(0.05)
    finally:
        stop.set()
        jobs._started.clear()
    assert set(ticket.events.filter(kind=EventKind.SLA_BREACHED).values_list("data__clock", flat=True)) == \
        {"first_response", "resolution"}


def test_celery_beat_schedules_the_breach_task(world):
    from casework.desk.celery import app

    entry = app.conf.beat_schedule["sla-breach-check"]
    assert entry["task"] == "casework.desk.sla.check_breaches"
    assert entry["task"] in app.tasks  # registered through ``imports``
    open_ticket(world, at=MON_10)
    # Run the registered task the way a worker would (in-process here; the broker is only transport).
    assert app.tasks[entry["task"]].apply().get() == 2
