"""The engineer's ticket page: header, identifiers, the timeline (event log interleaved with replies and
internal notes) and the action forms that ``allowed_actions()`` permits."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework.desk.access import permissions
from casework.desk.errors import DeskError
from casework.desk.prepared import PreparedQuery
from casework.desk.team.models import Line
from casework.desk.tickets import services
from casework.desk.tickets.models import Ticket
from casework.desk.views.common import allowed_actions, apply_errors, desk_view, role_of
from casework.desk.views.forms import EscalateForm, NoteForm, ReassignForm, ReplyForm, ResolveForm, ReturnForm
from casework.desk.views.ticket_html import (
    content_html,
    fields_html,
    timeline_html,
    unbound_fields_html,
)
from casework.desk.views.timeline import SUMMARIES, build_timeline
from casework.desk.views.urlcache import url_for

FORMS = {
    "reply": ReplyForm,
    "note": NoteForm,
    "escalate": EscalateForm,
    "return": ReturnForm,
    "reassign": ReassignForm,
    "resolve": ResolveForm,
}


def _context(request: HttpRequest, ticket: Ticket, bound: dict[str, Any] | None = None,
             allowed: set[str] | None = None) -> dict[str, Any]:
    user = request.user
    if allowed is None:
        allowed = allowed_actions(user, ticket)
    # Only the forms this user can use on this ticket are shown. An unbound one is built and rendered once per
    # process and language (ticket_html.unbound_fields_html), the reassign form once per set of lines it offers; a bound
    # one (a refused action: the user's input and the errors) every time.
    forms_html = {}
    for name, cls in FORMS.items():
        if name not in allowed:
            continue
        if bound and name in bound:
            forms_html[name] = fields_html(bound[name])
        elif name == "reassign":
            line_id = ticket.line_id
            lines = tuple((code, label) for pk, code, label in _LINES.rows() if pk != line_id)
            forms_html[name] = unbound_fields_html(cls, key=lines, setup=functools.partial(_offer_lines, line_id=line_id))
        else:
            forms_html[name] = unbound_fields_html(cls)
    internal = "view_internal" in allowed
    # Read once for the timeline and the "latest case summary" card (newest first: the model's ordering).
    summaries = SUMMARIES.models(ticket.pk) if internal else []
    ref = ticket.ref
    csrf_token = get_token(request)
    urls = {
        "queue": url_for("queue"),
        **{action: url_for("ticket-action", ref, action) for action in ("claim", *FORMS) if action in allowed},
        "sla_panel": url_for("sla:panel", ref),
        "similar": url_for("library:similar", ref),
        "files": url_for("files-panel", ref),
    }
    content = content_html(
        ticket=ticket, allowed=allowed,
        has_actions=bool(allowed & {"claim", "escalate", "return", "reassign", "resolve"}),
        forms_html=forms_html, open_form=next(iter(bound)) if bound else "",
        timeline=timeline_html(build_timeline(ticket, internal=internal, summaries=summaries)),
        urls=urls, identifiers=_identifiers(ticket), summaries=summaries, csrf_token=csrf_token,
    )
    # The base template's token is this one too (the view's context comes before the context processors'), as
    # when one template rendered the whole page: one masked token per page, not two (each costs 32 urandom reads).
    return {"ticket": ticket, "content": content, "csrf_token": csrf_token}


def _offer_lines(form: ReassignForm, *, line_id: int | None) -> None:
    form.fields["line"].queryset = Line.objects.exclude(pk=line_id)


def _identifiers(ticket: Ticket) -> list[tuple[str, str]]:
    ids = ticket.identifiers or {}
    rows = []
    for key, label in (("instance_ids", _("Instance ids")), ("request_ids", _("Request ids")),
                       ("domains", _("Domains"))):
        values = ids.get(key) or []
        if isinstance(values, str):
            values = [values]
        if values:
            rows.append((label, ", ".join(str(v) for v in values)))
    start, end = ids.get("window_start"), ids.get("window_end")
    if start or end:
        rows.append((_("Time window"), f"{start or '…'} → {end or '…'}"))
    return rows


# Everything the page shows of the ticket in one query (the SLA row and the people's profiles included), its SQL
# compiled once per process (prepared.py).
PAGE_RELATED = ("organisation", "product", "line", "assignee__profile", "contact__profile", "sla")
_TICKET = PreparedQuery(lambda ref: Ticket.objects.select_related(*PAGE_RELATED).filter(ref=ref)[:1], "REF0MARKER")
# Every line (id, code, name), in the reassign form's order; the form offers all but the ticket's own.
_LINES = PreparedQuery(lambda: Line.objects.values_list("id", "code", "name"))


@desk_view
def ticket_page(request: HttpRequest, ref: str) -> HttpResponse:
    # What ``permissions.ticket_for(user, ref, "view")`` does (404 for a ref that cannot exist, does not exist
    # or is not visible), with the visibility asked once for the page instead of once per permission check.
    ticket = None
    if permissions._REF_SHAPE.fullmatch(ref or ""):
        ticket = next(iter(_TICKET.models(ref)), None)
    allowed = allowed_actions(request.user, ticket) if ticket is not None else set()
    if "view" not in allowed:
        raise Http404(_("No such ticket."))
    if role_of(request.user) == "customer":
        return redirect("portal-ticket", ref=ticket.ref)
    return render(request, "desk/ticket/ticket.html", _context(request, ticket, allowed=allowed))


@require_POST
@desk_view
def ticket_action(request: HttpRequest, ref: str, action: str) -> HttpResponse:
    if action not in FORMS and action != "claim":
        return HttpResponse(status=404)
    if role_of(request.user) == "customer":
        return HttpResponse(status=403)
    ticket = permissions.ticket_for(request.user, ref, action)  # 404 invisible, 403 not allowed
    user = request.user
    if action == "claim":
        try:
            services.claim(ticket=ticket, engineer=user)
            messages.success(request, _("You claimed %(ref)s.") % {"ref": ticket.ref})
        except DeskError as exc:
            messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms))
        return redirect("ticket", ref=ticket.ref)
    form = FORMS[action](request.POST)
    if action == "reassign":
        form.fields["line"].queryset = Line.objects.exclude(pk=ticket.line_id)
    if not form.is_valid():
        return _refused(request, ticket, action, form)
    data = form.cleaned_data
    try:
        done = _apply(action, ticket=ticket, user=user, data=data)
    except DeskError as exc:
        return _refused(request, ticket, action, apply_errors(form, exc))
    messages.success(request, done)
    # After an escalation or a line move the engineer may no longer see the ticket: back to the queue then.
    ticket.refresh_from_db()
    if not permissions.can_see(user, ticket):
        return redirect("queue")
    return redirect("ticket", ref=ticket.ref)


def _apply(action: str, *, ticket: Ticket, user: Any, data: dict[str, Any]) -> str:
    """Call the one service function for ``action``; returns the success message."""
    if action == "reply":
        services.reply(ticket=ticket, actor=user, body=data["body"], pending_customer=data["pending_customer"])
        return _("Reply sent to the customer.")
    if action == "note":
        services.add_note(ticket=ticket, actor=user, body=data["body"])
        return _("Internal note added.")
    if action == "escalate":
        record = services.escalate(ticket=ticket, actor=user, summary=services.SummaryInput(
            **{k: data.get(k) or "" for k in services.SUMMARY_MIN_CHARS}))
        return _("Escalated to %(tier)s with a case summary.") % {"tier": record.to_tier}
    if action == "return":
        services.return_down(ticket=ticket, actor=user, reason=data["reason"])
        return _("Returned down a tier; the reason is on the timeline.")
    if action == "reassign":
        if data.get("line") is None:
            raise DeskError({"line": [_("Choose the line the ticket moves to.")]})
        services.reassign_line(ticket=ticket, actor=user, line=data["line"], reason=data["reason"])
        return _("Moved to %(line)s.") % {"line": data["line"]}
    if action == "resolve":
        services.resolve(ticket=ticket, actor=user, note=data.get("note") or "")
        return _("Ticket resolved.")
    raise AssertionError(action)


def _refused(request: HttpRequest, ticket: Ticket, action: str, form: Any) -> HttpResponse:
    ticket.refresh_from_db()
    return render(request, "desk/ticket/ticket.html", _context(request, ticket, {action: form}), status=400)

