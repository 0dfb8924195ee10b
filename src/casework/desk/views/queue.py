"""The engineer queue: three tabs (mine, my lines, about to breach), htmx filters, keyset pages, inline claim."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework.desk.access import permissions
from casework.desk.errors import DeskError
from casework.desk.tickets import services
from casework.desk.tickets.models import OPEN_STATUSES, Ticket
from casework.desk.views.common import desk_view, is_htmx, require
from casework.desk.views.forms import QueueFilterForm
from casework.desk.views.keyset import paginate

PAGE_SIZE = 25
TABS = ("mine", "lines", "breach")


# --- SLA hook ---------------------------------------------------------------------------------------------
# The SLA work provides ``casework.desk.sla.queries.annotate_sla(qs)``: it annotates each ticket with its SLA
# state so the queue can sort by time left and flag tickets about to breach. Until that module exists the
# queue orders by severity and age, and "about to breach" shows the most severe, oldest open tickets.
def _sla_hook() -> Any | None:
    try:
        from casework.desk.sla import queries
    except ImportError:
        return None
    return queries if hasattr(queries, "annotate_sla") else None


def _annotate_sla(qs: QuerySet[Ticket]) -> tuple[QuerySet[Ticket], bool]:
    hook = _sla_hook()
    if hook is None:
        return qs, False
    return hook.annotate_sla(qs), True


def _about_to_breach(qs: QuerySet[Ticket]) -> tuple[QuerySet[Ticket], list[tuple[str, bool]]]:
    hook = _sla_hook()
    if hook is not None and hasattr(hook, "about_to_breach"):
        qs = hook.about_to_breach(hook.annotate_sla(qs))
        return qs, [("sla_due_at", False), ("id", False)]
    # No SLA clocks yet: P1/P2 first, oldest first.
    return qs.filter(severity__in=["P1", "P2"]), [("severity", False), ("created_at", False), ("id", False)]
# ---------------------------------------------------------------------------------------------------------


def _base(user: Any, tab: str) -> tuple[QuerySet[Ticket], list[tuple[str, bool]]]:
    qs = permissions.visible_tickets(user).filter(status__in=OPEN_STATUSES)
    profile = getattr(user, "profile", None)
    tier = profile.tier if profile is not None else None
    if tab == "mine":
        return qs.filter(assignee=user), [("severity", False), ("updated_at", False), ("id", False)]
    line_ids = list(profile.lines.values_list("id", flat=True)) if profile is not None else []
    if line_ids:
        qs = qs.filter(line_id__in=line_ids)
    if tab == "breach":
        return _about_to_breach(qs)
    # My lines: what I could pick up right now (unassigned at my tier) first, then everything else.
    qs = qs.annotate(
        bucket=Case(When(Q(assignee__isnull=True) & Q(tier=tier or ""), then=Value(0)), default=Value(1),
                    output_field=IntegerField())
    )
    return qs, [("bucket", False), ("severity", False), ("created_at", False), ("id", False)]


def _filtered(qs: QuerySet[Ticket], form: QueueFilterForm) -> QuerySet[Ticket]:
    if not form.is_valid():
        return qs
    data = form.cleaned_data
    if data.get("severity"):
        qs = qs.filter(severity=data["severity"])
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("line"):
        qs = qs.filter(line=data["line"])
    if data.get("product"):
        qs = qs.filter(product=data["product"])
    if data.get("q"):
        q = data["q"].strip()
        qs = qs.filter(Q(ref__iexact=q) | Q(subject__icontains=q))
    return qs


def _counts(user: Any) -> dict[str, int]:
    return {tab: _base(user, tab)[0].count() for tab in TABS}


@desk_view
def queue(request: HttpRequest) -> HttpResponse:
    require(request.user, "engineer_queue")
    tab = request.GET.get("tab", "lines")
    if tab not in TABS:
        tab = "lines"
    form = QueueFilterForm(request.GET or None)
    profile = getattr(request.user, "profile", None)
    if profile is not None and profile.lines.exists():
        form.fields["line"].queryset = profile.lines.all()
    qs, order = _base(request.user, tab)
    qs = _filtered(qs, form).select_related("organisation", "product", "line", "assignee__profile")
    qs, with_sla = _annotate_sla(qs) if tab != "breach" else (qs, _sla_hook() is not None)
    page = paginate(qs, order=order, cursor=request.GET.get("after"), size=PAGE_SIZE)
    params = request.GET.copy()
    params.pop("after", None)
    context = {
        "tab": tab,
        "form": form,
        "page": page,
        "rows": _rows(request.user, page.rows),
        "with_sla": with_sla,
        "params": params.urlencode(),
        "my_tier": profile.tier if profile is not None else None,
    }
    if is_htmx(request) and request.GET.get("after"):  # "load more": just the next rows
        return render(request, "desk/queue/_rows.html", context)
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-results":
        return render(request, "desk/queue/_results.html", context)
    context["counts"] = _counts(request.user)
    return render(request, "desk/queue/queue.html", context)


def _rows(user: Any, tickets: list[Ticket]) -> list[dict[str, Any]]:
    # Only unassigned tickets can be claimed at all, so the permission module is asked about those alone
    # (each answer costs a visibility query).
    return [{"t": t, "can_claim": t.assignee_id is None and permissions.can(user, "claim", t)} for t in tickets]


@require_POST
@desk_view
def claim(request: HttpRequest, ref: str) -> HttpResponse:
    """Claim from the queue. htmx swaps the row in place (errors too: htmx does not swap 4xx answers)."""
    ticket = permissions.ticket_for(request.user, ref, "view")
    error = ""
    if not permissions.can(request.user, "claim", ticket):
        error = _("You cannot claim this ticket any more.")
        if ticket.assignee_id:
            error = _("Already taken by %(who)s.") % {"who": ticket.assignee}
    else:
        try:
            ticket = services.claim(ticket=ticket, engineer=request.user)
        except DeskError as exc:
            error = " ".join(m for ms in exc.errors.values() for m in ms)
    if not is_htmx(request):
        return redirect("ticket", ref=ticket.ref)
    ticket = Ticket.objects.select_related("organisation", "product", "line", "assignee__profile").get(pk=ticket.pk)
    return render(request, "desk/queue/_row.html",
                  {"row": {"t": ticket, "can_claim": False, "error": error, "claimed": not error}})
