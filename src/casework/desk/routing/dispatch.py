"""Route a ticket with the published rule set (cached per version) and record which rule matched."""

from __future__ import annotations

from functools import lru_cache

from casework.desk.routing.engine import CompiledRule, Decision, TicketFacts, compile_rules, decide
from casework.desk.routing.models import RuleSet
from casework.desk.tickets.models import Ticket


@lru_cache(maxsize=8)
def _compiled(version: int) -> list[CompiledRule]:
    # Keyed by version: a published version is never edited, so the cache cannot go stale.
    return compile_rules(RuleSet.objects.get(version=version).rules)


def published() -> tuple[int | None, list[CompiledRule]]:
    current = RuleSet.objects.filter(state=RuleSet.State.PUBLISHED).values_list("version", flat=True).first()
    if current is None:
        return None, []
    return current, _compiled(current)


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
    version, rules = published()
    return version, decide(rules, facts_of(ticket))
