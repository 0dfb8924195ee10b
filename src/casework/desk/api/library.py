"""Case library endpoints: search resolved cases, and cases similar to a ticket."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from casework.desk.access import permissions
from casework.desk.api.auth import actor
from casework.desk.api.schemas import Errors
from casework.desk.library import search as library

router = Router(tags=["case library"])
ERRORS = {400: Errors, 403: Errors, 404: Errors, 422: Errors}


class CaseHit(Schema):
    ref: str
    subject: str
    product: str
    line: str | None
    resolved_at: str | None
    score: float
    matched: list[str]


class CaseQuery(Schema):
    q: str
    limit: int = 20


def _hit(h: library.Hit) -> dict[str, Any]:
    t = h.ticket
    return {"ref": t.ref, "subject": t.subject, "product": t.product.code, "line": t.line.code if t.line else None,
            "resolved_at": t.resolved_at.isoformat() if t.resolved_at else None, "score": h.score,
            "matched": list(h.matched)}


@router.get("/cases", response={200: list[CaseHit], **ERRORS}, summary="Search resolved cases")
def search_cases(request: HttpRequest, params: Query[CaseQuery]) -> list[dict[str, Any]]:
    """Resolved and closed tickets ranked by the terms they share with `q` (error text, codes, Chinese)."""
    permissions.require(actor(request), "search_cases")
    return [_hit(h) for h in library.search(params.q[:2000], limit=max(1, min(params.limit, 100)))]


@router.get("/tickets/{ref}/similar", response={200: list[CaseHit], **ERRORS}, summary="Similar resolved cases")
def similar_cases(request: HttpRequest, ref: str) -> list[dict[str, Any]]:
    ticket = permissions.ticket_for(actor(request), ref, "view_internal")
    return [_hit(h) for h in library.similar_to(ticket)]
