"""Ticket endpoints: create, list (filters + keyset cursor), read, and the actions of the ticket page.

Every endpoint asks ``access.permissions`` first (``ticket_for`` answers 404 for tickets the caller may not
see, 403 for actions they may not take) and changes tickets only through ``tickets.services``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Body, Query, Router

from casework.desk.access import permissions
from casework.desk.api import cursor, schemas
from casework.desk.api.auth import actor
from casework.desk.errors import DeskError
from casework.desk.prepared import PreparedQuery
from casework.desk.team.models import Line, Organisation, Role, Tier
from casework.desk.tickets import services
from casework.desk.tickets.models import EventKind, Severity, Status, Ticket

router = Router(tags=["tickets"])
User = get_user_model()

ERRORS = {400: schemas.Errors, 403: schemas.Errors, 404: schemas.Errors, 409: schemas.Errors, 422: schemas.Errors}

# What a customer may see of the event log: their conversation and the status, never routing, tiers,
# bounce reasons or internal notes. Per kind, the payload keys that are safe to show.
CUSTOMER_EVENTS: dict[str, tuple[str, ...]] = {
    EventKind.CREATED: ("product", "severity", "subject"),
    EventKind.STATUS_CHANGED: ("from", "to"),  # not "reason": a bounce's reason is internal
    EventKind.REPLIED: ("message",),
    EventKind.CUSTOMER_REPLIED: ("message",),
    EventKind.RATED: ("rating", "comment"),
}


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def ticket_out(ticket: Ticket, *, internal: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "status": ticket.status,
        "severity": ticket.severity,
        "product": ticket.product.code,
        "category": ticket.category,
        "language": ticket.language,
        "organisation": {"id": ticket.organisation_id, "name": ticket.organisation.name},
        "line": ticket.line.code if ticket.line_id else None,
        "tier": ticket.tier,
        "assignee": _username(ticket.assignee),
        "contact": _username(ticket.contact),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
    }
    if internal:
        out.update(
            tags=list(ticket.tags), routed_rule=ticket.routed_rule, rules_version=ticket.rules_version,
            escalations=ticket.escalations, bounces=ticket.bounces,
        )
    return out


def ticket_detail(user: Any, ticket: Ticket) -> dict[str, Any]:
    internal = permissions.can(user, "view_internal", ticket)
    messages = ticket.messages.select_related("author")
    events = ticket.events.select_related("actor", "line")
    if not internal:
        messages = messages.filter(internal=False)
        events = events.filter(kind__in=list(CUSTOMER_EVENTS))
    out = ticket_out(ticket, internal=internal)
    out["description"] = ticket.description
    out["identifiers"] = ticket.identifiers or {}
    out["messages"] = [
        {"id": m.pk, "author": _username(m.author), "body": m.body, "internal": m.internal, "created_at": m.created_at}
        for m in messages
    ]
    out["events"] = [
        {
            "id": e.pk, "kind": e.kind, "actor": _username(e.actor), "created_at": e.created_at,
            "line": e.line.code if (internal and e.line_id) else None,
            "tier": e.tier if internal else "",
            "data": e.data if internal else {k: e.data[k] for k in CUSTOMER_EVENTS[e.kind] if k in e.data},
        }
        for e in events
    ]
    out["summaries"] = (
        [
            {
                "author": _username(s.author), "from_tier": s.from_tier, "to_tier": s.to_tier,
                "problem": s.problem, "checked": s.checked, "findings": s.findings,
                "identifiers": s.identifiers, "time_window": s.time_window, "impact": s.impact,
                "created_at": s.created_at,
            }
            for s in ticket.summaries.select_related("author")
        ]
        if internal
        else []
    )
    out["allowed_actions"] = sorted(permissions.allowed_actions(user, ticket))
    return out


def _fresh(user: Any, ref: str) -> dict[str, Any]:
    """The ticket after a change, as the actor may now see it (an action can move it out of their sight)."""
    ticket = Ticket.objects.select_related("organisation", "product", "line", "assignee", "contact").get(ref=ref)
    return ticket_detail(user, ticket)


# --- create ---------------------------------------------------------------------------------------------


@router.post("/tickets", response={201: schemas.TicketDetail, **ERRORS}, summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: schemas.TicketIn) -> tuple[int, dict[str, Any]]:
    user = actor(request)
    permissions.require(user, "open_ticket")
    if permissions.role_of(user) == Role.CUSTOMER:
        organisation = user.profile.organisation
        if organisation is None:
            raise DeskError({"organisation": [_("Your account belongs to no organisation.")]}, status=403)
        if payload.organisation is not None and payload.organisation != organisation.pk:
            raise DeskError({"organisation": [_("You can open tickets for your own organisation only.")]}, status=403)
        contact = user
    else:
        if payload.organisation is None:
            raise DeskError({"organisation": [_("Name the customer organisation (its id).")]})
        organisation = Organisation.objects.filter(pk=payload.organisation).first()
        if organisation is None:
            raise DeskError({"organisation": [_("Unknown organisation: %(id)s") % {"id": payload.organisation}]})
        contact = None
        if payload.contact:
            contact = User.objects.filter(
                username=payload.contact, profile__role=Role.CUSTOMER, profile__organisation=organisation
            ).first()
            if contact is None:
                raise DeskError({"contact": [_("No contact %(name)s in this organisation.") % {"name": payload.contact}]})
    ticket = services.create_ticket(
        organisation=organisation,
        contact=contact,
        product=payload.product,
        subject=payload.subject,
        description=payload.description,
        severity=payload.severity,
        category=payload.category,
        identifiers=payload.identifiers,
        language=payload.language,
        actor=user,
    )
    return 201, _fresh(user, ticket.ref)


# --- list -----------------------------------------------------------------------------------------------


def _choices(field: str, raw: str, allowed: list[str]) -> list[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise DeskError({field: [_("Unknown value(s) %(bad)s; expected one of %(allowed)s.")
                                 % {"bad": ", ".join(bad) or "''", "allowed": ", ".join(allowed)}]}, status=422)
    return values


def _one_of(field: str, values: list[str]) -> Q:
    """``field = v`` for one value, ``field IN (…)`` for several. Why not always IN: the statement is prepared
    (settings: PostgreSQL prepared statements), and a generic plan cannot see that ``severity = ANY($2)`` holds one
    value, so it could not walk the (line, severity, created_at) index in page order — ``line=storage&severity=P1``
    cost 16 ms of PostgreSQL per request that way, 0.5 ms with ``severity = $2``."""
    return Q(**{field: values[0]}) if len(values) == 1 else Q(**{f"{field}__in": values})


@dataclass(frozen=True, slots=True)
class _Filters:
    """The list's filters, validated and resolved (what ``filter_tickets`` applies)."""

    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    line: str | None = None
    product: str | None = None
    organisation: int | None = None
    assignee_id: int | None = None  # "me"
    unassigned: bool = False  # "none"
    assignee_username: str | None = None
    q: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def _parse_filters(user: Any, f: schemas.TicketFilters) -> _Filters:
    """Validate the query's filters (422 for unknown status, severity or tier values)."""
    assignee_id, unassigned, username = None, False, None
    if f.assignee == "me":
        assignee_id = user.pk
    elif f.assignee == "none":
        unassigned = True
    elif f.assignee:
        username = f.assignee
    return _Filters(
        statuses=tuple(_choices("status", f.status, list(Status.values))) if f.status is not None else (),
        severities=tuple(_choices("severity", f.severity, list(Severity.values))) if f.severity is not None else (),
        tiers=tuple(_choices("tier", f.tier, list(Tier.values))) if f.tier is not None else (),
        line=f.line or None, product=f.product or None, organisation=f.organisation, assignee_id=assignee_id,
        unassigned=unassigned, assignee_username=username, q=f.q or None, created_after=f.created_after,
        created_before=f.created_before,
    )


def _apply_filters(qs: QuerySet[Ticket], p: _Filters) -> QuerySet[Ticket]:
    if p.statuses:
        qs = qs.filter(_one_of("status", list(p.statuses)))
    if p.severities:
        qs = qs.filter(_one_of("severity", list(p.severities)))
    if p.tiers:
        qs = qs.filter(_one_of("tier", list(p.tiers)))
    if p.line:
        qs = qs.filter(line__code=p.line)
    if p.product:
        qs = qs.filter(product__code=p.product)
    if p.organisation is not None:
        qs = qs.filter(organisation_id=p.organisation)
    if p.assignee_id is not None:
        qs = qs.filter(assignee_id=p.assignee_id)
    elif p.unassigned:
        qs = qs.filter(assignee__isnull=True)
    elif p.assignee_username:
        qs = qs.filter(assignee__username=p.assignee_username)
    if p.q:
        qs = qs.filter(subject__icontains=p.q)
    if p.created_after is not None:
        qs = qs.filter(created_at__gte=p.created_after)
    if p.created_before is not None:
        qs = qs.filter(created_at__lt=p.created_before)
    return qs


def filter_tickets(user: Any, qs: QuerySet[Ticket], f: schemas.TicketFilters) -> QuerySet[Ticket]:
    return _apply_filters(qs, _parse_filters(user, f))


# The list's columns, read as plain values (no model instances, no per-row pydantic validation): at 50 rows a
# page this was most of the endpoint's CPU. ``_list_item`` builds exactly what ``ticket_out`` + ``TicketOut``
# give (same keys, same order, same values); tests compare the two.
LIST_VALUES = (
    "id", "ref", "subject", "status", "severity", "product__code", "category", "language", "organisation_id",
    "organisation__name", "line__code", "tier", "assignee__username", "contact__username", "created_at",
    "updated_at", "resolved_at", "closed_at", "tags", "routed_rule", "rules_version", "escalations", "bounces",
)


def _list_item(row: dict[str, Any], *, internal: bool) -> dict[str, Any]:
    return {
        "ref": row["ref"],
        "subject": row["subject"],
        "status": row["status"],
        "severity": row["severity"],
        "product": row["product__code"],
        "category": row["category"],
        "language": row["language"],
        "organisation": {"id": row["organisation_id"], "name": row["organisation__name"]},
        "line": row["line__code"],
        "tier": row["tier"],
        "assignee": row["assignee__username"],
        "contact": row["contact__username"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "resolved_at": row["resolved_at"],
        "closed_at": row["closed_at"],
        "tags": list(row["tags"]) if internal else None,
        "routed_rule": row["routed_rule"] if internal else None,
        "rules_version": row["rules_version"] if internal else None,
        "escalations": row["escalations"] if internal else None,
        "bounces": row["bounces"] if internal else None,
    }


def _scope(user: Any, f: schemas.TicketFilters) -> tuple[tuple[str, tuple[int, ...]], schemas.TicketFilters]:
    """``permissions.visibility(user)`` with the filters still to apply. An engineer filtering on one of their own
    lines sees every ticket of that line, so ``(line in my lines OR assignee = me) AND line = X`` is just
    ``line_id = X``: without the OR, PostgreSQL can walk ``ticket_line_sev_created`` instead of combining
    bitmaps over the whole line (bench/RESULTS.md, "Desk at scale")."""
    if f.line and permissions.role_of(user) in permissions.ENGINEER_ROLES:
        line_id = dict(user.profile.lines.values_list("code", "id")).get(f.line)
        if line_id is not None:
            return ("line", (line_id,)), f.model_copy(update={"line": None})
    return permissions.visibility(user), f


def _list_queryset(kind: str, ids: tuple[int, ...], p: _Filters, after: tuple[datetime, int] | None,
                   limit: int) -> QuerySet[Any]:
    """One page of the list (and one row more, to know there is a next page), as value tuples."""
    qs = _apply_filters(permissions.tickets_in(kind, ids), p)
    if after is not None:
        qs = cursor.after_key(qs, *after)
    return qs.order_by("-created_at", "-id").values_list(*LIST_VALUES)[: limit + 1]


# The list's statements compiled once per shape: which filters are set and how many values each has, the scope's
# kind and size, a cursor or not, the page size. Compiling the queryset (visibility, filters, keyset, the column
# list and its joins) was about a third of the endpoint's CPU; the SQL text is the same for every request of a
# shape. None: a shape PreparedQuery cannot take (the ORM answers it). Free-text search always goes through the
# ORM (its parameter is the text wrapped in wildcards, not the text).
_LIST_QUERIES: dict[tuple[Any, ...], PreparedQuery | None] = {}


def _placeholder(i: int, value: Any) -> Any:
    """A value of ``value``'s type that no request sends, distinct for each ``i``."""
    if isinstance(value, datetime):
        return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(seconds=i + 1)
    if isinstance(value, int):
        return -(10**12) - i
    return f"~casework-placeholder-{i}~"


def _list_rows(kind: str, ids: tuple[int, ...], p: _Filters, after: tuple[datetime, int] | None,
               limit: int) -> list[tuple[Any, ...]]:
    if kind == "none" or p.q:
        return list(_list_queryset(kind, ids, p, after, limit))
    scalars = (p.line, p.product, p.organisation, p.assignee_id, p.assignee_username, p.created_after,
               p.created_before)
    key = (kind, len(ids), len(p.statuses), len(p.severities), len(p.tiers), p.unassigned,
           tuple(v is not None for v in scalars), after is not None, limit)
    values = (*ids, *p.statuses, *p.severities, *p.tiers, *(v for v in scalars if v is not None), *(after or ()))
    if key not in _LIST_QUERIES:
        if len(_LIST_QUERIES) > 1000:
            _LIST_QUERIES.clear()

        def build(*v: Any) -> QuerySet[Any]:
            it = iter(v)

            def take(n: int) -> tuple[Any, ...]:
                return tuple(next(it) for _ in range(n))

            b_ids, statuses, severities, tiers = take(len(ids)), take(len(p.statuses)), take(len(p.severities)), \
                take(len(p.tiers))
            line, product, organisation, assignee_id, username, created_after, created_before = (
                next(it) if present else None for present in key[6])
            b_after = take(2) if after is not None else None
            filters = _Filters(statuses=statuses, severities=severities, tiers=tiers, line=line, product=product,
                               organisation=organisation, assignee_id=assignee_id, unassigned=p.unassigned,
                               assignee_username=username, created_after=created_after,
                               created_before=created_before)
            return _list_queryset(kind, b_ids, filters, b_after, limit)  # type: ignore[arg-type]

        _LIST_QUERIES[key] = PreparedQuery(build, *(_placeholder(i, v) for i, v in enumerate(values)))
    prepared = _LIST_QUERIES[key]
    if prepared is not None:
        try:
            return prepared.rows(*values)
        except ValueError:  # a placeholder did not come out as a parameter of its own: this shape stays ORM
            _LIST_QUERIES[key] = None
    return list(_list_queryset(kind, ids, p, after, limit))


@router.get("/tickets", response={200: schemas.TicketPage, **ERRORS}, summary="List tickets")
def list_tickets(request: HttpRequest, filters: Query[schemas.TicketFilters]) -> HttpResponse:
    """Newest first; pass the returned ``next`` as ``cursor`` for the following page."""
    user = actor(request)
    (kind, ids), rest = _scope(user, filters)
    parsed = _parse_filters(user, rest)
    after = cursor.decode(filters.cursor) if filters.cursor else None
    rows = [dict(zip(LIST_VALUES, r, strict=True)) for r in _list_rows(kind, ids, parsed, after, filters.limit)]
    page, more = rows[: filters.limit], len(rows) > filters.limit
    internal = permissions.role_of(user) != Role.CUSTOMER
    body = {
        "items": [_list_item(r, internal=internal) for r in page],
        "next": cursor.encode(created_at=page[-1]["created_at"], pk=page[-1]["id"]) if more else None,
    }
    # Serialised here, straight from the dicts (the declared response schema still documents it in OpenAPI).
    return HttpResponse(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
                        content_type="application/json; charset=utf-8")


# --- read and act ---------------------------------------------------------------------------------------


@router.get("/tickets/{ref}", response={200: schemas.TicketDetail, **ERRORS}, summary="Read a ticket")
def read_ticket(request: HttpRequest, ref: str) -> dict[str, Any]:
    user = actor(request)
    return ticket_detail(user, permissions.ticket_for(user, ref, "view"))


@router.post("/tickets/{ref}/reply", response={200: schemas.TicketDetail, **ERRORS}, summary="Public reply")
def reply(request: HttpRequest, ref: str, payload: schemas.ReplyIn) -> dict[str, Any]:
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "reply")
    pending = payload.pending_customer and permissions.role_of(user) != Role.CUSTOMER
    services.reply(ticket=ticket, actor=user, body=payload.body, pending_customer=pending)
    return _fresh(user, ref)


@router.post("/tickets/{ref}/note", response={200: schemas.TicketDetail, **ERRORS}, summary="Internal note")
def note(request: HttpRequest, ref: str, payload: schemas.NoteIn) -> dict[str, Any]:
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "note")
    services.add_note(ticket=ticket, actor=user, body=payload.body)
    return _fresh(user, ref)


@router.post("/tickets/{ref}/claim", response={200: schemas.TicketDetail, **ERRORS}, summary="Claim a ticket")
def claim(request: HttpRequest, ref: str) -> dict[str, Any]:
    """Two engineers claiming at once: exactly one gets 200, the other 409 (or 403 once it is taken)."""
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "claim")
    services.claim(ticket=ticket, engineer=user)
    return _fresh(user, ref)


@router.post("/tickets/{ref}/escalate", response={200: schemas.TicketDetail, **ERRORS}, summary="Escalate a tier up")
def escalate(request: HttpRequest, ref: str, payload: schemas.EscalateIn) -> dict[str, Any]:
    """Refused with field-level errors (400) unless every case-summary field is filled in properly."""
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "escalate")
    services.escalate(ticket=ticket, actor=user, summary=services.SummaryInput(**payload.dict()))
    return _fresh(user, ref)


@router.post("/tickets/{ref}/return", response={200: schemas.TicketDetail, **ERRORS}, summary="Return a tier down")
def return_down(request: HttpRequest, ref: str, payload: schemas.ReturnIn) -> dict[str, Any]:
    """A reason is required; every return is counted as a bounce."""
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "return")
    services.return_down(ticket=ticket, actor=user, reason=payload.reason)
    return _fresh(user, ref)


@router.post("/tickets/{ref}/reassign", response={200: schemas.TicketDetail, **ERRORS},
             summary="Move to another line")
def reassign(request: HttpRequest, ref: str, payload: schemas.ReassignIn) -> dict[str, Any]:
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "reassign")
    line = Line.objects.filter(code=payload.line).first()
    if line is None:
        raise DeskError({"line": [_("Unknown line: %(code)s") % {"code": payload.line}]})
    services.reassign_line(ticket=ticket, actor=user, line=line, reason=payload.reason)
    return _fresh(user, ref)


@router.post("/tickets/{ref}/resolve", response={200: schemas.TicketDetail, **ERRORS}, summary="Resolve")
def resolve(request: HttpRequest, ref: str, payload: Body[schemas.ResolveIn | None] = None) -> dict[str, Any]:
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "resolve")
    services.resolve(ticket=ticket, actor=user, note=payload.note if payload else "")
    return _fresh(user, ref)


@router.post("/tickets/{ref}/status", response={200: schemas.TicketDetail, **ERRORS}, summary="Change status")
def set_status(request: HttpRequest, ref: str, payload: schemas.StatusIn) -> dict[str, Any]:
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "set_status")
    services.set_status(ticket=ticket, actor=user, status=payload.status, reason=payload.reason)
    return _fresh(user, ref)
