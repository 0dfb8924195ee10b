"""Rule-set services: drafts, field-path validation, publish/rollback history, YAML round trip and bad input."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from casework.desk.errors import DeskError
from casework.desk.routing import rulesets
from casework.desk.routing.models import RuleSet
from casework.desk.team.models import Organisation, Profile, Role
from casework.desk.team.reference import ensure_reference_data
from casework.desk.tickets import services

pytestmark = pytest.mark.django_db

RULES = [
    {"name": "oss-403", "when": {"products": ["oss"], "keywords": ["403", "AccessDenied"]},
     "then": {"line": "storage", "tags": ["acl"]}},
    {"name": "ddos-blackhole", "when": {"regex": r"黑洞|black\s*hole"}, "then": {"line": "security", "severity": "P1"}},
    {"name": "ecs", "when": {"products": ["ecs", "ess"]}, "then": {"line": "compute"}},
]


@pytest.fixture
def lead(db):
    ensure_reference_data()
    user = get_user_model().objects.create_user("lead-ann", password="x")
    Profile.objects.create(user=user, role=Role.LEAD)
    return user


@pytest.fixture
def org(db):
    return Organisation.objects.create(name="Example Retail", tier=Organisation.Tier.ENTERPRISE)


def _published(lead, rules=RULES):
    draft = rulesets.create_draft(actor=lead)
    rulesets.update_draft(version=draft.version, rules=rules, actor=lead)
    return rulesets.publish(version=draft.version, actor=lead)


def _snapshot():
    return list(RuleSet.objects.order_by("version").values_list("version", "state", "rules", "published_at"))


def test_draft_copies_the_published_version_and_publish_retires_it(lead):
    v1 = _published(lead)
    assert v1.state == RuleSet.State.PUBLISHED and v1.published_by == lead and v1.published_at is not None
    draft = rulesets.create_draft(actor=lead)
    assert draft.version == v1.version + 1 and draft.state == RuleSet.State.DRAFT
    assert draft.rules == v1.rules and draft.created_by == lead
    rulesets.delete_rule(version=draft.version, index=0, actor=lead)
    v2 = rulesets.publish(version=draft.version, actor=lead)
    states = dict(RuleSet.objects.values_list("version", "state"))
    assert states == {v1.version: "retired", v2.version: "published"}
    assert [r["name"] for r in rulesets.current().rules] == ["ddos-blackhole", "ecs"]


def test_published_versions_cannot_be_edited(lead):
    v1 = _published(lead)
    before = _snapshot()
    with pytest.raises(DeskError) as err:
        rulesets.update_draft(version=v1.version, rules=[], actor=lead)
    assert err.value.status == 409 and "version" in err.value.errors
    assert _snapshot() == before


def test_rollback_publishes_a_copy_and_keeps_history(lead, org):
    v1 = _published(lead)
    v2 = _published(lead, rules=[{"name": "all-compute", "when": {}, "then": {"line": "compute"}}])
    v3 = rulesets.rollback(to_version=v1.version, actor=lead)
    assert v3.version == v2.version + 1 and v3.rules == v1.rules and v3.note == f"Rollback to v{v1.version}"
    assert v3.published_by == lead and v3.published_at >= v2.published_at
    assert RuleSet.objects.filter(state="published").count() == 1
    assert RuleSet.objects.get(version=v2.version).state == "retired"
    # The rolled-back rules route new tickets, and the routing event names version and rule.
    ticket = services.create_ticket(organisation=org, contact=None, product="oss", subject="OSS 403 on upload",
                                    description="PutObject returns AccessDenied", auto_assign=False)
    assert (ticket.line.code, ticket.routed_rule, ticket.rules_version) == ("storage", "oss-403", v3.version)
    routed = ticket.events.get(kind="routed")
    assert routed.data["rule"] == "oss-403" and routed.data["version"] == v3.version


def test_rollback_refuses_drafts_and_the_live_version(lead):
    v1 = _published(lead)
    draft = rulesets.create_draft(actor=lead)
    before = _snapshot()
    for version in (v1.version, draft.version, 999):
        with pytest.raises(DeskError):
            rulesets.rollback(to_version=version, actor=lead)
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("rule", "field", "needle"),
    [
        ({"name": "bad-re", "when": {"regex": "(unclosed"}, "then": {"line": "network"}}, "rules[1].when.regex",
         "invalid regular expression"),
        ({"name": "bad-line", "when": {}, "then": {"line": "quantum"}}, "rules[1].then.line", "unknown line"),
        ({"name": "bad-product", "when": {"products": ["ec2"]}, "then": {"line": "compute"}},
         "rules[1].when.products", "ec2"),
        ({"name": "bad-sev", "when": {}, "then": {"line": "compute", "severity": "P0"}}, "rules[1].then.severity",
         "P1"),
        ({"name": "oss-403", "when": {}, "then": {"line": "compute"}}, "rules[1].name", "duplicate"),
        ({"name": "fallback", "when": {}, "then": {"line": "compute"}}, "rules[1].name", "reserved"),
        ({"name": "x", "when": {"subject": "a"}, "then": {"line": "compute"}}, "rules[1].when", "unknown condition"),
        ({"name": "", "when": {}, "then": {"line": "compute"}}, "rules[1].name", "required"),
        ({"name": "y", "enabled": "yes", "then": {"line": "compute"}}, "rules[1].enabled", "true or false"),
    ],
)
def test_bad_rules_are_refused_by_field_path_and_change_nothing(lead, rule, field, needle):
    draft = rulesets.create_draft(actor=lead)
    rulesets.update_draft(version=draft.version, rules=RULES[:1], actor=lead)
    before = _snapshot()
    with pytest.raises(DeskError) as err:
        rulesets.update_draft(version=draft.version, rules=[RULES[0], rule], actor=lead)
    assert field in err.value.errors, err.value.errors
    assert needle in " ".join(err.value.errors[field])
    assert _snapshot() == before


def test_all_broken_rules_are_reported_at_once(lead):
    draft = rulesets.create_draft(actor=lead)
    bad = [{"name": "a", "when": {"regex": "["}, "then": {"line": "network"}},
           {"name": "b", "when": {}, "then": {"line": "nowhere"}}]
    with pytest.raises(DeskError) as err:
        rulesets.update_draft(version=draft.version, rules=bad, actor=lead)
    assert set(err.value.errors) == {"rules[0].when.regex", "rules[1].then.line"}


def test_editing_operations_keep_order(lead):
    draft = rulesets.create_draft(actor=lead)
    v = draft.version
    for rule in RULES:
        rulesets.add_rule(version=v, rule=rule, actor=lead)
    rulesets.move_rule(version=v, index=2, to=0, actor=lead)
    assert [r["name"] for r in RuleSet.objects.get(version=v).rules] == ["ecs", "oss-403", "ddos-blackhole"]
    rulesets.replace_rule(version=v, index=1, rule={**RULES[0], "enabled": False}, actor=lead)
    assert RuleSet.objects.get(version=v).rules[1]["enabled"] is False
    rulesets.add_rule(version=v, rule={"name": "first", "then": {"line": "cdn"}}, position=0, actor=lead)
    assert [r["name"] for r in RuleSet.objects.get(version=v).rules][0] == "first"
    with pytest.raises(DeskError) as err:
        rulesets.delete_rule(version=v, index=42, actor=lead)
    assert err.value.status == 404


def test_yaml_round_trip_keeps_rules_and_unicode(lead):
    v1 = _published(lead)
    text = rulesets.export_yaml(v1.version)
    assert "黑洞" in text and text.startswith("# casework dispatch rules")
    imported = rulesets.import_yaml(text, actor=lead)
    assert imported.state == RuleSet.State.DRAFT and imported.version == v1.version + 1
    assert imported.rules == v1.rules and imported.created_by == lead


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("rules:\n  - name: a\n    when: {products: [oss]\n    then: {line: storage}\n", 4, "invalid YAML"),
        ("format: 1\nrules:\n  - name: a\n    then:\n      line: storage\n  - name: b\n    when:\n"
         "      regex: '(oops'\n    then: {line: network}\n", 8, "rules[1].when.regex"),
        ("rules:\n- name: a\n  then: {line: moon}\n", 3, "unknown line"),
        ("rules: 12\n", 1, "must be a list"),
        ("", 1, "empty"),
        ("just a string\n", 1, "expected a mapping"),
        ("rules: []\nextra: 1\n", 1, "unknown top-level"),
    ],
)
def test_bad_yaml_names_the_line_and_creates_no_draft(lead, text, line, needle):
    before = _snapshot()
    with pytest.raises(DeskError) as err:
        rulesets.import_yaml(text, actor=lead)
    message = " ".join(err.value.errors["yaml"])
    assert f"line {line}:" in message and needle in message, message
    assert _snapshot() == before


def test_a_bare_list_imports_too(lead):
    imported = rulesets.import_yaml("- name: cdn\n  when: {products: [cdn, dcdn]}\n  then: {line: cdn}\n", actor=lead)
    assert imported.rules == [{"name": "cdn", "enabled": True, "when": {"products": ["cdn", "dcdn"]},
                               "then": {"line": "cdn"}}]


def test_a_published_version_that_no_longer_compiles_routes_to_the_fallback_line(caplog):
    """A version stored before a validation existed (here: a lookahead RE2 cannot run) must not stop intake."""
    from desk_fixtures import make_world

    world = make_world()
    RuleSet.objects.filter(state=RuleSet.State.PUBLISHED).update(state=RuleSet.State.RETIRED)
    RuleSet.objects.create(version=9, state=RuleSet.State.PUBLISHED,
                           rules=[{"name": "old", "when": {"regex": "(?=foo)bar"}, "then": {"line": "storage"}}])
    ticket = services.create_ticket(organisation=world.org_a, contact=world.customer_a, product="oss",
                                    subject="foobar", description="x")
    assert ticket.line.is_fallback and ticket.routed_rule == "fallback" and ticket.rules_version == 9
    assert "cannot be compiled" in caplog.text
