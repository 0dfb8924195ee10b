"""Attachments on the pages: the panel (list, upload), and "Diagnose" — run the matching casework analyzer on a
file the customer sent and show the findings with a reply ready to paste."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework import i18n
from casework.desk.access import permissions
from casework.desk.errors import DeskError
from casework.desk.tickets import attachments
from casework.desk.views.common import desk_view, role_of


def _back(request: HttpRequest, ref: str) -> HttpResponse:
    return redirect("portal-ticket" if role_of(request.user) == "customer" else "ticket", ref=ref)


@desk_view
def panel(request: HttpRequest, ref: str) -> HttpResponse:
    """htmx panel of the ticket and portal pages."""
    ticket = permissions.ticket_for(request.user, ref, "view")
    return render(request, "desk/files/_panel.html", {
        "ticket": ticket,
        "files": attachments.visible_attachments(request.user, ticket).select_related("uploaded_by"),
        "can_attach": permissions.can(request.user, "attach", ticket),
        "engineer": permissions.can(request.user, "view_internal", ticket),
    })


@require_POST
@desk_view
def upload(request: HttpRequest, ref: str) -> HttpResponse:
    ticket = permissions.ticket_for(request.user, ref, "attach")
    upload_file = request.FILES.get("file")
    if upload_file is None:
        messages.error(request, _("Choose a file to attach."))
        return _back(request, ticket.ref)
    internal = request.POST.get("internal") == "on" and permissions.can(request.user, "view_internal", ticket)
    try:
        attachment = attachments.attach(ticket=ticket, actor=request.user, upload=upload_file, internal=internal)
    except DeskError as exc:
        messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms))
    else:
        messages.success(request, _("Attached %(name)s.") % {"name": attachment.name})
    return _back(request, ticket.ref)


@desk_view
def diagnose(request: HttpRequest, ref: str, attachment_id: int) -> HttpResponse:
    """Engineers only: the analyzer's findings and its Markdown reply, in the viewer's language."""
    from casework.diagnostics.auto import diagnose_file
    from casework.diagnostics.render.markdown import render_markdown
    from casework.diagnostics.report import InputError

    ticket = permissions.ticket_for(request.user, ref, "view_internal")
    attachment = attachments.attachment_for(request.user, ticket, attachment_id)
    lang = "zh" if (get_language() or "").startswith("zh") else "en"
    reports, error = [], ""
    with i18n.use_language(lang):
        try:
            reports = diagnose_file(attachment.file.path, name=attachment.name)
        except InputError as exc:
            error = exc.one_line()
        reply = render_markdown(reports) if reports else ""
    return render(request, "desk/files/diagnose.html", {
        "ticket": ticket, "attachment": attachment, "reports": reports, "reply": reply, "error": error,
    })
