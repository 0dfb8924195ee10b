"""Matching a ticket against a rule set: first enabled rule whose every condition holds wins.

Rules are compiled once per rule-set version (lists turned into frozensets, keywords lower-cased, regexes
checked and compiled with RE2). Text conditions are matched in one pass: :func:`compile_rules` builds one
``re2.Set`` holding every rule's regex and every keyword (an escaped literal), all case-insensitive, and a
decision scans the ticket's text once to learn which regexes and keywords occur; each rule then only looks
its conditions up. RE2 runs in time linear in the text whatever the pattern, so a lead's regex cannot hang
routing (``(a+)+$`` is harmless); Python-only syntax (backreferences, lookaround, atomic groups, possessive
quantifiers) is refused when the rule is saved.

Regexes are written in Python syntax and keep Python's meaning where RE2's differs: ``\\d``, ``\\w``, ``\\s``
(and their negations) are Unicode classes as in Python (``\\w`` matches 中文), ``\\Z`` is the end of the text,
``\\uXXXX``, ``\\N{...}``, octal escapes and ``a{,3}`` mean what they mean in Python, ``$`` also matches
before a final newline, ``[`` inside a class is a literal. What remains different (see docs/routing.md):
``\\b``/``\\B`` are ASCII word boundaries, ``\\W`` inside a character class is ASCII, a pattern that turns
``(?m)`` on anywhere keeps RE2's ``$`` outside that group, and case folding of a few variant letters.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, SupportsIndex

import re2

FALLBACK_RULE = "fallback"

CONDITION_KEYS = ("products", "categories", "keywords", "regex", "org_tiers", "severities", "languages")
ACTION_KEYS = ("line", "severity", "tags")

UNSUPPORTED = "not supported (RE2 syntax: no backreferences or lookaround)"


def _re2_options(max_mem: int = 8 << 20) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is reported to the lead, not logged to stderr
    options.max_mem = max_mem
    return options


_OPTIONS = _re2_options()


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
    regex: Any  # re2 compiled pattern (case-insensitive) or None
    org_tiers: frozenset[str]
    severities: frozenset[str]
    languages: frozenset[str]
    line: str
    severity: str | None
    tags: tuple[str, ...] = field(default=())
    regex_re2: str = ""  # the pattern as given to RE2 (Python's meaning of \d, \w, \s… spelled out)
    keyword_re: Any = None  # one case-insensitive RE2 alternation of the keywords, for checking this rule alone

    def matches(self, facts: TicketFacts, text_lower: str | None = None) -> bool:
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

    def matches_text(self, facts: TicketFacts, text_lower: str | None = None, text: str | None = None) -> bool:
        """This rule's keyword and regex conditions checked on their own (the same answer as the one-pass
        :class:`TextMatcher` of a rule set, which :func:`decide` and :class:`Router` use).

        ``text`` is subject + newline + description (built here when not given); ``text_lower`` is accepted for
        compatibility and not needed: matching is case-insensitive (Unicode simple case folding).
        """
        if not self.has_text_conditions:
            return True
        if text is None:
            text = text_of(facts)
        if self.keyword_re is not None and self.keyword_re.search(text) is None:
            return False
        if self.regex is not None and self.regex.search(text) is None:
            return False
        return True

    @property
    def decision(self) -> Decision:
        return Decision(line=self.line, rule=self.name, severity=self.severity, tags=self.tags)


def text_of(facts: TicketFacts) -> str:
    """The text keywords and regexes are searched in."""
    return facts.subject + "\n" + facts.description


class RuleError(ValueError):
    """A rule that cannot be compiled; ``field`` is e.g. ``rules[3].when.regex``."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


# --- Python regex syntax -> RE2 -----------------------------------------------------------------------------

_SPACE = r"\t\n\x{b}\f\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
_SPACE_RANGES = [(0x9, 0xD), (0x1C, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
                 (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]


def _complement(ranges: list[tuple[int, int]]) -> str:
    out, start = [], 0
    for lo, hi in ranges:
        if start < lo:
            out.append(rf"\x{{{start:x}}}-\x{{{lo - 1:x}}}")
        start = hi + 1
    out.append(rf"\x{{{start:x}}}-\x{{10ffff}}")
    return "".join(out)


_NOT_SPACE = _complement(_SPACE_RANGES)
# Python's str-pattern classes, exactly (checked against every assigned code point of Python's Unicode data).
_OUTSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": r"[\p{L}\p{N}_]", "W": r"[^\p{L}\p{N}_]",
            "s": f"[{_SPACE}]", "S": f"[^{_SPACE}]", "Z": r"\z"}
_INSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": r"\p{L}\p{N}_", "s": _SPACE, "S": _NOT_SPACE, "b": r"\x{8}"}
# Python's "$" without MULTILINE also matches before a final newline; RE2's only at the very end. Only whether
# a rule matches is used, never the span, so consuming that newline changes nothing.
_PY_DOLLAR = r"(?:\n?\z)"
_MULTILINE_FLAG = re.compile(r"\(\?[aiLmsux]*m")
_OCT = "01234567"
_HEX = "0123456789abcdefABCDEF"


def to_re2(pattern: str) -> str:
    """A pattern Python's ``re`` accepted, rewritten so that RE2 gives it Python's meaning where RE2 can.

    Constructs RE2 lacks (backreferences, lookaround, ``(?x)``…) are copied unchanged: RE2 then refuses them.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    dollar = "$" if _MULTILINE_FLAG.search(pattern) else _PY_DOLLAR
    in_class = False
    class_start = -1  # index just after "[" or "[^": a "]" there is a literal
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            table = _INSIDE if in_class else _OUTSIDE
            if e in table:
                out.append(table[e])
                i += 2
            elif e == "u" and i + 6 <= n:
                out.append(rf"\x{{{pattern[i + 2:i + 6]}}}")
                i += 6
            elif e == "U" and i + 10 <= n:
                out.append(rf"\x{{{pattern[i + 2:i + 10]}}}")
                i += 10
            elif e == "N" and i + 2 < n and pattern[i + 2] == "{" and "}" in pattern[i + 3:]:
                end = pattern.index("}", i + 3)
                out.append(rf"\x{{{ord(unicodedata.lookup(pattern[i + 3:end])):x}}}")
                i = end + 1
            elif e == "0" or (e in _OCT and (in_class or (i + 3 < n and pattern[i + 2] in _OCT
                                                           and pattern[i + 3] in _OCT))):
                j = i + 1
                while j < n and j < i + 4 and pattern[j] in _OCT:
                    j += 1
                out.append(rf"\x{{{int(pattern[i + 1:j], 8):x}}}")
                i = j
            else:
                out.append(pattern[i:i + 2])
                i += 2
            continue
        if in_class:
            if c == "]" and i != class_start:
                in_class = False
            elif c == "[":
                c = r"\["  # Python: a literal "["; RE2 would read "[:alpha:]" as a POSIX class
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            class_start = i + 2 if pattern.startswith("^", i + 1) else i + 1
            out.append(pattern[i:class_start])
            i = class_start
            continue
        if c == "(" and pattern.startswith("(?#", i):
            i = pattern.index(")", i) + 1  # a comment (Python accepted it, so it is closed)
            continue
        if c == "{":
            m = re.match(r"\{,(\d*)\}", pattern[i:])
            if m:
                out.append("{0," + m.group(1) + "}")  # Python: {,n} is {0,n}; RE2 would read it as text
                i += m.end()
                continue
        if c == "$":
            c = dollar
        out.append(c)
        i += 1
    return "".join(out)


def compile_regex(source: str) -> tuple[Any, str]:
    """(RE2 pattern object, RE2 source) for a rule's regex, or :class:`ValueError` with the message to show."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set": "[" in a class is a literal, which is kept
            re.compile(source, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    try:
        translated = to_re2(source)
        return re2.compile(translated, _OPTIONS), translated
    except (re2.error, ValueError, KeyError) as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise ValueError(f"{UNSUPPORTED}: {detail}; rule regexes must run in linear time") from None


def _keyword_pattern(keywords: Sequence[str]) -> str:
    return "|".join(re2.escape(k) for k in keywords)


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
    regex, regex_re2 = None, ""
    if regex_src:
        if not isinstance(regex_src, str):
            raise RuleError(f"{where}.when.regex", "must be a string")
        try:
            regex, regex_re2 = compile_regex(regex_src)
        except ValueError as exc:
            raise RuleError(f"{where}.when.regex", str(exc)) from None
    line = then.get("line")
    if not isinstance(line, str) or not line:
        raise RuleError(f"{where}.then.line", "is required")
    if known_lines is not None and line not in set(known_lines):
        raise RuleError(f"{where}.then.line", f"unknown line {line!r}")
    severity = then.get("severity") or None
    if severity is not None and severity not in ("P1", "P2", "P3", "P4"):
        raise RuleError(f"{where}.then.severity", "must be one of P1, P2, P3, P4")
    keywords = tuple(sorted(k.lower() for k in _str_set(when.get("keywords"), f"{where}.when.keywords")))
    return CompiledRule(
        name=name.strip(),
        products=_str_set(when.get("products"), f"{where}.when.products"),
        categories=_str_set(when.get("categories"), f"{where}.when.categories"),
        keywords=keywords,
        regex=regex,
        org_tiers=_str_set(when.get("org_tiers"), f"{where}.when.org_tiers"),
        severities=_str_set(when.get("severities"), f"{where}.when.severities"),
        languages=_str_set(when.get("languages"), f"{where}.when.languages"),
        line=line,
        severity=severity,
        tags=tuple(sorted(_str_set(then.get("tags"), f"{where}.then.tags"))),
        regex_re2=regex_re2,
        keyword_re=re2.compile(_keyword_pattern(keywords), _OPTIONS) if keywords else None,
    )


# --- one pass over the text for a whole rule set -------------------------------------------------------------


class TextMatcher:
    """Every keyword and regex of a rule set in one ``re2.Set``: :meth:`satisfied` scans a text once and returns
    the positions (in rule order) of the rules whose text conditions hold.

    Pattern 0 is the empty pattern, which matches every text: RE2 reports an empty result only when its DFA
    ran out of memory, and then the rules are checked one by one (each RE2 regex falls back to its NFA),
    so an answer is never silently wrong.
    """

    MAX_MEM = 64 << 20

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self.text_positions = tuple(p for p, r in enumerate(self.rules) if r.has_text_conditions)
        self._set = re2.Set.SearchSet(_re2_options(self.MAX_MEM))
        self._set.Add("")
        ids: dict[str, int] = {"": 0}
        keyword_rules: dict[int, list[int]] = {}
        regex_rules: dict[int, list[int]] = {}
        self._needs_both = set()
        for pos in self.text_positions:
            rule = self.rules[pos]
            for kw in rule.keywords:
                keyword_rules.setdefault(self._add(ids, re2.escape(kw)), []).append(pos)
            if rule.regex is not None:
                regex_rules.setdefault(self._add(ids, rule.regex_re2), []).append(pos)
            if rule.keywords and rule.regex is not None:
                self._needs_both.add(pos)
        self._set.Compile()
        self._keyword_rules = {i: tuple(p) for i, p in keyword_rules.items()}
        self._regex_rules = {i: tuple(p) for i, p in regex_rules.items()}
        self.patterns = len(ids)

    def _add(self, ids: dict[str, int], pattern: str) -> int:
        i = ids.get(pattern)
        if i is None:
            i = ids[pattern] = self._set.Add(pattern)
        return i

    def satisfied(self, text: str) -> list[int]:
        """Sorted positions of the rules (with text conditions) whose keywords and regex all hold in ``text``."""
        hits = self._set.Match(text)
        if not hits:  # the DFA gave up (see the class docstring)
            return [p for p in self.text_positions if self.rules[p].matches_text(_NO_FACTS, None, text)]
        if len(hits) == 1:
            return []
        keyword_ok: set[int] = set()
        regex_ok: set[int] = set()
        kw_rules, re_rules = self._keyword_rules, self._regex_rules
        for i in hits:
            if i in kw_rules:
                keyword_ok.update(kw_rules[i])
            if i in re_rules:
                regex_ok.update(re_rules[i])
        ok = keyword_ok | regex_ok
        if self._needs_both:
            ok -= {p for p in self._needs_both if p not in keyword_ok or p not in regex_ok}
        return sorted(ok)


_NO_FACTS = TicketFacts(product="", category="", subject="", description="", org_tier="", severity="", language="")


class CompiledRules(list[CompiledRule]):
    """What :func:`compile_rules` returns: a list of rules that also holds its :class:`TextMatcher` (built on
    first use, dropped when the list is changed)."""

    _matcher: TextMatcher | None = None

    @property
    def matcher(self) -> TextMatcher:
        if self._matcher is None:
            self._matcher = TextMatcher(self)
        return self._matcher

    def _changed(self) -> None:
        self._matcher = None

    def __setitem__(self, index: Any, value: Any) -> None:
        self._changed()
        super().__setitem__(index, value)

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        self._changed()
        super().__delitem__(index)

    def __iadd__(self, other: Iterable[CompiledRule]) -> CompiledRules:  # type: ignore[override]
        self._changed()
        return super().__iadd__(other)

    def __imul__(self, n: SupportsIndex) -> CompiledRules:  # type: ignore[override]
        self._changed()
        return super().__imul__(n)

    def append(self, value: CompiledRule) -> None:
        self._changed()
        super().append(value)

    def extend(self, values: Iterable[CompiledRule]) -> None:
        self._changed()
        super().extend(values)

    def insert(self, index: SupportsIndex, value: CompiledRule) -> None:
        self._changed()
        super().insert(index, value)

    def pop(self, index: SupportsIndex = -1) -> CompiledRule:
        self._changed()
        return super().pop(index)

    def remove(self, value: CompiledRule) -> None:
        self._changed()
        super().remove(value)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def reverse(self) -> None:
        self._changed()
        super().reverse()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().sort(*args, **kwargs)


def compile_rules(rules: Sequence[dict[str, Any]], *, known_lines: Iterable[str] | None = None) -> CompiledRules:
    """Compile every enabled rule, raising :class:`RuleError` on the first bad one (nothing is half-applied)."""
    if not isinstance(rules, list | tuple):
        raise RuleError("rules", "must be a list")
    lines = set(known_lines) if known_lines is not None else None
    compiled = CompiledRules()
    names: set[str] = set()
    for i, rule in enumerate(rules):
        c = compile_rule(rule, i, known_lines=lines)
        if c.name in names:
            raise RuleError(f"rules[{i}].name", f"duplicate rule name {c.name!r}")
        names.add(c.name)
        if rule.get("enabled", True):
            list.append(compiled, c)
    return compiled


_FALLBACK = Decision(line=None, rule=FALLBACK_RULE, severity=None, tags=())

# Matchers for rule sequences that are not a CompiledRules (a slice, a tuple): keyed by the rules' identities;
# the matcher holds the rules, so the ids stay theirs while the entry lives.
_MATCHERS: dict[tuple[int, ...], TextMatcher] = {}
_MAX_MATCHERS = 16


def matcher_for(rules: Sequence[CompiledRule]) -> TextMatcher:
    if isinstance(rules, CompiledRules):
        return rules.matcher
    key = tuple(map(id, rules))
    found = _MATCHERS.get(key)
    if found is None:
        if len(_MATCHERS) >= _MAX_MATCHERS:
            _MATCHERS.pop(next(iter(_MATCHERS)))
        found = _MATCHERS[key] = TextMatcher(rules)
    return found


def decide(rules: Sequence[CompiledRule], facts: TicketFacts) -> Decision:
    """The first rule (in order) whose field and text conditions all hold; the text is scanned at most once."""
    satisfied: set[int] | None = None
    for pos, rule in enumerate(rules):
        if not rule.matches_fields(facts):
            continue
        if rule.keywords or rule.regex is not None:
            if satisfied is None:
                satisfied = set(matcher_for(rules).satisfied(text_of(facts)))
            if pos not in satisfied:
                continue
        return rule.decision
    return _FALLBACK


_FieldsKey = tuple[str, str, str, str, str]


class Router:
    """A compiled rule set that remembers, per combination of field values (product, category, organisation
    tier, severity, language), which rules can still match and must have their text checked.

    Tickets share few such combinations, so replaying 100,000 tickets over 200 rules costs one RE2 scan of the
    text (only when some rule of the combination has a text condition) and a few set look-ups per ticket
    instead of 200 rule evaluations; the result is the same as :func:`decide`.
    """

    MAX_PLANS = 50_000  # free-text categories could grow the memo without bound; start over past this

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self.matcher = TextMatcher(self.rules)
        self._plans: dict[_FieldsKey, tuple[frozenset[int], Decision]] = {}

    def _plan(self, facts: TicketFacts) -> tuple[frozenset[int], Decision]:
        text_rules: set[int] = set()
        otherwise = _FALLBACK
        for pos, rule in enumerate(self.rules):
            if not rule.matches_fields(facts):
                continue
            if not rule.has_text_conditions:
                otherwise = rule.decision  # matches every text: nothing after it can win
                break
            text_rules.add(pos)
        return frozenset(text_rules), otherwise

    def decide(self, facts: TicketFacts) -> Decision:
        key = (facts.product, facts.category, facts.org_tier, facts.severity, facts.language)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= self.MAX_PLANS:
                self._plans.clear()
            plan = self._plans[key] = self._plan(facts)
        text_rules, otherwise = plan
        if text_rules:
            for pos in self.matcher.satisfied(facts.subject + "\n" + facts.description):
                if pos in text_rules:
                    return self.rules[pos].decision
        return otherwise
