"""Case library pages: search, one case, and the "similar resolved cases" panel of the ticket page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from casework.desk.access import permissions
from casework.desk.library import search as library
from casework.desk.library.index import INDEXED_STATUSES
from casework.desk.tickets.models import Ticket
from casework.desk.views.common import desk_view

MAX_QUERY = 2000


@desk_view
def search_page(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "search_cases")
    query = request.GET.get("q", "")[:MAX_QUERY]
    hits = library.search(query) if query.strip() else []
    return render(request, "desk/library/search.html", {"query": query, "hits": hits})


def _case(ref: str) -> Ticket:
    ticket = (Ticket.objects.select_related("product", "line", "organisation", "assignee")
              .filter(ref=ref[:12], status__in=INDEXED_STATUSES).first())
    if ticket is None:
        raise Http404
    return ticket


@desk_view
def case_page(request: HttpRequest, ref: str) -> HttpResponse:
    """A resolved case as the library shows it to every engineer: the question, the summaries, the public
    answers — never internal notes."""
    permissions.require(request.user, "search_cases")
    ticket = _case(ref)
    messages = ticket.messages.filter(internal=False).select_related("author").order_by("created_at", "id")
    return render(request, "desk/library/case.html", {
        "case": ticket, "summaries": ticket.summaries.all(), "messages": messages,
        "can_open": permissions.can_see(request.user, ticket),
    })


@desk_view
def similar_panel(request: HttpRequest, ref: str) -> HttpResponse:
    """htmx panel on the ticket page: resolved cases that look like this ticket."""
    ticket = permissions.ticket_for(request.user, ref, "view_internal")
    return render(request, "desk/library/_similar.html", {"hits": library.similar_to(ticket)})
