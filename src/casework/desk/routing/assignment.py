"""Assignment inside a line.

Only engineers of the ticket's tier who serve the line, are on shift, are ready for the product and are under
their capacity are candidates; the one with the least open work wins, and ties go round-robin (whoever was
assigned least recently), so a quiet morning does not pile everything on the first name in the list.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db.models import Count

from casework.desk.team.models import ROLE_TIER, Line, Product, Profile
from casework.desk.team.roster import on_shift_ids
from casework.desk.tickets.models import OPEN_STATUSES, Ticket

User = get_user_model()

TIER_ROLE = {tier: role for role, tier in ROLE_TIER.items()}


def candidates(*, line: Line, product: Product, tier: str, at: datetime) -> list[tuple[int, int, int]]:
    """(user id, open tickets, capacity) of every eligible engineer, best first."""
    role = TIER_ROLE.get(tier)
    if role is None:
        return []
    # Small sets first (engineers of one role in one line), then one indexed count over their open tickets.
    rows = list(
        Profile.objects.filter(user__is_active=True, role=role, lines=line, readiness=product)
        .values_list("user_id", "capacity", "last_assigned_at")
        .distinct()
    )
    working = on_shift_ids([r[0] for r in rows], at)
    rows = [r for r in rows if r[0] in working]
    if not rows:
        return []
    open_counts = dict(
        Ticket.objects.filter(assignee_id__in=[r[0] for r in rows], status__in=OPEN_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    eligible = [(uid, open_counts.get(uid, 0), cap, last) for uid, cap, last in rows if open_counts.get(uid, 0) < cap]
    # Least open work first; among ties, whoever was given a ticket least recently (never = first), then by id.
    never = datetime.min.replace(tzinfo=UTC)
    eligible.sort(key=lambda r: (r[1], r[3] or never, r[0]))
    return [(uid, n, cap) for uid, n, cap, _last in eligible]


def pick_engineer(*, line: Line, product: Product, tier: str, at: datetime):  # -> User | None
    best = candidates(line=line, product=product, tier=tier, at=at)
    if not best:
        return None
    return User.objects.get(pk=best[0][0])
