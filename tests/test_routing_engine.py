"""The rule engine: first match wins, each condition kind, fallback; the memoised Router agrees with decide()."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.desk.routing.engine import FALLBACK_RULE, Router, RuleError, TicketFacts, compile_rules, decide

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
