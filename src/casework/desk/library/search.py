"""Ranking resolved cases for a query: the terms they share, rarer terms counting more (IDF).

One grouped query over the indexed ``case_term`` table does the scoring; terms that occur in most cases (the
product name on its own line, say) carry no information and are dropped before the query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Case, Count, FloatField, Sum, Value, When

from casework.desk.library.models import CaseTerm
from casework.desk.library.terms import terms_of
from casework.desk.tickets.models import Ticket

MAX_QUERY_TERMS = 40
TOO_COMMON = 0.25  # a term in more than a quarter of all cases says nothing about which one


@dataclass(frozen=True)
class Hit:
    ticket: Ticket
    score: float
    matched: tuple[str, ...]


def search(query: str, *, limit: int = 20, exclude: int | None = None) -> list[Hit]:
    wanted = [t for t, _n in terms_of(query).most_common(MAX_QUERY_TERMS)]
    if not wanted:
        return []
    cases = CaseTerm.objects.values("ticket_id").distinct().count()
    if not cases:
        return []
    df = dict(CaseTerm.objects.filter(term__in=wanted).values_list("term").annotate(n=Count("id")))
    idf = {t: math.log(1 + cases / n) for t, n in df.items() if n <= max(1, TOO_COMMON * cases)}
    if not idf:
        return []
    score = Sum(Case(*(When(term=t, then=Value(w)) for t, w in idf.items()), default=Value(0.0),
                     output_field=FloatField()))
    rows = CaseTerm.objects.filter(term__in=list(idf))
    if exclude is not None:
        rows = rows.exclude(ticket_id=exclude)
    ranked = list(rows.values("ticket_id").annotate(score=score).order_by("-score", "-ticket_id")[:limit])
    if not ranked:
        return []
    ids = [r["ticket_id"] for r in ranked]
    tickets = Ticket.objects.select_related("product", "line", "organisation").in_bulk(ids)
    matched: dict[int, list[str]] = {}
    for ticket_id, term in CaseTerm.objects.filter(ticket_id__in=ids, term__in=list(idf)).values_list("ticket_id", "term"):
        matched.setdefault(ticket_id, []).append(term)
    return [
        Hit(ticket=tickets[r["ticket_id"]], score=round(r["score"], 3),
            matched=tuple(sorted(matched.get(r["ticket_id"], []), key=lambda t: -idf[t])))
        for r in ranked if r["ticket_id"] in tickets
    ]


def similar_to(ticket: Ticket, *, limit: int = 5) -> list[Hit]:
    """Resolved cases like this ticket: its subject and description as the query."""
    return search(f"{ticket.subject}\n{ticket.subject}\n{ticket.description}", limit=limit, exclude=ticket.pk)
