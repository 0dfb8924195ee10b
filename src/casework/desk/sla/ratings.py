"""Satisfaction ratings: once per resolved ticket, from the portal, the API or a signed link in an email.

A rating never reopens the ticket; a ``bad`` one flags it and tells the line's lead. Signed links use
``django.core.signing`` (HMAC with the desk's secret key), so a link names one ticket and cannot be forged or
pointed at another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.desk.errors import DeskError
from casework.desk.sla import notify
from casework.desk.sla.models import Notification, Rating
from casework.desk.tickets import events
from casework.desk.tickets.models import Status, Ticket

SALT = "casework.desk.rating"
LINK_MAX_AGE = 30 * 24 * 3600  # a month: long enough for a slow inbox, short enough to not rate last year's ticket
MAX_COMMENT_CHARS = 2000
RATEABLE = (Status.RESOLVED, Status.CLOSED)


def rating_token(ticket: Ticket) -> str:
    return signing.dumps({"ref": ticket.ref}, salt=SALT)


def rating_link(ticket: Ticket) -> str:
    return reverse("sla:rate", args=[rating_token(ticket)])


def ticket_for_token(token: str, *, max_age: int = LINK_MAX_AGE) -> Ticket:
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise DeskError(_("This rating link has expired."), status=410) from None
    except signing.BadSignature:
        raise DeskError(_("This rating link is not valid."), status=404) from None
    ticket = Ticket.objects.select_related("line", "assignee", "organisation").filter(ref=data.get("ref")).first()
    if ticket is None:
        raise DeskError(_("This rating link is not valid."), status=404)
    return ticket


def rate(*, ticket: Ticket, value: str, comment: str = "", actor: Any | None = None, via: str = "portal",
         at: datetime | None = None) -> Rating:
    at = at or timezone.now()
    errors: dict[str, list[str]] = {}
    if value not in Rating.Value.values:
        errors["rating"] = [_("Rate good, neutral or bad.")]
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        errors["comment"] = [_("The comment is longer than %(n)d characters.") % {"n": MAX_COMMENT_CHARS}]
    if Rating.objects.filter(ticket=ticket).exists():
        raise DeskError(_("This ticket has already been rated."), status=409)
    if ticket.status not in RATEABLE:
        errors.setdefault("__all__", []).append(_("Only resolved tickets can be rated."))
    if errors:
        raise DeskError(errors)
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                ticket=ticket, value=value, comment=comment, rated_by=actor, engineer=ticket.assignee,
                line=ticket.line, via=via, flagged=value == Rating.Value.BAD, created_at=at,
            )
            events.rated(ticket=ticket, at=at, actor=actor, rating=value, comment=comment)
            if rating.flagged:
                notify.notify(ticket=ticket, kind=Notification.Kind.BAD_RATING, at=at, leads_only=True,
                              data={"comment": comment[:200]})
    except IntegrityError:  # the one-to-one: a second rating (or a double click racing the first)
        raise DeskError(_("This ticket has already been rated."), status=409) from None
    return rating


def clear_flag(*, rating: Rating, actor: Any) -> Rating:
    rating.flagged = False
    rating.flag_cleared_by = actor
    rating.save(update_fields=["flagged", "flag_cleared_by"])
    return rating


def _counts(group: str) -> list[dict[str, Any]]:
    return list(
        Rating.objects.values(group)
        .annotate(
            good=Count("pk", filter=Q(value="good")),
            neutral=Count("pk", filter=Q(value="neutral")),
            bad=Count("pk", filter=Q(value="bad")),
            total=Count("pk"),
        )
        .order_by(group)
    )


def by_engineer() -> list[dict[str, Any]]:
    """``[{"engineer__username", "good", "neutral", "bad", "total"}]`` — the seed's "3 rated good"."""
    rows = _counts("engineer__username")
    return [r for r in rows if r["engineer__username"]]


def by_line() -> list[dict[str, Any]]:
    return [r for r in _counts("line__code") if r["line__code"]]
