"""The customer portal: open a ticket, list the organisation's tickets, read and answer one (public part only)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework.desk.access import permissions
from casework.desk.errors import DeskError
from casework.desk.tickets import services
from casework.desk.tickets.models import Ticket
from casework.desk.views.common import apply_errors, desk_view, role_of
from casework.desk.views.forms import CustomerReplyForm, OpenTicketForm
from casework.desk.views.keyset import paginate
from casework.desk.views.timeline import build_timeline

PAGE_SIZE = 20
_CJK = re.compile(r"[\u3400-\u9fff]")
_SPLIT = re.compile(r"[\s,;，；]+")


def _customer(request: HttpRequest) -> Any:
    """The portal is for customer contacts with an organisation; everyone else gets 403."""
    user = request.user
    if role_of(user) != "customer" or user.profile.organisation_id is None:
        raise PermissionDenied(_("The portal is for customer contacts."))
    return user


@desk_view
def portal_list(request: HttpRequest) -> HttpResponse:
    user = _customer(request)
    qs = permissions.visible_tickets(user).select_related("product")
    status = request.GET.get("status", "")
    if status == "open":
        qs = qs.exclude(status__in=["resolved", "closed"])
    elif status == "done":
        qs = qs.filter(status__in=["resolved", "closed"])
    page = paginate(qs, order=[("created_at", True), ("id", True)], cursor=request.GET.get("after"), size=PAGE_SIZE)
    return render(request, "desk/portal/list.html", {
        "page": page, "status": status, "organisation": user.profile.organisation,
    })


def _split(value: str) -> list[str]:
    return [v for v in _SPLIT.split(value or "") if v]


@desk_view
def portal_new(request: HttpRequest) -> HttpResponse:
    user = _customer(request)
    permissions.require(user, "open_ticket")
    form = OpenTicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        identifiers: dict[str, Any] = {k: _split(data[k]) for k in ("instance_ids", "request_ids", "domains")}
        for key in ("window_start", "window_end"):
            if data.get(key):
                identifiers[key] = data[key].isoformat()
        identifiers = {k: v for k, v in identifiers.items() if v}
        text = f"{data.get('subject') or ''} {data.get('description') or ''}"
        try:
            ticket = services.create_ticket(
                organisation=user.profile.organisation, contact=user,
                product=data["product"].code if data.get("product") else "",
                subject=data.get("subject") or "", description=data.get("description") or "",
                severity=data["severity"], identifiers=identifiers,
                language="zh" if _CJK.search(text) else "en",
            )
        except DeskError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Ticket %(ref)s is open; we will answer here.") % {"ref": ticket.ref})
            return redirect("portal-ticket", ref=ticket.ref)
    status = 400 if request.method == "POST" else 200
    return render(request, "desk/portal/new.html", {"form": form}, status=status)


def _ticket_context(user: Any, ticket: Ticket, form: CustomerReplyForm | None = None) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "timeline": build_timeline(ticket, internal=False),
        "form": form or CustomerReplyForm(),
        "can_reply": permissions.can(user, "reply", ticket),
        "can_rate": permissions.can(user, "rate", ticket),  # resolved or closed: the "Rate" link
        "rating": _rating(user, ticket),
        "rating_template": _optional_template("desk/sla/_portal_rating.html"),
    }


def _optional_template(name: str) -> str | None:
    """The SLA work may provide a rating block for the portal ticket page; include it when it exists."""
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return None
    return name


def _rating(user: Any, ticket: Ticket) -> Any:
    """The SLA work's rating for this ticket, when that model exists (``Rating.ticket`` one-to-one)."""
    try:
        return ticket.rating  # type: ignore[attr-defined]
    except (AttributeError, ObjectDoesNotExist):  # no Rating model yet, or no rating for this ticket
        return None


@desk_view
def portal_ticket(request: HttpRequest, ref: str) -> HttpResponse:
    user = _customer(request)
    ticket = permissions.ticket_for(user, ref, "view")
    return render(request, "desk/portal/ticket.html", _ticket_context(user, ticket))


@require_POST
@desk_view
def portal_reply(request: HttpRequest, ref: str) -> HttpResponse:
    user = _customer(request)
    ticket = permissions.ticket_for(user, ref, "reply")
    form = CustomerReplyForm(request.POST)
    if form.is_valid():
        try:
            services.reply(ticket=ticket, actor=user, body=form.cleaned_data["body"])
        except DeskError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Your reply was sent."))
            return redirect("portal-ticket", ref=ticket.ref)
    ticket.refresh_from_db()
    return render(request, "desk/portal/ticket.html", _ticket_context(user, ticket, form), status=400)
