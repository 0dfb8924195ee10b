"""One typed function per ticket event kind (like Saleor's ``order/events.py``).

Only ``tickets/services.py`` (and the SLA and rating modules) call these, inside the transaction that makes
the change, so the log can never disagree with the ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from casework.desk.signals import event_written
from casework.desk.team.models import Line
from casework.desk.tickets.models import EventKind, Ticket, TicketEvent


def _write(
    *,
    ticket: Ticket,
    kind: EventKind,
    at: datetime,
    actor: AbstractBaseUser | None,
    data: dict[str, Any] | None = None,
    line: Line | None = None,
    tier: str = "",
    engineer: AbstractBaseUser | None = None,
) -> TicketEvent:
    # Ids, not objects: reading ``ticket.line`` here would cost a query per event on a freshly loaded ticket.
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        line_id=line.pk if line is not None else ticket.line_id,
        tier=tier or ticket.tier,
        engineer=engineer,
        data=data or {},
        created_at=at,
    )
    event_written.send(sender=TicketEvent, event=event)
    return event


def created(*, ticket: Ticket, actor: AbstractBaseUser | None, at: datetime) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.CREATED, at=at, actor=actor,
                  data={"product": ticket.product.code, "severity": ticket.severity, "subject": ticket.subject})


def routed(
    *, ticket: Ticket, at: datetime, rule: str, version: int | None, line: Line, tags: list[str], fallback: bool
) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.ROUTED, at=at, actor=None, line=line,
                  data={"rule": rule, "version": version, "line": line.code, "tags": tags, "fallback": fallback})


def assigned(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser | None, engineer: AbstractBaseUser,
             how: str) -> TicketEvent:
    """``how`` is ``auto`` (the assignment algorithm) or ``manual`` (a lead assigned)."""
    return _write(ticket=ticket, kind=EventKind.ASSIGNED, at=at, actor=actor, engineer=engineer,
                  data={"engineer": engineer.get_username(), "how": how})


def claimed(*, ticket: Ticket, at: datetime, engineer: AbstractBaseUser) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.CLAIMED, at=at, actor=engineer, engineer=engineer,
                  data={"engineer": engineer.get_username()})


def escalated(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser, from_tier: str, to_tier: str,
              summary_id: int) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.ESCALATED, at=at, actor=actor, tier=to_tier, engineer=actor,
                  data={"from": from_tier, "to": to_tier, "summary": summary_id})


def returned(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser, from_tier: str, to_tier: str,
             reason: str, to_engineer: AbstractBaseUser | None) -> TicketEvent:
    """A bounce: counted against ``actor`` (who sent it down) and the ticket's line."""
    return _write(ticket=ticket, kind=EventKind.RETURNED, at=at, actor=actor, tier=from_tier, engineer=actor,
                  data={"from": from_tier, "to": to_tier, "reason": reason,
                        "to_engineer": to_engineer.get_username() if to_engineer else None})


def reassigned(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser, from_line: Line | None, to_line: Line,
               reason: str) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.REASSIGNED, at=at, actor=actor, line=to_line, engineer=actor,
                  data={"from": from_line.code if from_line else None, "to": to_line.code, "reason": reason})


def status_changed(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser | None, old: str, new: str,
                   reason: str = "") -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.STATUS_CHANGED, at=at, actor=actor,
                  data={"from": old, "to": new, **({"reason": reason} if reason else {})})


def replied(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser, message_id: int) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.REPLIED, at=at, actor=actor, engineer=actor,
                  data={"message": message_id})


def noted(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser, message_id: int) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.NOTED, at=at, actor=actor, engineer=actor,
                  data={"message": message_id})


def customer_replied(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser | None,
                     message_id: int) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.CUSTOMER_REPLIED, at=at, actor=actor,
                  data={"message": message_id})


def attached(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser | None, name: str, size: int,
             internal: bool) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.ATTACHED, at=at, actor=actor,
                  data={"name": name, "size": size, "internal": internal})


def sla_paused(*, ticket: Ticket, at: datetime, clocks: list[str]) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.SLA_PAUSED, at=at, actor=None, data={"clocks": clocks})


def sla_resumed(*, ticket: Ticket, at: datetime, clocks: list[str]) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.SLA_RESUMED, at=at, actor=None, data={"clocks": clocks})


def sla_breached(*, ticket: Ticket, at: datetime, clock: str, due: datetime) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.SLA_BREACHED, at=at, actor=None, engineer=ticket.assignee,
                  data={"clock": clock, "due": due.isoformat()})


def rated(*, ticket: Ticket, at: datetime, actor: AbstractBaseUser | None, rating: str,
          comment: str) -> TicketEvent:
    return _write(ticket=ticket, kind=EventKind.RATED, at=at, actor=actor, engineer=ticket.assignee,
                  data={"rating": rating, "comment": comment})
