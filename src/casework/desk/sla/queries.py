"""SLA columns for ticket querysets: the queue sorts by time left and flags what is about to breach.

Everything is plain indexed SQL on the ``desk_ticketsla`` row the live receiver keeps current, so a queue page
costs the same at a million tickets (see ``bench/RESULTS.md``). Annotations added by :func:`annotate_sla`:

``sla_due_at``          earliest due time of a running clock (NULL: nothing running — paused, stopped, no policy)
``sla_warn_at``         when that clock enters its last quarter
``sla_paused``          waiting on the customer
``sla_breached``        a clock missed its target (recorded by the job) or is overdue right now
``sla_about_to_breach`` running, not yet overdue, in its last quarter

Templates can show the time left with Django's own filter: ``{{ t.sla_due_at|timeuntil }}``.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import BooleanField, Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from casework.desk.tickets.models import Ticket


def annotate_sla(qs: QuerySet[Ticket], *, now: datetime | None = None) -> QuerySet[Ticket]:
    now = now or timezone.now()
    return qs.annotate(
        sla_due_at=F("sla__due_at"),
        sla_warn_at=F("sla__warn_at"),
        sla_paused=Case(When(sla__paused=True, then=Value(True)), default=Value(False), output_field=BooleanField()),
        sla_breached=Case(
            When(Q(sla__breached=True) | Q(sla__due_at__lt=now), then=Value(True)),
            default=Value(False), output_field=BooleanField(),
        ),
        sla_about_to_breach=Case(
            When(Q(sla__warn_at__lte=now) & Q(sla__due_at__gte=now), then=Value(True)),
            default=Value(False), output_field=BooleanField(),
        ),
    )


def about_to_breach(qs: QuerySet[Ticket], *, now: datetime | None = None) -> QuerySet[Ticket]:
    """Running clocks in their last quarter or already overdue; sort by ``sla_due_at`` (soonest first)."""
    now = now or timezone.now()
    if "sla_due_at" not in qs.query.annotations:
        qs = annotate_sla(qs, now=now)
    # warn_at is set exactly when a clock runs (with due_at): one condition, so the planner estimates it right.
    return qs.filter(sla__warn_at__lte=now)


def order_by_time_left(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Soonest due first; tickets with no running clock last."""
    if "sla_due_at" not in qs.query.annotations:
        qs = annotate_sla(qs)
    return qs.order_by(F("sla_due_at").asc(nulls_last=True), "id")
