"""The periodic breach check: Celery beat when a broker is configured, an in-process thread otherwise.

A breach is recorded once per clock cycle: the ``SLA_BREACHED`` event goes through the event log like every other
change (so the live state marks the clock as recorded and recomputation agrees), and the assignee and the
line's lead get a desk notification.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from casework.desk.sla import notify, state
from casework.desk.sla.machine import SLAState
from casework.desk.sla.models import Notification, TicketSLA
from casework.desk.tickets import events
from casework.desk.tickets.models import OPEN_STATUSES, Ticket

log = logging.getLogger(__name__)

CHECK_SECONDS = float(getattr(settings, "CASEWORK_SLA_CHECK_SECONDS", 60))
BATCH = 500


def check_breaches(*, now: datetime | None = None) -> int:
    """Record every clock that ran out before ``now`` and is not recorded yet; returns how many were recorded."""
    now = now or timezone.now()
    recorded = 0
    while True:
        ids = list(TicketSLA.objects.filter(check_at__lt=now).order_by("check_at")
                   .values_list("ticket_id", flat=True)[:BATCH])
        if not ids:
            return recorded
        for ticket_id in ids:
            recorded += _record_ticket(ticket_id, now)


def _record_ticket(ticket_id: int, now: datetime) -> int:
    with transaction.atomic():
        # Row lock: two schedulers (several gunicorn workers, or beat plus a manual run) record a breach once.
        row = TicketSLA.objects.select_for_update().filter(pk=ticket_id, check_at__lt=now).first()
        if row is None:
            return 0
        ticket = row.ticket
        sla = SLAState.from_json(row.state)
        due = [c for c in sla.clocks.values()
               if c.counting and not c.breach_recorded and c.due_at is not None and c.due_at < now]
        for clock in due:
            events.sla_breached(ticket=ticket, at=now, clock=clock.name, due=clock.due_at)
            notify.notify(ticket=ticket, kind=Notification.Kind.BREACH, at=now,
                          data={"clock": clock.name, "due": clock.due_at.isoformat()})
        if not due:  # the stored check time was stale (e.g. calendar edited): rebuild it
            state.recompute(ticket)
        return len(due)


def reapply_open_tickets() -> int:
    """After a policy or calendar edit: rebuild the SLA state of every open ticket from its log with the new
    rules (closed history keeps what it was measured with). In scale-out mode a worker does it."""
    if settings.CELERY_BROKER_URL:
        reapply_task.delay()
        return Ticket.objects.filter(status__in=OPEN_STATUSES).count()
    return _reapply()


def _reapply() -> int:
    count = 0
    qs = Ticket.objects.filter(status__in=OPEN_STATUSES).select_related("organisation", "product")
    for ticket in qs.iterator(chunk_size=500):
        state.recompute(ticket)
        count += 1
    return count


@shared_task(name="casework.desk.sla.reapply_open_tickets")
def reapply_task() -> int:
    return _reapply()


@shared_task(name="casework.desk.sla.check_breaches")
def check_breaches_task() -> int:
    return check_breaches()


# --- the embedded scheduler ---------------------------------------------------------------------------------

_started = threading.Event()


def _loop(interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            close_old_connections()
            count = check_breaches()
            if count:
                log.info("SLA: recorded %d breach(es)", count)
        except Exception:  # a bad run must not kill the scheduler; the next run retries
            log.exception("SLA breach check failed")
        finally:
            close_old_connections()


def start_embedded_scheduler(*, interval: float | None = None) -> threading.Event | None:
    """Start the breach check in a daemon thread of this process (once); returns an event that stops it."""
    if _started.is_set():
        return None
    _started.set()
    stop = threading.Event()
    thread = threading.Thread(target=_loop, args=(interval or CHECK_SECONDS, stop), name="casework-sla-scheduler",
                              daemon=True)
    thread.start()
    return stop
