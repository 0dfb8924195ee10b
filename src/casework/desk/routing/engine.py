"""Matching a ticket against a rule set: first enabled rule whose every condition holds wins.

Rules are compiled once per rule-set version (regexes compiled, lists turned into frozensets, keywords
lower-cased), so routing a ticket is a loop of cheap checks — the benchmark routes against 200 rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

FALLBACK_RULE = "fallback"

CONDITION_KEYS = ("products", "categories", "keywords", "regex", "org_tiers", "severities", "languages")
ACTION_KEYS = ("line", "severity", "tags")


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What a rule may look at; built from a ticket, a form, or a row of the simulator's query."""

    product: str
    category: str
    subject: str
    description: str
    org_tier: str
    severity: str
    language: str


@dataclass(frozen=True, slots=True)
class Decision:
    line: str | None  # None: fall back to the fallback line
    rule: str
    severity: str | None
    tags: tuple[str, ...]

    @property
    def fallback(self) -> bool:
        return self.rule == FALLBACK_RULE


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    products: frozenset[str]
    categories: frozenset[str]
    keywords: tuple[str, ...]
    regex: re.Pattern[str] | None
    org_tiers: frozenset[str]
    severities: frozenset[str]
    languages: frozenset[str]
    line: str
    severity: str | None
    tags: tuple[str, ...] = field(default=())

    def matches(self, facts: TicketFacts, text_lower: str) -> bool:
        # Cheapest checks first: set membership, then substring search, then the regex.
        return self.matches_fields(facts) and self.matches_text(facts, text_lower)

    def matches_fields(self, facts: TicketFacts) -> bool:
        """The conditions on the ticket's fields (not its text)."""
        if self.products and facts.product not in self.products:
            return False
        if self.categories and facts.category not in self.categories:
            return False
        if self.org_tiers and facts.org_tier not in self.org_tiers:
            return False
        if self.severities and facts.severity not in self.severities:
            return False
        if self.languages and facts.language not in self.languages:
            return False
        return True

    @property
    def has_text_conditions(self) -> bool:
        return bool(self.keywords) or self.regex is not None

    def matches_text(self, facts: TicketFacts, text_lower: str, text: str | None = None) -> bool:
        """``text`` is subject + newline + description, passed by callers that check many rules (built once)."""
        if self.keywords and not any(k in text_lower for k in self.keywords):
            return False
        if self.regex is not None:
            if text is None:
                text = facts.subject + "\n" + facts.description
            if self.regex.search(text) is None:
                return False
        return True

    @property
    def decision(self) -> Decision:
        return Decision(line=self.line, rule=self.name, severity=self.severity, tags=self.tags)


class RuleError(ValueError):
    """A rule that cannot be compiled; ``field`` is e.g. ``rules[3].when.regex``."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


def _str_set(value: Any, where: str) -> frozenset[str]:
    if value in (None, ""):
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(where, "must be a list of strings")
    return frozenset(v.strip() for v in value if v.strip())


def compile_rule(rule: dict[str, Any], index: int, *, known_lines: Iterable[str] | None = None) -> CompiledRule:
    where = f"rules[{index}]"
    if not isinstance(rule, dict):
        raise RuleError(where, "must be a mapping with 'name', 'when' and 'then'")
    name = rule.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"{where}.name", "is required")
    when = rule.get("when") or {}
    then = rule.get("then") or {}
    if not isinstance(when, dict):
        raise RuleError(f"{where}.when", "must be a mapping")
    if not isinstance(then, dict):
        raise RuleError(f"{where}.then", "must be a mapping")
    unknown = set(when) - set(CONDITION_KEYS)
    if unknown:
        raise RuleError(f"{where}.when", f"unknown condition(s): {', '.join(sorted(unknown))}")
    unknown = set(then) - set(ACTION_KEYS)
    if unknown:
        raise RuleError(f"{where}.then", f"unknown action(s): {', '.join(sorted(unknown))}")
    regex_src = when.get("regex") or ""
    regex = None
    if regex_src:
        if not isinstance(regex_src, str):
            raise RuleError(f"{where}.when.regex", "must be a string")
        try:
            regex = re.compile(regex_src, re.IGNORECASE)
        except re.error as exc:
            raise RuleError(f"{where}.when.regex", f"invalid regular expression: {exc}") from None
    line = then.get("line")
    if not isinstance(line, str) or not line:
        raise RuleError(f"{where}.then.line", "is required")
    if known_lines is not None and line not in set(known_lines):
        raise RuleError(f"{where}.then.line", f"unknown line {line!r}")
    severity = then.get("severity") or None
    if severity is not None and severity not in ("P1", "P2", "P3", "P4"):
        raise RuleError(f"{where}.then.severity", "must be one of P1, P2, P3, P4")
    return CompiledRule(
        name=name.strip(),
        products=_str_set(when.get("products"), f"{where}.when.products"),
        categories=_str_set(when.get("categories"), f"{where}.when.categories"),
        keywords=tuple(sorted(k.lower() for k in _str_set(when.get("keywords"), f"{where}.when.keywords"))),
        regex=regex,
        org_tiers=_str_set(when.get("org_tiers"), f"{where}.when.org_tiers"),
        severities=_str_set(when.get("severities"), f"{where}.when.severities"),
        languages=_str_set(when.get("languages"), f"{where}.when.languages"),
        line=line,
        severity=severity,
        tags=tuple(sorted(_str_set(then.get("tags"), f"{where}.then.tags"))),
    )


def compile_rules(rules: Sequence[dict[str, Any]], *, known_lines: Iterable[str] | None = None) -> list[CompiledRule]:
    """Compile every enabled rule, raising :class:`RuleError` on the first bad one (nothing is half-applied)."""
    if not isinstance(rules, list | tuple):
        raise RuleError("rules", "must be a list")
    lines = set(known_lines) if known_lines is not None else None
    compiled = []
    names: set[str] = set()
    for i, rule in enumerate(rules):
        c = compile_rule(rule, i, known_lines=lines)
        if c.name in names:
            raise RuleError(f"rules[{i}].name", f"duplicate rule name {c.name!r}")
        names.add(c.name)
        if rule.get("enabled", True):
            compiled.append(c)
    return compiled


_FALLBACK = Decision(line=None, rule=FALLBACK_RULE, severity=None, tags=())


def decide(rules: Sequence[CompiledRule], facts: TicketFacts) -> Decision:
    text = facts.subject + "\n" + facts.description
    text_lower = text.lower()
    for rule in rules:
        if rule.matches_fields(facts) and rule.matches_text(facts, text_lower, text):
            return rule.decision
    return _FALLBACK


_FieldsKey = tuple[str, str, str, str, str]


class Router:
    """A compiled rule set that remembers, per combination of field values (product, category, organisation
    tier, severity, language), which rules can still match and must have their text checked.

    Tickets share few such combinations, so replaying 100,000 tickets over 200 rules costs a handful of
    keyword/regex checks per ticket instead of 200 rule evaluations; the result is the same as :func:`decide`.
    """

    MAX_PLANS = 50_000  # free-text categories could grow the memo without bound; start over past this

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self._plans: dict[_FieldsKey, tuple[tuple[CompiledRule, ...], Decision]] = {}

    def _plan(self, facts: TicketFacts) -> tuple[tuple[CompiledRule, ...], Decision]:
        text_rules: list[CompiledRule] = []
        otherwise = _FALLBACK
        for rule in self.rules:
            if not rule.matches_fields(facts):
                continue
            if not rule.has_text_conditions:
                otherwise = rule.decision  # matches every text: nothing after it can win
                break
            text_rules.append(rule)
        return tuple(text_rules), otherwise

    def decide(self, facts: TicketFacts) -> Decision:
        key = (facts.product, facts.category, facts.org_tier, facts.severity, facts.language)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= self.MAX_PLANS:
                self._plans.clear()
            plan = self._plans[key] = self._plan(facts)
        text_rules, otherwise = plan
        if text_rules:
            text = facts.subject + "\n" + facts.description
            text_lower = text.lower()
            for rule in text_rules:
                if rule.matches_text(facts, text_lower, text):
                    return rule.decision
        return otherwise
