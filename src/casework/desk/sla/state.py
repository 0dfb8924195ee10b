"""A ticket's SLA state, from its event log: live (one event at a time, via ``event_written``) or recomputed.

Both drivers feed the same events to the same :class:`~casework.desk.sla.machine.SLAState` in the order they
were written (event id), so "recomputed equals live" is a property of the log, tested on the demo data. The
policy is chosen at the ticket's first ``routed`` event (the line is known from then on) with the ticket's
severity, organisation tier, routed line and product.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from casework.desk.sla import policies
from casework.desk.sla.clock import Calendar
from casework.desk.sla.machine import SLAState
from casework.desk.sla.models import TicketSLA
from casework.desk.tickets import events as event_log
from casework.desk.tickets.models import EventKind, Ticket, TicketEvent

# Events the SLA writes itself: informational markers for the history page, never inputs of the machine
# (pauses are driven by status changes; replaying a marker would count the pause twice).
OWN_MARKERS = {EventKind.SLA_PAUSED, EventKind.SLA_RESUMED}


def apply_event(state: SLAState, cal: Calendar | None, event: TicketEvent, ticket: Ticket) -> Calendar | None:
    """Feed one event to ``state``; returns the calendar to use from now on (set when the policy is chosen)."""
    kind = event.kind
    at = event.created_at
    if kind == EventKind.ROUTED and not state.started:
        facts = policies.PolicyFacts(
            severity=ticket.severity, org_tier=ticket.organisation.tier,
            line=(event.data or {}).get("line"), product=ticket.product.code,
        )
        policy = policies.select_policy(facts)
        state.started = True
        if policy is None:
            return cal
        cal = policy.business_calendar()
        state.start(cal=cal, at=at, targets=policies.targets_seconds(policy, ticket.severity), policy_id=policy.pk,
                    calendar_id=policy.calendar_id)
        return cal
    if not state.clocks or cal is None:
        return cal
    if kind == EventKind.REPLIED:
        state.engineer_replied(cal, at)
    elif kind == EventKind.CUSTOMER_REPLIED:
        state.customer_replied(cal, at)
    elif kind == EventKind.STATUS_CHANGED:
        state.status_changed(cal, at, (event.data or {}).get("to", ""))
    elif kind == EventKind.SLA_BREACHED:
        state.breach_recorded((event.data or {}).get("clock", ""))
    return cal


def derive(ticket: Ticket, log: Iterable[TicketEvent] | None = None) -> SLAState:
    """Recompute the SLA state of ``ticket`` from its whole event log."""
    state = SLAState()
    cal: Calendar | None = None
    rows = log if log is not None else ticket.events.order_by("id")
    for event in rows:
        if event.kind in OWN_MARKERS:
            continue
        cal = apply_event(state, cal, event, ticket)
    return state


def calendar_of(state: SLAState) -> Calendar:
    return policies.calendar_by_id(state.calendar_id)


def store(ticket: Ticket, state: SLAState, *, cal: Calendar | None = None, at: datetime | None = None,
          row: TicketSLA | None = None) -> TicketSLA:
    """Write ``state`` to the ticket's row; pass the ``row`` already locked by the caller to skip a lookup."""
    cal = cal or calendar_of(state)
    due, warn = state.next_due(cal)
    values = {
        "policy_id": state.policy_id, "state": state.to_json(), "due_at": due, "warn_at": warn,
        "check_at": state.next_unrecorded_due(), "paused": state.paused, "breached": state.any_breached(),
        "updated_at": at or timezone.now(),
    }
    if row is None:
        row, _created = TicketSLA.objects.update_or_create(ticket=ticket, defaults=values)
        return row
    for name, value in values.items():
        setattr(row, name, value)
    row.save(update_fields=list(values))
    return row


def load(ticket: Ticket) -> SLAState:
    row = TicketSLA.objects.filter(ticket=ticket).first()
    return SLAState.from_json(row.state if row else None)


def recompute(ticket: Ticket) -> TicketSLA:
    """Rebuild and store the state from the log (after a policy/calendar edit, or for old tickets)."""
    with transaction.atomic():
        state = derive(ticket)
        return store(ticket, state)


def on_event(event: TicketEvent) -> None:
    """The live driver: apply one new event to the stored state (called inside the event's transaction)."""
    if event.kind in OWN_MARKERS or event.kind in (EventKind.RATED,):
        return
    ticket = event.ticket
    row = TicketSLA.objects.select_for_update().filter(ticket=ticket).first()
    if row is None and event.kind != EventKind.ROUTED:
        return  # a ticket from before the SLA existed: ``recompute`` adopts it
    state = SLAState.from_json(row.state if row else None)
    if state.started and not state.clocks:
        return  # no policy matched this ticket: nothing to measure
    cal = calendar_of(state) if state.clocks else None
    was_paused, before = state.paused, state.running_names()
    cal = apply_event(state, cal, event, ticket)
    store(ticket, state, cal=cal, at=event.created_at, row=row)
    # Markers for the history page, so a reader sees when and which clocks stopped for the customer.
    if state.paused and not was_paused and before:
        event_log.sla_paused(ticket=ticket, at=event.created_at, clocks=before)
    elif was_paused and not state.paused and state.running_names():
        event_log.sla_resumed(ticket=ticket, at=event.created_at, clocks=state.running_names())
