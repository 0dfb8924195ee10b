"""Lead reports computed from the event log (never from counters on the ticket, which only say "now").

- escalation rate and bounces per line and per engineer over a period (the lead's dashboard);
- line loads right now (open tickets per line and tier, unassigned, engineers on shift);
- the weekly report per engineer: handled / closed / rated good ("14 tickets handled, 4 closed, 3 rated good").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from casework.desk.team.models import Line, Profile, Role
from casework.desk.team.roster import on_shift_ids
from casework.desk.tickets.models import OPEN_STATUSES, EventKind, Status, Ticket, TicketEvent

User = get_user_model()
ENGINEER_ROLES = [Role.T0, Role.L1, Role.L2]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- escalation rate and bounces ----------------------------------------------------------------------------


@dataclass
class LineStats:
    line: Line
    entered: int = 0  # distinct tickets routed or moved into the line in the period
    escalated: int = 0  # distinct tickets escalated in the line in the period
    bounces: int = 0  # returns down a tier in the line
    reassigned_out: int = 0

    @property
    def escalation_rate(self) -> float | None:
        return _rate(self.escalated, self.entered)


@dataclass
class EngineerStats:
    user_id: int
    name: str
    role: str
    worked: int = 0  # distinct tickets assigned to / claimed by the engineer in the period
    escalated: int = 0  # escalations the engineer made
    bounced: int = 0  # returns the engineer sent down (L1/L2)
    bounced_back: int = 0  # the engineer's escalations that came back down to them

    @property
    def escalation_rate(self) -> float | None:
        return _rate(self.escalated, self.worked)


@dataclass
class Dashboard:
    since: datetime
    until: datetime
    lines: list[LineStats]
    engineers: list[EngineerStats]
    totals: dict[str, Any] = field(default_factory=dict)


def _distinct_tickets(qs: Any, key: str) -> dict[Any, int]:
    return {row[key]: row["n"] for row in qs.values(key).annotate(n=Count("ticket_id", distinct=True))}


def dashboard(*, since: datetime, until: datetime) -> Dashboard:
    window = TicketEvent.objects.filter(created_at__gte=since, created_at__lt=until)
    entered = _distinct_tickets(window.filter(kind__in=[EventKind.ROUTED, EventKind.REASSIGNED]), "line_id")
    escalated = _distinct_tickets(window.filter(kind=EventKind.ESCALATED), "line_id")
    bounces = dict(window.filter(kind=EventKind.RETURNED).values_list("line_id").annotate(n=Count("id")))
    moved_out = dict(
        window.filter(kind=EventKind.REASSIGNED).values_list("data__from").annotate(n=Count("id"))
    )
    lines = [
        LineStats(line=line, entered=entered.get(line.pk, 0), escalated=escalated.get(line.pk, 0),
                  bounces=bounces.get(line.pk, 0), reassigned_out=moved_out.get(line.code, 0))
        for line in Line.objects.all()
    ]

    worked = _distinct_tickets(window.filter(kind__in=[EventKind.ASSIGNED, EventKind.CLAIMED]), "engineer_id")
    esc_by = dict(window.filter(kind=EventKind.ESCALATED).values_list("engineer_id").annotate(n=Count("id")))
    bounced_by = dict(window.filter(kind=EventKind.RETURNED).values_list("engineer_id").annotate(n=Count("id")))
    bounced_to = dict(
        window.filter(kind=EventKind.RETURNED).exclude(data__to_engineer=None)
        .values_list("data__to_engineer").annotate(n=Count("id"))
    )
    engineers = []
    profiles = Profile.objects.filter(role__in=ENGINEER_ROLES).select_related("user").order_by("role", "user__username")
    for p in profiles:
        stats = EngineerStats(
            user_id=p.user_id, name=str(p), role=p.role, worked=worked.get(p.user_id, 0),
            escalated=esc_by.get(p.user_id, 0), bounced=bounced_by.get(p.user_id, 0),
            bounced_back=bounced_to.get(p.user.get_username(), 0),
        )
        if stats.worked or stats.escalated or stats.bounced or stats.bounced_back:
            engineers.append(stats)
    totals = {
        "entered": sum(s.entered for s in lines),
        "escalated": sum(s.escalated for s in lines),
        "bounces": sum(s.bounces for s in lines),
    }
    totals["escalation_rate"] = _rate(totals["escalated"], totals["entered"])
    totals["bounce_rate"] = _rate(totals["bounces"], totals["escalated"])
    return Dashboard(since=since, until=until, lines=lines, engineers=engineers, totals=totals)


# --- line loads right now -------------------------------------------------------------------------------------


@dataclass
class LineLoad:
    line: Line
    by_tier: dict[str, int]
    unassigned: int
    p1p2: int
    engineers: int
    on_shift: list[str]

    @property
    def open_total(self) -> int:
        return sum(self.by_tier.values())


def line_loads(*, at: datetime) -> list[LineLoad]:
    open_qs = Ticket.objects.filter(status__in=OPEN_STATUSES)
    by_tier: dict[int, dict[str, int]] = defaultdict(lambda: {"T0": 0, "L1": 0, "L2": 0})
    for line_id, tier, n in open_qs.values_list("line_id", "tier").annotate(n=Count("id")):
        by_tier[line_id][tier] = n
    unassigned = dict(open_qs.filter(assignee__isnull=True).values_list("line_id").annotate(n=Count("id")))
    urgent = dict(open_qs.filter(severity__in=["P1", "P2"]).values_list("line_id").annotate(n=Count("id")))
    members: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for p in Profile.objects.filter(role__in=ENGINEER_ROLES, user__is_active=True).prefetch_related("lines") \
            .select_related("user"):
        for line in p.lines.all():
            members[line.pk].append((p.user_id, f"{p} ({p.tier})"))
    working = on_shift_ids(sorted({uid for m in members.values() for uid, _n in m}), at)
    return [
        LineLoad(line=line, by_tier=dict(by_tier[line.pk]), unassigned=unassigned.get(line.pk, 0),
                 p1p2=urgent.get(line.pk, 0), engineers=len(members[line.pk]),
                 on_shift=sorted(name for uid, name in members[line.pk] if uid in working))
        for line in Line.objects.all()
    ]


# --- weekly report ----------------------------------------------------------------------------------------------


@dataclass
class WeeklyRow:
    user_id: int
    name: str
    role: str
    handled: int
    closed: int
    escalated: int
    bounced_back: int
    rated_good: int | None  # None until the SLA work's Rating model exists


def rating_model() -> Any | None:
    """The SLA work's ``Rating`` (value good/…, engineer), or None while it does not exist."""
    try:
        return apps.get_model("desk", "Rating")
    except LookupError:
        return None


def weekly(*, since: datetime, until: datetime) -> list[WeeklyRow]:
    """Per engineer in [since, until): tickets handled (any action of theirs on the ticket), closed (resolved or
    closed by them), escalated, bounced back to them, and rated good."""
    window = TicketEvent.objects.filter(created_at__gte=since, created_at__lt=until)
    acted = window.exclude(kind__in=[EventKind.ROUTED, EventKind.CREATED, EventKind.SLA_PAUSED,
                                     EventKind.SLA_RESUMED, EventKind.SLA_BREACHED, EventKind.RATED])
    handled = dict(
        acted.filter(Q(actor__isnull=False) | Q(engineer__isnull=False))
        .values_list("actor_id").annotate(n=Count("ticket_id", distinct=True))
    )
    # Auto-assignments have no actor: count them for the engineer who received the ticket.
    for uid, n in acted.filter(kind=EventKind.ASSIGNED, actor__isnull=True).values_list("engineer_id") \
            .annotate(n=Count("ticket_id", distinct=True)):
        handled[uid] = max(handled.get(uid, 0), n)
    closed = dict(
        window.filter(kind=EventKind.STATUS_CHANGED, data__to__in=[Status.RESOLVED, Status.CLOSED])
        .values_list("actor_id").annotate(n=Count("ticket_id", distinct=True))
    )
    escalated = dict(window.filter(kind=EventKind.ESCALATED).values_list("actor_id").annotate(n=Count("id")))
    bounced_back = dict(
        window.filter(kind=EventKind.RETURNED).exclude(data__to_engineer=None)
        .values_list("data__to_engineer").annotate(n=Count("id"))
    )
    Rating = rating_model()
    good: dict[int, int] | None = None
    if Rating is not None:
        good = dict(
            Rating.objects.filter(value="good", created_at__gte=since, created_at__lt=until)
            .values_list("engineer_id").annotate(n=Count("id"))
        )
    rows = []
    for p in Profile.objects.filter(role__in=ENGINEER_ROLES).select_related("user").order_by("role", "user__username"):
        row = WeeklyRow(
            user_id=p.user_id, name=str(p), role=p.role, handled=handled.get(p.user_id, 0),
            closed=closed.get(p.user_id, 0), escalated=escalated.get(p.user_id, 0),
            bounced_back=bounced_back.get(p.user.get_username(), 0),
            rated_good=None if good is None else good.get(p.user_id, 0),
        )
        if row.handled or row.closed or row.escalated or row.rated_good:
            rows.append(row)
    rows.sort(key=lambda r: (-r.handled, r.name))
    return rows
