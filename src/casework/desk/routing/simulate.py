"""Replay a rule set over the tickets created in a period, before publishing it.

"Now" is the line each ticket is in today (where routing, and any reassignment since, put it); "draft" is the
line the replayed rule set would choose. Per line the result gives both counts, the tickets that would move in
and out, the resulting load (open tickets, and tickets per engineer serving the line) and a few sample tickets
that would move, so a lead sees what a change does before it goes live.

One query streams only the needed columns (``values_list(...).iterator()``); the rules are compiled once into a
:class:`~casework.desk.routing.engine.Router`; there is no per-ticket query. 100,000 tickets take a few seconds
(see ``bench/desk_routing_bench.py``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.desk.errors import DeskError
from casework.desk.routing.engine import CompiledRule, Router, TicketFacts, compile_rules
from casework.desk.routing.models import RuleSet
from casework.desk.routing.rulesets import validate_rules
from casework.desk.team.models import Line, Role
from casework.desk.tickets.models import OPEN_STATUSES, Ticket

NO_LINE = ""  # a ticket that was never routed (should not happen; counted rather than dropped)
MAX_SAMPLE = 50


@dataclass(frozen=True, slots=True)
class MovedTicket:
    ref: str
    subject: str
    created_at: datetime
    from_line: str
    to_line: str
    rule_now: str
    rule_draft: str


@dataclass(slots=True)
class LineImpact:
    line: str
    name: str
    is_fallback: bool
    now: int = 0
    draft: int = 0
    moved_in: int = 0
    moved_out: int = 0
    open_now: int = 0
    open_draft: int = 0
    engineers: int = 0
    samples: list[MovedTicket] = field(default_factory=list)

    @property
    def delta(self) -> int:
        return self.draft - self.now

    @property
    def per_engineer_draft(self) -> float | None:
        """Tickets of the period per engineer serving the line, under the draft (None: nobody serves it)."""
        return round(self.draft / self.engineers, 1) if self.engineers else None

    def as_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in ("line", "name", "is_fallback", "now", "draft", "moved_in", "moved_out",
                                              "open_now", "open_draft", "engineers")}
        data["delta"] = self.delta
        data["per_engineer_draft"] = self.per_engineer_draft
        data["samples"] = [_moved_dict(m) for m in self.samples]
        return data


@dataclass(slots=True)
class SimulationResult:
    since: datetime
    until: datetime
    version: int | None
    total: int
    moved: int
    lines: list[LineImpact]
    samples: list[MovedTicket]  # the first ``sample`` moved tickets overall, newest first
    rule_hits: dict[str, int]  # every rule in order (0 = never matched in the period) + "fallback"
    elapsed_s: float

    @property
    def moved_share(self) -> float:
        return round(100 * self.moved / self.total, 1) if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "version": self.version,
            "total": self.total,
            "moved": self.moved,
            "moved_share": self.moved_share,
            "lines": [line.as_dict() for line in self.lines],
            "samples": [_moved_dict(m) for m in self.samples],
            "rule_hits": self.rule_hits,
            "elapsed_s": self.elapsed_s,
        }


def _moved_dict(m: MovedTicket) -> dict[str, Any]:
    data = asdict(m)
    data["created_at"] = m.created_at.isoformat()
    return data


def _aware(value: datetime | date, *, end: bool = False) -> datetime:
    if not isinstance(value, datetime):
        # A date means the whole day: since = its midnight, until = the next midnight.
        value = datetime.combine(value, dtime.min) + (timedelta(days=1) if end else timedelta())
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _router_for(rules: RuleSet | Sequence[dict[str, Any]] | Sequence[CompiledRule]) -> tuple[int | None, Router]:
    version = None
    if isinstance(rules, RuleSet):
        version, rules = rules.version, rules.rules
    rules = list(rules)
    if rules and all(isinstance(r, CompiledRule) for r in rules):
        return version, Router(rules)
    return version, Router(compile_rules(validate_rules(rules)))


def simulate(
    rules: RuleSet | Sequence[dict[str, Any]] | Sequence[CompiledRule],
    *,
    since: datetime | date,
    until: datetime | date,
    sample: int = 5,
) -> SimulationResult:
    """Replay ``rules`` (a RuleSet, raw rule dicts, or compiled rules) over tickets created in [since, until).

    Raw rules are validated first: a bad rule raises DeskError by field path, like ``update_draft``.
    """
    started = time.perf_counter()
    since, until = _aware(since), _aware(until, end=True)
    if until <= since:
        raise DeskError({"until": [_("The end of the period must be after its start.")]})
    sample = max(0, min(int(sample), MAX_SAMPLE))
    version, router = _router_for(rules)

    lines = {
        code: LineImpact(line=code, name=name, is_fallback=fb)
        for code, name, fb in Line.objects.order_by("code").values_list("code", "name", "is_fallback")
    }
    fallback = next((code for code, li in lines.items() if li.is_fallback), NO_LINE)
    engineer_counts = (
        Line.objects.filter(engineers__role__in=[Role.T0, Role.L1, Role.L2], engineers__user__is_active=True)
        .values_list("code")
        .annotate(n=Count("engineers", distinct=True))
    )
    for code, n in engineer_counts:
        lines[code].engineers = n

    open_statuses = frozenset(str(s) for s in OPEN_STATUSES)
    hits: Counter[str] = Counter()
    samples: list[MovedTicket] = []
    total = moved = 0
    rows = (
        Ticket.objects.filter(created_at__gte=since, created_at__lt=until)
        .order_by("-created_at", "-id")
        .values_list(
            "ref", "subject", "description", "category", "severity", "language", "product__code",
            "organisation__tier", "line__code", "status", "routed_rule", "created_at",
        )
    )
    decide = router.decide
    for ref, subject, description, category, severity, language, product, org_tier, now, status, rule_now, created in (
        rows.iterator(chunk_size=2000)
    ):
        total += 1
        decision = decide(TicketFacts(product=product, category=category, subject=subject, description=description,
                                      org_tier=org_tier, severity=severity, language=language))
        hits[decision.rule] += 1
        draft = decision.line if decision.line in lines else fallback
        now = now or NO_LINE
        before = lines.get(now)
        if before is None:
            before = lines[now] = LineImpact(line=now, name=_("(not routed)"), is_fallback=False)
        after = lines[draft]
        before.now += 1
        after.draft += 1
        if status in open_statuses:
            before.open_now += 1
            after.open_draft += 1
        if draft != now:
            moved += 1
            before.moved_out += 1
            after.moved_in += 1
            if len(after.samples) < sample or len(samples) < sample:
                m = MovedTicket(ref=ref, subject=subject, created_at=created, from_line=now, to_line=draft,
                                rule_now=rule_now, rule_draft=decision.rule)
                if len(after.samples) < sample:
                    after.samples.append(m)
                if len(samples) < sample:
                    samples.append(m)

    rule_hits = {rule.name: hits.get(rule.name, 0) for rule in router.rules}
    rule_hits["fallback"] = hits.get("fallback", 0)
    return SimulationResult(
        since=since, until=until, version=version, total=total, moved=moved,
        lines=[li for li in lines.values() if li.now or li.draft or li.engineers or li.is_fallback],
        samples=samples, rule_hits=rule_hits, elapsed_s=round(time.perf_counter() - started, 3),
    )
