"""Desk notifications: who hears about a breach or a bad rating (the assignee and the line's lead)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casework.desk.sla.models import Notification
from casework.desk.tickets.models import Ticket


def recipients(ticket: Ticket) -> list[Any]:
    people: list[Any] = []
    if ticket.assignee_id is not None:
        people.append(ticket.assignee)
    lead = ticket.line.lead if ticket.line_id is not None else None
    if lead is not None and all(p.pk != lead.pk for p in people):
        people.append(lead)
    return people


def notify(*, ticket: Ticket, kind: str, at: datetime, data: dict[str, Any], leads_only: bool = False) -> int:
    people = recipients(ticket)
    if leads_only:
        lead_id = ticket.line.lead_id if ticket.line_id is not None else None
        people = [p for p in people if p.pk == lead_id]
    Notification.objects.bulk_create(
        [Notification(user=p, ticket=ticket, kind=kind, data=data, created_at=at) for p in people]
    )
    return len(people)
