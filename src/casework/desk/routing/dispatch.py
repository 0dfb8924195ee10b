"""Route a ticket with the published rule set (cached per version) and record which rule matched."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache

from casework.desk.routing.engine import CompiledRule, Decision, Router, RuleError, TicketFacts, compile_rules
from casework.desk.routing.models import RuleSet
from casework.desk.tickets.models import Ticket

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _router(version: int, published_at: datetime | None) -> Router:
    # Keyed by version *and* its publication time: a published version is never edited, but version numbers
    # repeat when a database is recreated (tests, a fresh demo), and a version-only key would then serve the
    # rules of a database that no longer exists. Every publish stamps a new ``published_at``.
    try:
        return Router(compile_rules(RuleSet.objects.get(version=version).rules))
    except RuleError as exc:
        # Publishing validates every rule, so this only happens to a version stored before a validation rule
        # existed (e.g. a regex RE2 cannot run). New tickets must still be created: they go to the fallback
        # line — its purpose — and the log says why, instead of failing the customer's request.
        logger.error("published rule set v%s cannot be compiled (%s); routing to the fallback line", version, exc)
        return Router(())


def published() -> tuple[int | None, list[CompiledRule]]:
    version, router = published_router()
    return version, list(router.rules) if router is not None else []


def published_router() -> tuple[int | None, Router | None]:
    row = RuleSet.objects.filter(state=RuleSet.State.PUBLISHED).values_list("version", "published_at").first()
    if row is None:
        return None, None
    return row[0], _router(row[0], row[1])


def facts_of(ticket: Ticket) -> TicketFacts:
    return TicketFacts(
        product=ticket.product.code,
        category=ticket.category,
        subject=ticket.subject,
        description=ticket.description,
        org_tier=ticket.organisation.tier,
        severity=ticket.severity,
        language=ticket.language,
    )


def dispatch(ticket: Ticket) -> tuple[int | None, Decision]:
    version, router = published_router()
    if router is None:
        return None, Router(()).decide(facts_of(ticket))
    return version, router.decide(facts_of(ticket))
