"""Assignment inside a line.

Only engineers of the ticket's tier who serve the line, are on shift, are ready for the product and are under
their capacity are candidates; the one with the least open work wins, and ties go round-robin (whoever was
assigned least recently), so a quiet morning does not pile everything on the first name in the list.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q

from casework.desk.team.models import ROLE_TIER, Line, Product
from casework.desk.team.roster import on_shift_ids
from casework.desk.tickets.models import OPEN_STATUSES, EventKind, TicketEvent

User = get_user_model()

TIER_ROLE = {tier: role for role, tier in ROLE_TIER.items()}


def candidates(*, line: Line, product: Product, tier: str, at: datetime) -> list[tuple[int, int, int]]:
    """(user id, open tickets, capacity) of every eligible engineer, best first."""
    role = TIER_ROLE.get(tier)
    if role is None:
        return []
    rows = list(
        User.objects.filter(
            is_active=True, profile__role=role, profile__lines=line, profile__readiness=product
        )
        .annotate(open_count=Count("assigned_tickets", filter=Q(assigned_tickets__status__in=OPEN_STATUSES)))
        .values_list("id", "open_count", "profile__capacity")
        .distinct()
    )
    working = on_shift_ids([r[0] for r in rows], at)
    eligible = [r for r in rows if r[0] in working and r[1] < r[2]]
    if not eligible:
        return []
    last = dict(
        TicketEvent.objects.filter(
            kind__in=[EventKind.ASSIGNED, EventKind.CLAIMED], engineer_id__in=[r[0] for r in eligible]
        )
        .values("engineer_id")
        .annotate(last=Max("created_at"))
        .values_list("engineer_id", "last")
    )
    # Never-assigned engineers first among ties (datetime.min stands for "never"), then oldest assignment.
    never = datetime.min
    eligible.sort(key=lambda r: (r[1], (last.get(r[0]) or never).replace(tzinfo=None), r[0]))
    return eligible


def pick_engineer(*, line: Line, product: Product, tier: str, at: datetime):  # -> User | None
    best = candidates(line=line, product=product, tier=tier, at=at)
    if not best:
        return None
    return User.objects.get(pk=best[0][0])
