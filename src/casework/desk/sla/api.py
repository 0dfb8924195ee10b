"""SLA and rating endpoints, mounted under /api/v1/ by ``casework.desk.api.router``.

``GET  /tickets/{ref}/sla``     the ticket's policy and clocks (state, elapsed, remaining, due, breached)
``POST /tickets/{ref}/rating``  the customer rates a resolved ticket once (good / neutral / bad + comment)
``GET  /tickets/{ref}/rating``  the rating, if any
``GET  /rate/{token}``          what a signed rating link points at (no login: the signature is the key)
``POST /rate/{token}``          rate through the signed link
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja import Status as Answer

from casework.desk.access import permissions
from casework.desk.api.auth import actor
from casework.desk.errors import DeskError
from casework.desk.sla import ratings, state
from casework.desk.sla.models import Rating, SLAPolicy, TicketSLA
from casework.desk.tickets.models import Ticket

router = Router(tags=["sla"])


class Errors(Schema):
    errors: dict[str, list[str]]


ERRORS = {400: Errors, 403: Errors, 404: Errors, 409: Errors, 410: Errors, 422: Errors}


class ClockOut(Schema):
    name: str = Field(description="first_response, next_response or resolution")
    state: str = Field(description="running, paused, met, breached, stopped or idle")
    target_seconds: float
    elapsed_seconds: float
    remaining_seconds: float = Field(description="Negative when overdue.")
    due_at: datetime | None
    about_to_breach: bool
    breached: bool


class SLAOut(Schema):
    ref: str
    policy: str | None
    business_hours: bool
    calendar: str | None
    paused: bool
    breached: bool
    due_at: datetime | None
    clocks: list[ClockOut]


class RatingIn(Schema):
    rating: str = Field(description="good, neutral or bad")
    comment: str = ""


class RatingOut(Schema):
    ref: str
    rating: str
    comment: str
    via: str
    flagged: bool
    created_at: datetime


class RateLinkOut(Schema):
    ref: str
    subject: str
    status: str
    rateable: bool
    rating: RatingOut | None


def sla_out(ticket: Ticket, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    row = TicketSLA.objects.filter(ticket=ticket).first()
    sla = state.SLAState.from_json(row.state if row else None)
    cal = state.calendar_of(sla)
    policy = SLAPolicy.objects.select_related("calendar").filter(pk=sla.policy_id).first() if sla.policy_id else None
    return {
        "ref": ticket.ref,
        "policy": policy.name if policy else None,
        "business_hours": bool(policy and policy.calendar_id),
        "calendar": policy.calendar.name if policy and policy.calendar_id else None,
        "paused": bool(row and row.paused),
        "breached": bool(row and (row.breached or (row.due_at is not None and row.due_at < now))),
        "due_at": row.due_at if row else None,
        "clocks": [asdict(v) for v in sla.view(cal, now)],
    }


def rating_out(rating: Rating) -> dict[str, Any]:
    return {"ref": rating.ticket.ref, "rating": rating.value, "comment": rating.comment, "via": rating.via,
            "flagged": rating.flagged, "created_at": rating.created_at}


@router.get("/tickets/{ref}/sla", response={200: SLAOut, **ERRORS}, summary="SLA state of a ticket")
def ticket_sla(request: HttpRequest, ref: str) -> dict[str, Any]:
    ticket = permissions.ticket_for(actor(request), ref, "view")
    return sla_out(ticket)


@router.get("/tickets/{ref}/rating", response={200: RatingOut, **ERRORS}, summary="The ticket's rating")
def get_rating(request: HttpRequest, ref: str) -> dict[str, Any]:
    ticket = permissions.ticket_for(actor(request), ref, "view")
    rating = Rating.objects.filter(ticket=ticket).first()
    if rating is None:
        raise DeskError({"rating": ["This ticket has not been rated."]}, status=404)
    return rating_out(rating)


@router.post("/tickets/{ref}/rating", response={201: RatingOut, **ERRORS}, summary="Rate a resolved ticket")
def post_rating(request: HttpRequest, ref: str, payload: RatingIn) -> Answer:
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "view")
    permissions.require(user, "rate", ticket)
    rating = ratings.rate(ticket=ticket, value=payload.rating, comment=payload.comment, actor=user, via="api")
    return Answer(201, rating_out(rating))


def _link_out(ticket: Ticket) -> dict[str, Any]:
    rating = Rating.objects.filter(ticket=ticket).first()
    return {"ref": ticket.ref, "subject": ticket.subject, "status": ticket.status,
            "rateable": rating is None and ticket.status in ratings.RATEABLE,
            "rating": rating_out(rating) if rating else None}


@router.get("/rate/{token}", auth=None, response={200: RateLinkOut, **ERRORS}, summary="Open a signed rating link")
def rate_link(request: HttpRequest, token: str) -> dict[str, Any]:
    return _link_out(ratings.ticket_for_token(token))


@router.post("/rate/{token}", auth=None, response={201: RatingOut, **ERRORS}, summary="Rate via a signed link")
def rate_via_link(request: HttpRequest, token: str, payload: RatingIn) -> Answer:
    ticket = ratings.ticket_for_token(token)
    rating = ratings.rate(ticket=ticket, value=payload.rating, comment=payload.comment, actor=ticket.contact,
                          via="link")
    return Answer(201, rating_out(rating))
