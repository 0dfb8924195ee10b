"""Keeping the library in step with the desk: a case enters when its ticket is resolved and leaves if reopened."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from casework.desk.library.models import CaseTerm
from casework.desk.library.terms import top_terms
from casework.desk.tickets.models import EventKind, Status, Ticket, TicketEvent

INDEXED_STATUSES = (Status.RESOLVED, Status.CLOSED)


def case_text(ticket: Ticket) -> str:
    """What a case is found by: the question, the escalation summaries, and the public answers that solved it
    (internal notes stay out: the library is shown to every engineer)."""
    parts = [ticket.subject, ticket.subject, ticket.description, ticket.product.code, ticket.category,
             " ".join(ticket.tags or [])]
    for s in ticket.summaries.all():
        parts += [s.problem, s.findings]
    parts += list(ticket.messages.filter(internal=False).exclude(author=ticket.contact).values_list("body", flat=True))
    return "\n".join(p for p in parts if p)


def index_ticket(ticket: Ticket) -> int:
    """(Re)write the ticket's terms; returns how many. Tickets that are not resolved or closed are removed."""
    with transaction.atomic():
        CaseTerm.objects.filter(ticket=ticket).delete()
        if ticket.status not in INDEXED_STATUSES:
            return 0
        terms = top_terms(case_text(ticket))
        CaseTerm.objects.bulk_create(
            [CaseTerm(term=t, ticket=ticket, weight=min(n, 32767)) for t, n in terms.items()]
        )
        return len(terms)


def on_event(event: TicketEvent) -> None:
    """Status changes into or out of resolved/closed (re)index the ticket; nothing else touches the library."""
    if event.kind != EventKind.STATUS_CHANGED:
        return
    data: dict[str, Any] = event.data or {}
    before, after = data.get("from"), data.get("to")
    if (after in INDEXED_STATUSES) == (before in INDEXED_STATUSES):
        return  # resolved -> closed keeps the case as it is
    index_ticket(Ticket.objects.select_related("product", "contact").get(pk=event.ticket_id))


def reindex_all() -> int:
    """Rebuild the library from every resolved or closed ticket (after an upgrade, or a change of terms)."""
    count = 0
    CaseTerm.objects.all().delete()
    qs = Ticket.objects.filter(status__in=INDEXED_STATUSES).select_related("product", "contact")
    for ticket in qs.iterator(chunk_size=500):
        index_ticket(ticket)
        count += 1
    return count
