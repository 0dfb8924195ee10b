"""The one place that changes a ticket. Every function validates, changes, and writes its event atomically.

Pages and the API call these after ``casework.desk.access.permissions`` allowed the action; the functions
re-check the business rules themselves (tier order, required reasons and summaries) so no caller can skip them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.desk.errors import DeskError
from casework.desk.routing import assignment
from casework.desk.routing.dispatch import dispatch
from casework.desk.team.models import TIER_ORDER, Line, Organisation, Product, Profile, Tier
from casework.desk.tickets import events
from casework.desk.tickets.models import OPEN_STATUSES, CaseSummary, Message, Severity, Status, Ticket

User = get_user_model()

# Letters and digits that cannot be misread over the phone (no 0/O, 1/I).
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MIN_REASON_CHARS = 10


def new_ref() -> str:
    return "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


# --- creation and routing -------------------------------------------------------------------------------


def create_ticket(
    *,
    organisation: Organisation,
    contact: Any | None,
    product: str,
    subject: str,
    description: str,
    severity: str = Severity.P3,
    category: str = "",
    identifiers: dict[str, Any] | None = None,
    language: str = "en",
    actor: Any | None = None,
    at: datetime | None = None,
    auto_assign: bool = True,
) -> Ticket:
    """Validate, store, route and (if someone is free) assign a new ticket."""
    errors: dict[str, list[str]] = {}
    product_obj = Product.objects.filter(code=product).select_related("default_line").first()
    if product_obj is None:
        errors["product"] = [_("Unknown product: %(code)s") % {"code": product}]
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = [_("A subject is required.")]
    elif len(subject) > 200:
        errors["subject"] = [_("The subject is longer than 200 characters.")]
    description = description or ""
    limit = settings.CASEWORK_MAX_DESCRIPTION_CHARS
    if not description.strip():
        errors["description"] = [_("A description is required.")]
    elif len(description) > limit:
        errors["description"] = [
            _("The description is longer than %(limit)d characters; attach long logs as files instead.")
            % {"limit": limit}
        ]
    if severity not in Severity.values:
        errors["severity"] = [_("Severity must be one of P1, P2, P3, P4.")]
    if language not in ("en", "zh"):
        errors["language"] = [_("Language must be en or zh.")]
    if identifiers is not None and not isinstance(identifiers, dict):
        errors["identifiers"] = [_("Identifiers must be an object.")]
    if errors:
        raise DeskError(errors)
    assert product_obj is not None
    at = _now(at)
    with transaction.atomic():
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    ticket = Ticket.objects.create(
                        ref=new_ref(),
                        organisation=organisation,
                        contact=contact,
                        product=product_obj,
                        category=category.strip(),
                        severity=severity,
                        subject=subject,
                        description=description,
                        identifiers=identifiers or {},
                        language=language,
                        created_at=at,
                        updated_at=at,
                    )
                break
            except IntegrityError:  # a ref collision: 32^8 makes this rare, retrying makes it harmless
                continue
        else:  # pragma: no cover - five collisions in a row
            raise DeskError(_("Could not allocate a ticket id; try again."))
        events.created(ticket=ticket, actor=actor or contact, at=at)
        route(ticket=ticket, at=at)
        if auto_assign:
            auto_assign_ticket(ticket=ticket, at=at)
    return ticket


def route(*, ticket: Ticket, at: datetime | None = None) -> Ticket:
    """Apply the published rule set; no match sends the ticket to the fallback line."""
    at = _now(at)
    version, decision = dispatch(ticket)
    line = None
    if decision.line is not None:
        line = Line.objects.filter(code=decision.line).first()
    if line is None:
        line = Line.objects.get(is_fallback=True)
    ticket.line = line
    ticket.routed_rule = decision.rule
    ticket.rules_version = version
    if decision.severity:
        ticket.severity = decision.severity
    if decision.tags:
        ticket.tags = sorted(set(ticket.tags) | set(decision.tags))
    ticket.updated_at = at
    ticket.save(update_fields=["line", "routed_rule", "rules_version", "severity", "tags", "updated_at"])
    events.routed(
        ticket=ticket, at=at, rule=decision.rule, version=version, line=line, tags=list(decision.tags),
        fallback=decision.fallback or line.is_fallback,
    )
    return ticket


def auto_assign_ticket(*, ticket: Ticket, at: datetime | None = None) -> Any | None:
    """Give the ticket to the best free engineer of its tier in its line, if any (else it waits in the queue)."""
    at = _now(at)
    if ticket.assignee_id is not None or ticket.line is None:
        return None
    engineer = assignment.pick_engineer(line=ticket.line, product=ticket.product, tier=ticket.tier, at=at)
    if engineer is None:
        return None
    _set_assignee(ticket=ticket, engineer=engineer, at=at, actor=None, how="auto")
    return engineer


def _note_assignment(engineer: Any, at: datetime) -> None:
    """Remember when the engineer last got a ticket: the round-robin tie-break of ``routing.assignment``."""
    Profile.objects.filter(user=engineer).update(last_assigned_at=at)


def _set_assignee(*, ticket: Ticket, engineer: Any, at: datetime, actor: Any | None, how: str) -> None:
    _note_assignment(engineer, at)
    old = ticket.status
    ticket.assignee = engineer
    if ticket.status in (Status.NEW, Status.ESCALATED):
        ticket.status = Status.ASSIGNED
    ticket.updated_at = at
    ticket.save(update_fields=["assignee", "status", "updated_at"])
    events.assigned(ticket=ticket, at=at, actor=actor, engineer=engineer, how=how)
    if old != ticket.status:
        events.status_changed(ticket=ticket, at=at, actor=actor, old=old, new=ticket.status)


def assign(*, ticket: Ticket, engineer: Any, actor: Any, at: datetime | None = None) -> Ticket:
    """A lead gives the ticket to a named engineer of the ticket's tier."""
    at = _now(at)
    profile = getattr(engineer, "profile", None)
    if profile is None or profile.tier != ticket.tier:
        raise DeskError({"engineer": [_("The engineer must work at the ticket's tier (%(tier)s).") % {"tier": ticket.tier}]})
    if not ticket.is_open:
        raise DeskError(_("Only open tickets can be assigned."))
    with transaction.atomic():
        _set_assignee(ticket=ticket, engineer=engineer, at=at, actor=actor, how="manual")
    return ticket


def claim(*, ticket: Ticket, engineer: Any, at: datetime | None = None) -> Ticket:
    """Take an unassigned ticket. Two engineers claiming at once: exactly one wins, the other gets an error.

    The compare-and-set UPDATE (``WHERE assignee IS NULL``) is what makes that true on every database: the
    loser's UPDATE matches no row, whatever the isolation level.
    """
    at = _now(at)
    profile = getattr(engineer, "profile", None)
    if profile is None or profile.tier is None:
        raise DeskError(_("Only engineers can claim tickets."), status=403)
    with transaction.atomic():
        won = Ticket.objects.filter(
            pk=ticket.pk, assignee__isnull=True, tier=profile.tier, status__in=OPEN_STATUSES
        ).update(assignee=engineer, updated_at=at)
        if won != 1:
            ticket.refresh_from_db()
            if ticket.assignee_id is not None:
                raise DeskError(_("Ticket %(ref)s was already taken by %(who)s.")
                                % {"ref": ticket.ref, "who": ticket.assignee}, status=409)
            raise DeskError(_("Ticket %(ref)s is not open at your tier.") % {"ref": ticket.ref}, status=409)
        ticket.refresh_from_db()
        _note_assignment(engineer, at)
        events.claimed(ticket=ticket, at=at, engineer=engineer)
        if ticket.status in (Status.NEW, Status.ESCALATED):
            old = ticket.status
            ticket.status = Status.ASSIGNED
            ticket.save(update_fields=["status"])
            events.status_changed(ticket=ticket, at=at, actor=engineer, old=old, new=ticket.status)
    return ticket


# --- tiers ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryInput:
    problem: str = ""
    checked: str = ""
    findings: str = ""
    identifiers: str = ""
    time_window: str = ""
    impact: str = ""


# Minimum lengths: long enough that "see above" or "N/A" is refused, short enough not to annoy.
SUMMARY_MIN_CHARS = {"problem": 20, "checked": 20, "findings": 20, "identifiers": 3, "time_window": 5, "impact": 10}


def validate_summary(summary: SummaryInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, minimum in SUMMARY_MIN_CHARS.items():
        value = getattr(summary, name).strip()
        if not value:
            errors[name] = [_("This field is required for an escalation.")]
        elif len(value) < minimum:
            errors[name] = [_("Too short: write at least %(n)d characters.") % {"n": minimum}]
    return errors


def escalate(*, ticket: Ticket, actor: Any, summary: SummaryInput, at: datetime | None = None) -> CaseSummary:
    """Move the ticket up one tier with a complete case summary; it goes to the next tier's queue."""
    at = _now(at)
    errors = validate_summary(summary)
    index = TIER_ORDER.index(Tier(ticket.tier))
    if index + 1 >= len(TIER_ORDER):
        errors.setdefault("__all__", []).append(_("L2 is the highest tier; reassign or involve the product team."))
    if not ticket.is_open:
        errors.setdefault("__all__", []).append(_("Only open tickets can be escalated."))
    if errors:
        raise DeskError(errors)
    to_tier = TIER_ORDER[index + 1]
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        record = CaseSummary.objects.create(
            ticket=ticket, author=actor, from_tier=ticket.tier, to_tier=to_tier, created_at=at,
            **{k: getattr(summary, k).strip() for k in SUMMARY_MIN_CHARS},
        )
        from_tier = ticket.tier
        old_status = ticket.status
        ticket.tier = to_tier
        ticket.assignee = None
        ticket.status = Status.ESCALATED
        ticket.escalations += 1
        ticket.updated_at = at
        ticket.save(update_fields=["tier", "assignee", "status", "escalations", "updated_at"])
        events.escalated(ticket=ticket, at=at, actor=actor, from_tier=from_tier, to_tier=to_tier, summary_id=record.pk)
        if old_status != ticket.status:
            events.status_changed(ticket=ticket, at=at, actor=actor, old=old_status, new=ticket.status)
        auto_assign_ticket(ticket=ticket, at=at)
    return record


def return_down(*, ticket: Ticket, actor: Any, reason: str, at: datetime | None = None) -> Ticket:
    """Send an escalated ticket back down one tier. Never silent: a reason is required and it counts as a bounce.

    The ticket goes back to whoever escalated it, when that engineer is still active.
    """
    at = _now(at)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if len(reason) < MIN_REASON_CHARS:
        errors["reason"] = [_("Say why the ticket goes back down (at least %(n)d characters).") % {"n": MIN_REASON_CHARS}]
    index = TIER_ORDER.index(Tier(ticket.tier))
    if index == 0:
        errors.setdefault("__all__", []).append(_("The ticket is already at the front line."))
    if not ticket.is_open:
        errors.setdefault("__all__", []).append(_("Only open tickets can be returned."))
    if errors:
        raise DeskError(errors)
    to_tier = TIER_ORDER[index - 1]
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        summary = ticket.summaries.filter(to_tier=ticket.tier).order_by("-created_at").first()
        back_to = summary.author if summary and summary.author and summary.author.is_active else None
        from_tier = ticket.tier
        old_status = ticket.status
        ticket.tier = to_tier
        ticket.assignee = back_to
        ticket.status = Status.ASSIGNED if back_to else Status.NEW
        ticket.bounces += 1
        ticket.updated_at = at
        ticket.save(update_fields=["tier", "assignee", "status", "bounces", "updated_at"])
        events.returned(ticket=ticket, at=at, actor=actor, from_tier=from_tier, to_tier=to_tier, reason=reason,
                        to_engineer=back_to)
        if old_status != ticket.status:
            events.status_changed(ticket=ticket, at=at, actor=actor, old=old_status, new=ticket.status, reason=reason)
        if back_to is None:
            auto_assign_ticket(ticket=ticket, at=at)
    return ticket


def reassign_line(*, ticket: Ticket, actor: Any, line: Line, reason: str, at: datetime | None = None) -> Ticket:
    """Move a ticket to another product line (it re-enters that line's queue at its tier); a reason is required."""
    at = _now(at)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if len(reason) < MIN_REASON_CHARS:
        errors["reason"] = [_("Say why the ticket moves to another line (at least %(n)d characters).")
                            % {"n": MIN_REASON_CHARS}]
    if ticket.line_id == line.pk:
        errors["line"] = [_("The ticket is already in this line.")]
    if not ticket.is_open:
        errors.setdefault("__all__", []).append(_("Only open tickets can be reassigned."))
    if errors:
        raise DeskError(errors)
    with transaction.atomic():
        from_line = ticket.line
        old_status = ticket.status
        ticket.line = line
        ticket.assignee = None
        if ticket.status not in (Status.PENDING_CUSTOMER,):
            ticket.status = Status.NEW
        ticket.updated_at = at
        ticket.save(update_fields=["line", "assignee", "status", "updated_at"])
        events.reassigned(ticket=ticket, at=at, actor=actor, from_line=from_line, to_line=line, reason=reason)
        if old_status != ticket.status:
            events.status_changed(ticket=ticket, at=at, actor=actor, old=old_status, new=ticket.status)
        auto_assign_ticket(ticket=ticket, at=at)
    return ticket


# --- conversation and status ----------------------------------------------------------------------------


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise DeskError({"body": [_("The message is empty.")]})
    if len(body) > settings.CASEWORK_MAX_DESCRIPTION_CHARS:
        raise DeskError({"body": [_("The message is longer than %(limit)d characters.")
                                  % {"limit": settings.CASEWORK_MAX_DESCRIPTION_CHARS}]})
    return body


def reply(*, ticket: Ticket, actor: Any, body: str, pending_customer: bool = False,
          at: datetime | None = None) -> Message:
    """A public reply. From an engineer it may put the ticket in "pending customer"; from the customer it takes
    the ticket out of it (which resumes the SLA clocks)."""
    at = _now(at)
    body = _check_body(body)
    is_customer = getattr(getattr(actor, "profile", None), "role", None) == "customer"
    if ticket.status == Status.CLOSED:
        raise DeskError(_("The ticket is closed; open a new one."))
    with transaction.atomic():
        message = Message.objects.create(ticket=ticket, author=actor, body=body, internal=False, created_at=at)
        old = ticket.status
        if is_customer:
            events.customer_replied(ticket=ticket, at=at, actor=actor, message_id=message.pk)
            if ticket.status in (Status.PENDING_CUSTOMER, Status.RESOLVED):
                ticket.status = Status.IN_PROGRESS if ticket.assignee_id else Status.NEW
        else:
            events.replied(ticket=ticket, at=at, actor=actor, message_id=message.pk)
            if pending_customer:
                ticket.status = Status.PENDING_CUSTOMER
            elif ticket.status == Status.ASSIGNED:
                ticket.status = Status.IN_PROGRESS
        ticket.updated_at = at
        ticket.save(update_fields=["status", "updated_at"])
        if old != ticket.status:
            events.status_changed(ticket=ticket, at=at, actor=actor, old=old, new=ticket.status)
    return message


def add_note(*, ticket: Ticket, actor: Any, body: str, at: datetime | None = None) -> Message:
    """An internal note: engineers only, never shown to customers."""
    at = _now(at)
    body = _check_body(body)
    with transaction.atomic():
        message = Message.objects.create(ticket=ticket, author=actor, body=body, internal=True, created_at=at)
        events.noted(ticket=ticket, at=at, actor=actor, message_id=message.pk)
    return message


# Status moves a person may make directly; tier moves, claims and routing have their own functions.
ALLOWED_STATUS_MOVES: dict[str, set[str]] = {
    Status.NEW: {Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.ASSIGNED: {Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.RESOLVED},
    Status.IN_PROGRESS: {Status.PENDING_CUSTOMER, Status.RESOLVED},
    Status.PENDING_CUSTOMER: {Status.IN_PROGRESS, Status.RESOLVED},
    Status.ESCALATED: {Status.IN_PROGRESS, Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED, Status.IN_PROGRESS},
    Status.CLOSED: set(),
}


def set_status(*, ticket: Ticket, actor: Any, status: str, reason: str = "", at: datetime | None = None) -> Ticket:
    at = _now(at)
    if status not in Status.values:
        raise DeskError({"status": [_("Unknown status: %(s)s") % {"s": status}]})
    if status not in ALLOWED_STATUS_MOVES[Status(ticket.status)]:
        raise DeskError({"status": [_("A ticket cannot go from %(old)s to %(new)s.") % {"old": ticket.status, "new": status}]})
    with transaction.atomic():
        old = ticket.status
        ticket.status = status
        ticket.updated_at = at
        fields = ["status", "updated_at"]
        if status == Status.RESOLVED:
            ticket.resolved_at = at
            fields.append("resolved_at")
        elif status == Status.CLOSED:
            ticket.closed_at = at
            fields.append("closed_at")
        elif old == Status.RESOLVED:  # reopened
            ticket.resolved_at = None
            fields.append("resolved_at")
        ticket.save(update_fields=fields)
        events.status_changed(ticket=ticket, at=at, actor=actor, old=old, new=status, reason=reason)
    return ticket


def resolve(*, ticket: Ticket, actor: Any, note: str = "", at: datetime | None = None) -> Ticket:
    """Resolve with an optional public closing reply (what fixed it: the case library quotes it)."""
    at = _now(at)
    with transaction.atomic():
        if note.strip():
            reply(ticket=ticket, actor=actor, body=note, at=at)
            ticket.refresh_from_db()
        return set_status(ticket=ticket, actor=actor, status=Status.RESOLVED, at=at)
