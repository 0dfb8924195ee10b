"""Rule endpoints: list, read, draft, simulate, publish — permissions, results on real tickets, bad rules."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from casework.desk.routing.models import RuleSet
from casework.desk.tickets.models import Ticket
from test_api_world import LINE_X, LINE_Y, RULES, bearer, build_world

pytestmark = pytest.mark.django_db

# Draft: OSS tickets go to the network line instead of storage.
TO_NETWORK = [
    {"name": "oss-to-network", "when": {"products": ["oss"], "keywords": ["403"]}, "then": {"line": LINE_Y}},
]
BAD_REGEX = [{"name": "broken", "when": {"regex": "(unclosed"}, "then": {"line": LINE_X}}]


@pytest.fixture
def world():
    return build_world()


def post(client, path, body, user):
    return client.post(f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **bearer(user))


def period():
    now = timezone.now()
    return {"since": (now - timedelta(days=1)).isoformat(), "until": (now + timedelta(minutes=1)).isoformat()}


def rulesets_state():
    return list(RuleSet.objects.order_by("version").values_list("version", "state", "rules"))


def test_engineers_list_versions_customers_may_not(client, world):
    response = client.get("/api/v1/rules", **bearer(world.users["t0_x"]))
    assert response.status_code == 200
    assert [(r["version"], r["state"], r["rules_count"]) for r in response.json()] == [(1, "published", 1)]
    assert client.get("/api/v1/rules", **bearer(world.users["cust_a"])).status_code == 403
    assert client.get("/api/v1/rules").status_code == 401
    detail = client.get("/api/v1/rules/1", **bearer(world.users["l1"])).json()
    assert detail["rules"][0]["name"] == RULES[0]["name"]
    assert client.get("/api/v1/rules/99", **bearer(world.users["l1"])).status_code == 404


def test_simulate_shows_what_a_draft_would_move(client, world):
    lead = world.users["lead"]
    response = post(client, "/rules/simulate", {"rules": TO_NETWORK, "sample": 2, **period()}, lead)
    assert response.status_code == 200, response.content
    result = response.json()
    oss = Ticket.objects.filter(product__code="oss")
    assert result["total"] == oss.count() == 3
    assert result["moved"] == 3 and result["moved_share"] == 100.0
    lines = {line["line"]: line for line in result["lines"]}
    assert lines[LINE_X]["now"] == 3 and lines[LINE_X]["draft"] == 0 and lines[LINE_X]["moved_out"] == 3
    assert lines[LINE_Y]["draft"] == 3 and lines[LINE_Y]["moved_in"] == 3
    assert lines[LINE_Y]["open_draft"] == 2  # the resolved ticket moves but is not load
    assert len(result["samples"]) == 2
    assert {s["ref"] for s in result["samples"]} <= set(oss.values_list("ref", flat=True))
    assert result["rule_hits"] == {"oss-to-network": 3, "fallback": 0}
    # Simulating changed nothing.
    assert set(oss.values_list("line__code", flat=True)) == {LINE_X}


def test_simulate_a_stored_version(client, world):
    response = post(client, "/rules/simulate", {"version": 1, **period()}, world.users["lead"])
    assert response.status_code == 200
    assert response.json()["version"] == 1 and response.json()["moved"] == 0


def test_simulate_refuses_bad_input_with_field_errors(client, world):
    lead = world.users["lead"]
    bad = post(client, "/rules/simulate", {"rules": BAD_REGEX, **period()}, lead)
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert list(errors) == ["rules[0].when.regex"] and "regular expression" in errors["rules[0].when.regex"][0]
    now = timezone.now().isoformat()
    backwards = post(client, "/rules/simulate", {"rules": TO_NETWORK, "since": now, "until": now}, lead)
    assert backwards.status_code == 400 and "until" in backwards.json()["errors"]
    neither = post(client, "/rules/simulate", period(), lead)
    assert neither.status_code == 422 and "rules" in neither.json()["errors"]
    no_period = post(client, "/rules/simulate", {"rules": TO_NETWORK}, lead)
    assert no_period.status_code == 422 and {"since", "until"} <= set(no_period.json()["errors"])


def test_only_leads_simulate_and_publish(client, world):
    before = rulesets_state()
    for role in ("cust_a", "t0_x", "l2"):
        user = world.users[role]
        assert post(client, "/rules/simulate", {"rules": TO_NETWORK, **period()}, user).status_code == 403
        assert post(client, "/rules", {"rules": TO_NETWORK}, user).status_code == 403
        assert post(client, "/rules/1/publish", {}, user).status_code == 403
    assert rulesets_state() == before


def test_draft_then_publish_changes_routing(client, world):
    lead = world.users["lead"]
    created = post(client, "/rules", {"rules": TO_NETWORK, "note": "OSS 403s are mostly SLB"}, lead)
    assert created.status_code == 201, created.content
    version = created.json()["version"]
    assert created.json()["state"] == "draft" and created.json()["created_by"] == "lead"

    published = post(client, f"/rules/{version}/publish", {}, lead)
    assert published.status_code == 200, published.content
    assert published.json()["state"] == "published" and published.json()["published_by"] == "lead"
    states = {r["version"]: r["state"] for r in client.get("/api/v1/rules", **bearer(lead)).json()}
    assert states == {1: "retired", version: "published"}

    ticket = post(client, "/tickets", {"product": "oss", "subject": "GetObject 403", "description": "403 since 9am"},
                  world.users["cust_a"]).json()
    assert ticket["line"] == LINE_Y
    assert Ticket.objects.get(ref=ticket["ref"]).rules_version == version


def test_bad_draft_is_refused_and_nothing_is_created(client, world):
    before = rulesets_state()
    response = post(client, "/rules", {"rules": BAD_REGEX}, world.users["lead"])
    assert response.status_code == 400
    assert "rules[0].when.regex" in response.json()["errors"]
    unknown = post(client, "/rules", {"rules": [{"name": "x", "when": {"products": ["mainframe"]},
                                                 "then": {"line": "nowhere"}}]}, world.users["lead"])
    assert unknown.status_code == 400
    assert rulesets_state() == before


def test_publishing_a_stored_malformed_draft_changes_nothing(client, world):
    # A draft written before validation existed (or by hand): publishing must refuse it, not route with it.
    RuleSet.objects.create(version=2, state=RuleSet.State.DRAFT, rules=BAD_REGEX)
    before = rulesets_state()
    response = post(client, "/rules/2/publish", {}, world.users["lead"])
    assert response.status_code == 400
    assert "rules[0].when.regex" in response.json()["errors"]
    assert rulesets_state() == before


def test_publish_refuses_published_and_missing_versions(client, world):
    lead = world.users["lead"]
    assert post(client, "/rules/1/publish", {}, lead).status_code == 409
    assert post(client, "/rules/77/publish", {}, lead).status_code == 404
