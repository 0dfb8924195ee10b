"""Tickets and their event log.

The event log is the source of truth for history and reports: ``casework.desk.tickets.events`` has one typed
function per event kind, and ``casework.desk.tickets.services`` is the only place that changes a ticket (each
change writes its event in the same transaction).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.desk.team.models import Line, Organisation, Product, Tier


class Severity(models.TextChoices):
    P1 = "P1", _("P1 — service down")
    P2 = "P2", _("P2 — major impact")
    P3 = "P3", _("P3 — minor impact")
    P4 = "P4", _("P4 — question")


class Status(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    PENDING_CUSTOMER = "pending_customer", _("Pending customer")
    ESCALATED = "escalated", _("Escalated")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = [Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.ESCALATED]

_LITERAL = re.compile(r"[a-z_]{1,32}")


class InLiterals(models.Lookup):  # type: ignore[type-arg]
    """``status__in_literals=OPEN_STATUSES``: ``status IN ('new', …)`` with the values written into the SQL as
    literals instead of bound parameters.

    Why: a partial index (``ticket_queue_open``, ``ticket_queue_claimable``: ``WHERE status IN (<open>)``) can be
    used only when the planner can prove the query's condition implies the index's, and it never can through a
    parameter. SQLite then picked another index and sorted (14 ms instead of 0.25 ms for a queue page at 100,000
    tickets), and a prepared PostgreSQL statement's generic plan could not use them either. Only our own enum
    values (checked against ``[a-z_]+``) are ever written, so nothing from a request reaches the SQL text."""

    lookup_name = "in_literals"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        values = [str(v) for v in self.rhs]
        if not values or not all(_LITERAL.fullmatch(v) for v in values):
            raise ValueError(f"in_literals takes constant lower-case identifiers, not {values!r}")
        return f"{lhs} IN ({', '.join(repr(v) for v in values)})", list(params)


class Ticket(models.Model):
    ref = models.CharField(max_length=12, unique=True, help_text=_("Short human id, e.g. F41GF888."))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="tickets")
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="opened_tickets"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="tickets")
    category = models.CharField(max_length=64, blank=True)
    severity = models.CharField(max_length=2, choices=Severity.choices, default=Severity.P3)
    subject = models.CharField(max_length=200)
    description = models.TextField()
    # Customer-provided identifiers: {"instance_ids": [...], "request_ids": [...], "domains": [...],
    # "window_start": iso, "window_end": iso}
    identifiers = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8, default="en")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    line = models.ForeignKey(Line, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    tier = models.CharField(max_length=2, choices=Tier.choices, default=Tier.T0)
    tags = models.JSONField(default=list, blank=True)
    routed_rule = models.CharField(max_length=120, blank=True, help_text=_("Rule that routed the ticket last."))
    rules_version = models.PositiveIntegerField(null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(default=0)
    bounces = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["line", "status", "-updated_at", "-id"], name="ticket_line_queue"),
            models.Index(fields=["assignee", "status", "-updated_at", "-id"], name="ticket_assignee_queue"),
            models.Index(fields=["organisation", "-created_at", "-id"], name="ticket_org_list"),
            models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_list"),
            models.Index(fields=["-created_at", "-id"], name="ticket_keyset"),
            # API ticket list filtered by line (and severity), newest first (created by raw SQL in 0003; declared
            # here since 0005 so the model state and the schema agree).
            models.Index(fields=["line", "severity", "-created_at", "-id"], name="ticket_line_sev_created"),
            # API ticket list filtered by line and status (and maybe severity), newest first. Without it PostgreSQL
            # ANDed three bitmaps (line, status, severity: 42 ms at a million tickets), because it assumes a status
            # is spread evenly over time, while open statuses are all recent: this index reads the newest rows of
            # (line, status) and stops after a page.
            models.Index(fields=["line", "status", "-created_at", "-id"], name="ticket_line_status_created"),
            # Engineer queue, "My lines" (views/queue.py): open tickets in (severity, created_at, id) order, and
            # the same for the unassigned ones (the "claimable at my tier" part shown first). Partial: only the
            # ~8 % of tickets that are open, so they stay small and hot at a million tickets.
            models.Index(fields=["severity", "created_at", "id"], name="ticket_queue_open",
                         condition=models.Q(status__in=OPEN_STATUSES)),
            models.Index(fields=["severity", "created_at", "id"], name="ticket_queue_claimable",
                         condition=models.Q(assignee__isnull=True, status__in=OPEN_STATUSES)),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


Ticket._meta.get_field("status").register_lookup(InLiterals)


class Message(models.Model):
    """A public reply (seen by the customer) or an internal note (never shown to customers)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = models.TextField()
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    internal = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)


class CaseSummary(models.Model):
    """The structured summary an escalation must carry; also what the case library searches."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="summaries")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    from_tier = models.CharField(max_length=2, choices=Tier.choices)
    to_tier = models.CharField(max_length=2, choices=Tier.choices)
    problem = models.TextField()
    checked = models.TextField(help_text=_("What was checked."))
    findings = models.TextField(help_text=_("Findings and evidence."))
    identifiers = models.TextField(help_text=_("Instance ids, request ids, domains."))
    time_window = models.CharField(max_length=200)
    impact = models.TextField(help_text=_("Customer impact."))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    ROUTED = "routed", _("Routed")
    ASSIGNED = "assigned", _("Assigned")
    CLAIMED = "claimed", _("Claimed")
    ESCALATED = "escalated", _("Escalated")
    RETURNED = "returned", _("Returned down a tier")
    REASSIGNED = "reassigned", _("Reassigned to another line")
    STATUS_CHANGED = "status_changed", _("Status changed")
    REPLIED = "replied", _("Public reply")
    NOTED = "noted", _("Internal note")
    CUSTOMER_REPLIED = "customer_replied", _("Customer replied")
    ATTACHED = "attached", _("Attachment added")
    SLA_PAUSED = "sla_paused", _("SLA paused")
    SLA_RESUMED = "sla_resumed", _("SLA resumed")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    RATED = "rated", _("Rated")


class TicketEvent(models.Model):
    """One change to a ticket. ``data`` holds the kind-specific payload (see ``tickets/events.py``).

    ``line``, ``tier`` and ``engineer`` are copied out of the payload so reports (escalation rate, bounces per
    engineer and line) are plain indexed aggregates instead of JSON scans.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    line = models.ForeignKey(Line, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tier = models.CharField(max_length=2, blank=True)
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="event_ticket_log"),
            models.Index(fields=["kind", "created_at"], name="event_kind_time"),
        ]
