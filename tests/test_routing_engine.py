"""The rule engine: first match wins, each condition kind, fallback; the memoised Router agrees with decide()."""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.desk.routing.engine import (
    FALLBACK_RULE,
    Router,
    RuleError,
    TicketFacts,
    compile_regex,
    compile_rules,
    decide,
)

RULES = [
    {"name": "off", "enabled": False, "when": {}, "then": {"line": "network"}},
    {"name": "vip-p1", "when": {"org_tiers": ["enterprise"], "severities": ["P1"]}, "then": {"line": "security",
                                                                                             "tags": ["vip"]}},
    {"name": "oss-403", "when": {"products": ["oss"], "keywords": ["403", "AccessDenied"]},
     "then": {"line": "storage", "severity": "P2"}},
    {"name": "blackhole", "when": {"regex": r"黑洞|black\s*hole"}, "then": {"line": "security"}},
    {"name": "zh-rds", "when": {"products": ["rds-mysql"], "languages": ["zh"]}, "then": {"line": "database"}},
    {"name": "billing", "when": {"categories": ["billing"]}, "then": {"line": "fallback"}},
    {"name": "ecs", "when": {"products": ["ecs"]}, "then": {"line": "compute"}},
]


def facts(**kw):
    base = dict(product="ecs", category="", subject="", description="", org_tier="basic", severity="P3", language="en")
    base.update(kw)
    return TicketFacts(**base)


@pytest.mark.parametrize(
    ("kw", "rule", "line"),
    [
        ({}, "ecs", "compute"),
        ({"org_tier": "enterprise", "severity": "P1", "product": "oss", "subject": "403"}, "vip-p1", "security"),
        ({"product": "oss", "subject": "PutObject", "description": "returns accessdenied"}, "oss-403", "storage"),
        ({"product": "oss", "subject": "slow upload"}, FALLBACK_RULE, None),
        ({"product": "slb", "description": "SLB IP 进入黑洞"}, "blackhole", "security"),
        ({"product": "slb", "subject": "Black  Hole triggered"}, "blackhole", "security"),
        ({"product": "rds-mysql", "language": "zh"}, "zh-rds", "database"),
        ({"product": "rds-mysql", "language": "en"}, FALLBACK_RULE, None),
        ({"product": "other", "category": "billing"}, "billing", "fallback"),
    ],
)
def test_first_match_wins(kw, rule, line):
    compiled = compile_rules(RULES)
    decision = decide(compiled, facts(**kw))
    assert (decision.rule, decision.line) == (rule, line)
    assert Router(compiled).decide(facts(**kw)) == decision


def test_actions_carry_severity_and_tags():
    compiled = compile_rules(RULES)
    d = decide(compiled, facts(product="oss", subject="403"))
    assert d.severity == "P2" and not d.fallback
    assert decide(compiled, facts(org_tier="enterprise", severity="P1")).tags == ("vip",)


def test_compile_errors_name_the_field():
    with pytest.raises(RuleError) as err:
        compile_rules([RULES[1], {"name": "x", "when": {"regex": "a{2,1}"}, "then": {"line": "cdn"}}])
    assert err.value.field == "rules[1].when.regex"
    with pytest.raises(RuleError) as err:
        compile_rules([{"name": "x", "then": {"line": "moon"}}], known_lines=["cdn"])
    assert err.value.field == "rules[0].then.line"


WORDS = ["403", "AccessDenied", "黑洞", "black hole", "slow", "timeout", "重启", "billing"]
fact_strategy = st.builds(
    TicketFacts,
    product=st.sampled_from(["ecs", "oss", "rds-mysql", "slb", "other"]),
    category=st.sampled_from(["", "billing", "network"]),
    subject=st.lists(st.sampled_from(WORDS), max_size=3).map(" ".join),
    description=st.text(max_size=40) | st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join),
    org_tier=st.sampled_from(["basic", "business", "enterprise"]),
    severity=st.sampled_from(["P1", "P2", "P3", "P4"]),
    language=st.sampled_from(["en", "zh"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(fact_strategy, min_size=1, max_size=20))
def test_router_agrees_with_decide(many):
    compiled = compile_rules(RULES)
    router = Router(compiled)  # shared across the list: memoised plans must not leak between tickets
    for f in many:
        assert router.decide(f) == decide(compiled, f)


rule_strategy = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=8)},
    optional={
        "when": st.dictionaries(st.sampled_from(["products", "keywords", "regex", "severities", "zzz"]),
                                st.one_of(st.text(max_size=6), st.lists(st.text(max_size=4), max_size=2),
                                          st.integers())),
        "then": st.dictionaries(st.sampled_from(["line", "severity", "tags"]),
                                st.one_of(st.text(max_size=5), st.sampled_from(["P1", "cdn"]), st.none())),
        "enabled": st.booleans(),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(rule_strategy | st.integers() | st.text(max_size=3), max_size=4))
def test_any_rule_list_compiles_or_raises_rule_error(rules):
    try:
        compile_rules(rules)
    except RuleError as exc:
        assert exc.field.startswith("rules")


# --- RE2: one pass over the text, Python's meaning, linear time ----------------------------------------------

def reference_decide(rules, f):
    """The plain definition, with Python's ``re`` and ``str.lower``: first enabled rule whose conditions hold."""
    text = f.subject + "\n" + f.description
    for r in rules:
        if not r.get("enabled", True):
            continue
        when = r.get("when", {})
        if any(when.get(key) and getattr(f, attr) not in when[key] for key, attr in (
                ("products", "product"), ("categories", "category"), ("org_tiers", "org_tier"),
                ("severities", "severity"), ("languages", "language"))):
            continue
        if when.get("keywords") and not any(k.lower() in text.lower() for k in when["keywords"]):
            continue
        if when.get("regex"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # "[[:x]": a possible nested set, literal today
                if re.search(when["regex"], text, re.IGNORECASE) is None:
                    continue
        return r["name"], r["then"]["line"]
    return FALLBACK_RULE, None


# RE2-compatible patterns, several of which only mean the same as in Python because of the rewriting
# (\d \w \s are Unicode, \Z, $ before a final newline, {,n}, \uXXXX, \N{…}, (?#…), "[" inside a class).
PATTERNS = [
    r"黑洞|black\s*hole", r"err(or)?\s*\d+", r"^紧急", r"处理。$", r"\w+@\w+", r"[a-f\d]{4,}", r"time\s?out|超时",
    r"\d{2}\Z", r"(a+)+$", r"[[:x]", r"ab{,2}c", r"\u9ed1洞", r"(?#note)403", r"\S+\s\S+\s\S+", r"ÉCOLE",
    r"(?s)a.b", r"\N{IDEOGRAPHIC SPACE}", r"\D\d\D", r"[\s\d]{3}", r"[^\S\n]x", r"\W{2}", r"x|", r"\x41\101",
    r"(?i:Ab)[\w-]+", r"^$", r"\A\n",
]
KEYWORDS = ["403", "AccessDenied", "黑洞", "Timeout", "École", "ＥＲＲ", "处理", "a b", "x", "Ab"]
TOKENS = ["a", "A", "b", "B", "c", "x", "X", "@", "_", "-", "!", ":", "[", " ", "\t", "\n", "\u3000", "0", "7",
          "４", "黑", "洞", "紧急", "处理。", "超时", "error 42", "ERR４２", "Timeout", "black  HOLE", "école",
          "ÉCOLE", "accessdenied", "403", "ｅｒｒ", "ab", "abbc", "abbbc", "é"]
text_strategy = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)
rich_facts = st.builds(
    TicketFacts,
    product=st.sampled_from(["ecs", "oss"]), category=st.sampled_from(["", "billing"]),
    subject=text_strategy, description=text_strategy,
    org_tier=st.sampled_from(["basic", "enterprise"]), severity=st.sampled_from(["P1", "P3"]),
    language=st.sampled_from(["en", "zh"]),
)


@st.composite
def rule_sets(draw):
    rules = []
    for i in range(draw(st.integers(1, 8))):
        when = {}
        if draw(st.booleans()):
            when["keywords"] = draw(st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=3, unique=True))
        if draw(st.booleans()):
            when["regex"] = draw(st.sampled_from(PATTERNS))
        for key, values in (("products", ["ecs", "oss"]), ("categories", ["", "billing"]),
                            ("org_tiers", ["basic", "enterprise"]), ("severities", ["P1", "P3"]),
                            ("languages", ["en", "zh"])):
            if draw(st.integers(0, 4)) == 0:
                when[key] = [draw(st.sampled_from(values))]
        when.pop("categories", None) if when.get("categories") == [""] else None
        rules.append({"name": f"r{i}", "enabled": draw(st.integers(0, 5)) > 0, "when": when,
                      "then": {"line": draw(st.sampled_from(["a", "b", "c"]))}})
    return rules


@settings(max_examples=400, deadline=None)
@given(rule_sets(), st.lists(rich_facts, min_size=1, max_size=15))
def test_one_pass_matching_agrees_with_python_re_reference(rules, many):
    compiled = compile_rules(rules)
    router = Router(compiled)
    for f in many:
        expected = reference_decide(rules, f)
        d = decide(compiled, f)
        assert (d.rule, d.line) == expected
        assert router.decide(f) == d
        alone = next((r.decision for r in compiled if r.matches(f)), None)  # each rule checked on its own
        assert (alone.rule, alone.line) == expected if alone else expected[0] == FALLBACK_RULE


@pytest.mark.parametrize(
    ("when", "subject", "description", "hit"),
    [
        ({"keywords": ["AccessDenied"]}, "PutObject", "ACCESSDENIED for bucket", True),
        ({"keywords": ["ACCESSDENIED"]}, "putobject 返回 accessdenied", "", True),
        ({"keywords": ["黑洞"]}, "SLB进入黑洞了", "", True),
        ({"keywords": ["黑洞清洗"]}, "黑洞", "清洗", False),  # substring of the text, not of one word each
        ({"keywords": ["Timeout 超时"]}, "", "连接 TIMEOUT 超时 again", True),
        ({"keywords": ["ｅｒｒ"]}, "ＥＲＲ 代码", "", True),  # full-width letters fold like ASCII
        ({"keywords": ["École"]}, "ÉCOLE fermée", "", True),
        ({"keywords": ["ab"]}, "a", "b", False),  # subject and description are joined by a newline
        ({"regex": r"Black\s*Hole|黑洞"}, "black\u3000hole", "", True),  # \s is Unicode, as in Python
        ({"regex": r"错误\d+"}, "错误４２", "", True),  # \d is Unicode (full-width digits)
        ({"regex": r"^\w+$"}, "中文标题", "详情", False),  # "$" is the end of the text: the description follows
        ({"regex": r"^\w+$"}, "中文标题", "\n", False),
        ({"regex": r"^\w+\n$"}, "中文标题", "", True),
        ({"regex": r"标题$"}, "中文标题", "", True),  # Python's $: before a final newline
        ({"regex": r"[[:alpha:]]"}, "alpha", "", False),  # "[" is literal in a class, as in Python
        ({"regex": r"[[:alpha:]]"}, "[]", "", True),
    ],
)
def test_text_conditions_are_case_insensitive_on_chinese_and_mixed_text(when, subject, description, hit):
    raw = [{"name": "t", "when": when, "then": {"line": "network"}}]
    f = facts(subject=subject, description=description)
    assert (reference_decide(raw, f)[0] == "t") is hit  # what Python's re / str.lower say
    compiled = compile_rules(raw)
    assert (decide(compiled, f).rule == "t") is hit
    assert (Router(compiled).decide(f).rule == "t") is hit
    assert compiled[0].matches_text(f) is hit


def test_word_boundary_is_ascii_in_re2():
    """The documented difference: RE2's \\b only knows ASCII words, so a number followed by Chinese ends a word
    (Python's \\b would see no boundary between "42" and "故障")."""
    compiled = compile_rules([{"name": "e42", "when": {"regex": r"error\s*42\b"}, "then": {"line": "cdn"}}])
    assert decide(compiled, facts(subject="error 42故障")).rule == "e42"
    assert decide(compiled, facts(subject="error 421")).fallback


@settings(max_examples=300, deadline=None)
@given(st.characters(exclude_categories=["Cn", "Cs"]))
def test_perl_classes_mean_what_they_mean_in_python(ch):
    for pattern in [r"\d", r"\D", r"\w", r"\W", r"\s", r"\S", r"[\d]", r"[\w]", r"[\s]", r"[\S]", r"[\D]"]:
        regex, _ = compile_regex(pattern)
        assert (regex.search(ch) is not None) == (re.search(pattern, ch, re.IGNORECASE) is not None), pattern


ADVERSARIAL = [r"(a+)+$", r"(a|aa)*c", r"(a*)*b", r"^(a|a?)+$", r"(\w+\s?)+$", r"(.*a){12}z", r"(x+x+)+y"]


@pytest.mark.timeout(120)
def test_pathological_regexes_route_a_100_kb_text_in_linear_time():
    """Each of these backtracks exponentially in Python's re on this text (it would not finish); RE2 has no
    backtracking. A generous timeout, no timing assertion."""
    rules = [{"name": f"p{i}", "when": {"regex": p}, "then": {"line": "cdn"}} for i, p in enumerate(ADVERSARIAL)]
    rules.append({"name": "kw", "when": {"keywords": ["not-there"]}, "then": {"line": "cdn"}})
    compiled = compile_rules(rules)
    f = facts(subject="aaaa", description="a" * 100_000 + "!")
    assert decide(compiled, f).fallback
    assert Router(compiled).decide(f).fallback
    assert not any(r.matches_text(f) for r in compiled)
    xs = facts(subject="", description="x" * 100_000 + "!")
    assert decide(compiled, xs).fallback and Router(compiled).decide(xs).fallback
    assert decide(compiled, facts(subject="", description="a" * 100_000)).rule == "p0"  # (a+)+$ does match


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", r"(?P<w>a)(?P=w)", r"foo(?=bar)", r"foo(?!bar)", r"(?<=a)b", r"(?<!a)b", r"(?>ab|a)c", r"a++",
     r"(a)?(?(1)b|c)", r"(?x) a b"],
)
def test_python_only_syntax_is_refused_with_the_field(pattern):
    with pytest.raises(RuleError) as err:
        compile_rules([RULES[1], {"name": "x", "when": {"regex": pattern}, "then": {"line": "cdn"}}])
    assert err.value.field == "rules[1].when.regex"
    assert "not supported (RE2 syntax: no backreferences or lookaround)" in err.value.message


@pytest.mark.parametrize("pattern", ["(unclosed", "a{2,1}", "*", "["])
def test_invalid_regex_keeps_the_python_message(pattern):
    with pytest.raises(RuleError) as err:
        compile_rules([{"name": "x", "when": {"regex": pattern}, "then": {"line": "cdn"}}])
    assert err.value.field == "rules[0].when.regex" and err.value.message.startswith("invalid regular expression")


def test_a_decision_scans_the_text_once():
    rules = [{"name": f"w{i}", "when": {"keywords": [f"kw{i}", f"关键字{i}"]} if i % 4 else {"regex": rf"err\s*{i}"},
              "then": {"line": "cdn"}} for i in range(200)]
    compiled = compile_rules(rules)
    calls = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def Match(self, text):  # noqa: N802 - re2.Set's name
            calls.append(len(text))
            return self.inner.Match(text)

    matcher = compiled.matcher
    matcher._set = Counting(matcher._set)
    assert decide(compiled, facts(description="nothing here " * 300)).fallback
    assert decide(compiled, facts(description="x 关键字41 y")).rule == "w41"  # 关键字4 is no keyword (w4 is a regex)
    assert decide(compiled, facts(description="ERR 4 and kw9")).rule == "w4"
    assert len(calls) == 3
    assert matcher.patterns == 1 + 150 * 2 + 50  # the always-matching sentinel, keywords, regexes


def test_when_the_set_gives_up_rules_are_checked_one_by_one():
    """RE2::Set reports nothing at all when its DFA runs out of memory; the sentinel pattern tells that apart
    from "no match", and the rules are then checked one at a time (same answer)."""
    compiled = compile_rules(RULES)

    class GaveUp:
        def Match(self, text):  # noqa: N802
            return None

    compiled.matcher._set = GaveUp()
    for kw, rule in [({"product": "slb", "description": "进入黑洞"}, "blackhole"),
                     ({"product": "oss", "subject": "ACCESSDENIED"}, "oss-403"),
                     ({"product": "oss", "subject": "slow"}, FALLBACK_RULE)]:
        assert decide(compiled, facts(**kw)).rule == rule


def test_changing_the_compiled_list_rebuilds_its_matcher():
    compiled = compile_rules(RULES)
    f = facts(product="oss", subject="quota exceeded")
    assert decide(compiled, f).fallback
    compiled.insert(0, compile_rules([{"name": "quota", "when": {"keywords": ["QUOTA"]},
                                       "then": {"line": "storage"}}])[0])
    assert decide(compiled, f).rule == "quota"
    assert decide(compiled[1:], f).fallback  # a plain list (a slice) works too
    assert decide(tuple(compiled), f).rule == "quota"


@pytest.fixture
def lead(db):
    from django.contrib.auth import get_user_model

    from casework.desk.team.models import Profile, Role
    from casework.desk.team.reference import ensure_reference_data

    ensure_reference_data()
    user = get_user_model().objects.create_user("lead-re2", password="x")
    Profile.objects.create(user=user, role=Role.LEAD)
    return user


def test_rule_services_report_unsupported_regex_by_field_path(lead):
    from casework.desk.errors import DeskError
    from casework.desk.routing import rulesets

    draft = rulesets.create_draft(actor=lead)
    rules = [{"name": "ok", "when": {"regex": r"(a+)+$"}, "then": {"line": "network"}},
             {"name": "back", "when": {"regex": r"(\w+) \1"}, "then": {"line": "network"}}]
    with pytest.raises(DeskError) as err:
        rulesets.update_draft(version=draft.version, rules=rules, actor=lead)
    assert list(err.value.errors) == ["rules[1].when.regex"]
    assert "not supported (RE2 syntax: no backreferences or lookaround)" in err.value.errors["rules[1].when.regex"][0]
    text = "rules:\n  - name: a\n    when: {regex: 'x(?=y)'}\n    then: {line: network}\n"
    with pytest.raises(DeskError) as err:
        rulesets.import_yaml(text, actor=lead)
    message = " ".join(err.value.errors["yaml"])
    assert "line 3: rules[0].when.regex: " in message and "not supported (RE2 syntax" in message
    rulesets.update_draft(version=draft.version, rules=rules[:1], actor=lead)  # (a+)+$ is fine: RE2 is linear
