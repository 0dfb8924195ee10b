"""Permissions as data (like Datasette): a table of which role may take which action, plus the conditions on
the ticket that each action needs. Pages and API both call :func:`can`, :func:`require` and
:func:`visible_tickets`; nothing else decides access.

Objects a user may not see do not exist for them: :func:`ticket_for` answers 404, not 403, so a forged ticket id
of another organisation learns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from casework.desk.errors import NotAllowed
from casework.desk.prepared import PreparedQuery
from casework.desk.team.models import Profile, Role
from casework.desk.tickets.models import OPEN_STATUSES, Status, Ticket

_REF_SHAPE = re.compile(r"[A-Za-z0-9]{1,12}")
ENGINEER_ROLES = frozenset({Role.T0, Role.L1, Role.L2})
STAFF_ROLES = frozenset({Role.LEAD, Role.ADMIN})

# Ticket actions → roles that may take them at all. The per-ticket conditions are in _CONDITIONS below.
TICKET_ACTIONS: dict[str, frozenset[str]] = {
    "view": frozenset({Role.CUSTOMER}) | ENGINEER_ROLES | STAFF_ROLES,
    "reply": frozenset({Role.CUSTOMER}) | ENGINEER_ROLES | STAFF_ROLES,
    "attach": frozenset({Role.CUSTOMER}) | ENGINEER_ROLES | STAFF_ROLES,
    "rate": frozenset({Role.CUSTOMER}),
    "view_internal": ENGINEER_ROLES | STAFF_ROLES,
    "note": ENGINEER_ROLES | STAFF_ROLES,
    "claim": ENGINEER_ROLES,
    "assign": STAFF_ROLES,
    "escalate": ENGINEER_ROLES | STAFF_ROLES,
    "return": frozenset({Role.L1, Role.L2}) | STAFF_ROLES,
    "reassign": ENGINEER_ROLES | STAFF_ROLES,
    "resolve": ENGINEER_ROLES | STAFF_ROLES,
    "set_status": ENGINEER_ROLES | STAFF_ROLES,
}

# Actions that are not about one ticket.
GLOBAL_ACTIONS: dict[str, frozenset[str]] = {
    "open_ticket": frozenset({Role.CUSTOMER}) | ENGINEER_ROLES | STAFF_ROLES,
    "engineer_queue": ENGINEER_ROLES | STAFF_ROLES,
    "view_rules": ENGINEER_ROLES | STAFF_ROLES,
    "search_cases": ENGINEER_ROLES | STAFF_ROLES,
    "edit_rules": STAFF_ROLES,
    "view_dashboard": STAFF_ROLES,
    "manage_team": STAFF_ROLES,
    "edit_sla": STAFF_ROLES,
}


def role_of(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else None


def _is_assignee(user: Any, ticket: Ticket) -> bool:
    return ticket.assignee_id == user.pk


def _staff(user: Any) -> bool:
    return role_of(user) in STAFF_ROLES


# Per-ticket conditions, checked after visibility. Staff pass every condition except the ones that make no
# sense for them (claim is for engineers of the ticket's tier).
_CONDITIONS: dict[str, Callable[[Any, Ticket], bool]] = {
    "view": lambda u, t: True,
    "reply": lambda u, t: t.status != Status.CLOSED,
    "attach": lambda u, t: t.status != Status.CLOSED,
    "rate": lambda u, t: t.status in (Status.RESOLVED, Status.CLOSED),
    "view_internal": lambda u, t: True,
    "note": lambda u, t: True,
    "claim": lambda u, t: t.assignee_id is None and t.status in OPEN_STATUSES and u.profile.tier == t.tier,
    "assign": lambda u, t: t.status in OPEN_STATUSES,
    "escalate": lambda u, t: t.status in OPEN_STATUSES and (_staff(u) or _is_assignee(u, t)),
    "return": lambda u, t: t.status in OPEN_STATUSES and t.tier != "T0"
    and (_staff(u) or (u.profile.tier == t.tier and (t.assignee_id in (None, u.pk)))),
    "reassign": lambda u, t: t.status in OPEN_STATUSES and (_staff(u) or _is_assignee(u, t)),
    "resolve": lambda u, t: t.status in OPEN_STATUSES and (_staff(u) or _is_assignee(u, t)),
    "set_status": lambda u, t: _staff(u) or _is_assignee(u, t),
}


# Asked on every ticket request (pages and API): SQL compiled once per connection (``PreparedQuery``), the same
# statements the querysets below compile to. ``ref`` is unique, so no ORDER BY is needed for its one row.
_TICKET_BY_REF = PreparedQuery(
    lambda ref: Ticket.objects.select_related("organisation", "product", "line", "assignee", "contact")
    .filter(ref=ref)[:1],
    "REF0MARKER",
)
_ON_LINE = PreparedQuery(
    lambda profile_id, line_id: Profile.lines.through.objects.filter(profile_id=profile_id, line_id=line_id)
    .values_list("id")[:1],
    -918273645, -918273646,
)


def visibility(user: Any) -> tuple[str, tuple[int, ...]]:
    """What ``user`` may see, as data: ``("none", ())``, ``("all", ())`` (leads and admins), ``("org", (org,))``
    (contacts: their organisation's tickets) or ``("lines", (*line_ids, user_id))`` (engineers: their lines' and
    their own). :func:`tickets_in` turns it into a queryset."""
    role = role_of(user)
    if role is None:
        return "none", ()
    if role in STAFF_ROLES:
        return "all", ()
    if role == Role.CUSTOMER:
        org_id = user.profile.organisation_id
        return ("org", (org_id,)) if org_id else ("none", ())
    return "lines", (*user.profile.lines.values_list("id", flat=True), user.pk)


def tickets_in(kind: str, ids: tuple[int, ...], qs: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """The tickets of a :func:`visibility` answer (and ``("line", (line_id,))``: one line's tickets)."""
    qs = Ticket.objects.all() if qs is None else qs
    if kind == "all":
        return qs
    if kind == "org":
        return qs.filter(organisation_id=ids[0])
    if kind == "line":
        return qs.filter(line_id=ids[0])
    if kind == "lines":
        return qs.filter(Q(line_id__in=list(ids[:-1])) | Q(assignee_id=ids[-1]))
    return qs.none()


def visible_tickets(user: Any, qs: QuerySet[Ticket] | None = None) -> QuerySet[Ticket]:
    """The tickets ``user`` may see: contacts their organisation's; engineers their lines' and their own;
    leads and admins all."""
    return tickets_in(*visibility(user), qs)


def can_see(user: Any, ticket: Ticket) -> bool:
    role = role_of(user)
    if role is None:
        return False
    if role in STAFF_ROLES:
        return True
    if role == Role.CUSTOMER:
        return ticket.organisation_id == user.profile.organisation_id
    if ticket.assignee_id == user.pk:
        return True
    return bool(_ON_LINE.rows(user.profile.pk, ticket.line_id))


def _permitted(user: Any, role: str, action: str, ticket: Ticket) -> bool:
    """The role table and the action's condition, for a ticket already known to be visible to ``user``."""
    if role not in TICKET_ACTIONS[action]:
        return False
    if action == "claim" and getattr(user, "profile", None) is None:
        return False  # a superuser without a profile has no tier to claim at
    return _CONDITIONS[action](user, ticket)


def can(user: Any, action: str, ticket: Ticket | None = None) -> bool:
    role = role_of(user)
    if role is None:
        return False
    if ticket is None:
        if action in GLOBAL_ACTIONS:
            return role in GLOBAL_ACTIONS[action]
        raise KeyError(f"unknown global action {action!r}")
    if action not in TICKET_ACTIONS:
        raise KeyError(f"unknown ticket action {action!r}")
    return role in TICKET_ACTIONS[action] and can_see(user, ticket) and _permitted(user, role, action, ticket)


def require(user: Any, action: str, ticket: Ticket | None = None) -> None:
    if can(user, action, ticket):
        return
    if ticket is not None and not can_see(user, ticket):
        raise NotAllowed(_("No such ticket."), status=404)
    raise NotAllowed(_("You may not do this (%(action)s) here.") % {"action": action})


def ticket_for(user: Any, ref: str, action: str = "view") -> Ticket:
    """Fetch a ticket by its short id for ``user``; 404 if it does not exist or is not visible to them."""
    # A ref that cannot exist is answered like one that does not, before the query: PostgreSQL raises on a NUL
    # byte in a URL-decoded ref ("/tickets/a%00b"), which would otherwise be a 500.
    ticket = None
    if _REF_SHAPE.fullmatch(ref or ""):
        rows = _TICKET_BY_REF.models(ref)
        ticket = rows[0] if rows else None
    if ticket is None or not can_see(user, ticket):
        raise NotAllowed(_("No such ticket."), status=404)
    require(user, action, ticket)
    return ticket


def allowed_actions(user: Any, ticket: Ticket, *, visible: bool | None = None,
                    actions: Iterable[str] = TICKET_ACTIONS, role: str | None = None) -> set[str]:
    """Every action ``user`` may take on ``ticket``. Visibility is checked once (a query for an engineer who is
    not the assignee), or not at all when the caller knows the ticket is visible (a row of ``visible_tickets``).
    ``role``: ``role_of(user)`` when the caller has it already (a page of rows asks once)."""
    if role is None:
        role = role_of(user)
    if role is None:
        return set()
    if visible is None:
        visible = can_see(user, ticket)
    if not visible:
        return set()
    return {a for a in actions if _permitted(user, role, a, ticket)}
