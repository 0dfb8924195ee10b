"""Lead rule pages through the Django test client: who may see and change what, the htmx editor with field
errors, YAML download/upload, the simulator, publish and roll back."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from casework.desk.routing import rulesets
from casework.desk.routing.models import RuleSet
from casework.desk.team.models import Line, Organisation, Profile, Role
from casework.desk.team.reference import ensure_reference_data
from casework.desk.tickets import services

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
LIVE = [{"name": "oss", "when": {"products": ["oss"]}, "then": {"line": "storage"}},
        {"name": "ecs", "when": {"products": ["ecs"]}, "then": {"line": "compute"}}]


def _user(username, role, org=None, lines=()):
    user = get_user_model().objects.create_user(username, password="pw")
    profile = Profile.objects.create(user=user, role=role, organisation=org)
    for code in lines:
        profile.lines.add(Line.objects.get(code=code))
    return user


@pytest.fixture
def desk(db):
    ensure_reference_data()
    org = Organisation.objects.create(name="Acme", tier="business")
    people = {
        "lead": _user("lead", Role.LEAD),
        "t0": _user("t0", Role.T0, lines=["storage"]),
        "customer": _user("cust", Role.CUSTOMER, org=org),
    }
    live = rulesets.create_draft(actor=people["lead"])
    rulesets.update_draft(version=live.version, rules=LIVE, actor=people["lead"])
    rulesets.publish(version=live.version, actor=people["lead"])
    draft = rulesets.create_draft(actor=people["lead"])
    return {**people, "org": org, "live": live, "draft": draft}


def _as(client, user):
    client.force_login(user)
    return client


def _versions():
    return list(RuleSet.objects.order_by("version").values_list("version", "state", "rules"))


def test_engineers_may_look_but_not_touch(client, desk):
    c = _as(client, desk["t0"])
    assert c.get("/rules/").status_code == 200
    assert c.get(f"/rules/{desk['draft'].version}/").status_code == 200
    before = _versions()
    assert c.post(f"/rules/{desk['draft'].version}/publish/").status_code == 403
    assert c.post(f"/rules/{desk['draft'].version}/rules/new/", {"name": "x", "line": "cdn"}).status_code == 403
    assert c.post("/rules/import/", {"text": "rules: []"}).status_code == 403
    assert c.post("/rules/new/").status_code == 403
    assert _versions() == before


def test_customers_and_strangers_are_kept_out(client, desk):
    assert client.get("/rules/").status_code == 302  # to the login page
    before = _versions()
    assert client.post(f"/rules/{desk['draft'].version}/publish/").status_code == 302
    c = _as(client, desk["customer"])
    assert c.get("/rules/").status_code == 403
    assert c.get(f"/rules/{desk['live'].version}/export.yaml").status_code == 403
    assert _versions() == before


def test_list_shows_versions_with_state_and_audit(client, desk):
    page = _as(client, desk["lead"]).get("/rules/").content.decode()
    assert f'data-version="{desk["live"].version}"' in page and "Published" in page and "Draft" in page
    assert "lead" in page


def test_add_edit_move_delete_rules_with_htmx(client, desk):
    c, v = _as(client, desk["lead"]), desk["draft"].version
    form = c.get(f"/rules/{v}/rules/new/", **HX)
    assert form.status_code == 200 and 'id="rule-form"' in form.content.decode()
    r = c.post(f"/rules/{v}/rules/new/", {"name": "oss-403", "enabled": "on", "products": ["oss"],
                                          "keywords": "403, AccessDenied", "line": "security", "tags": "acl"}, **HX)
    assert r.status_code == 200 and 'id="rule-panel"' in r.content.decode() and "oss-403" in r.content.decode()
    rules = RuleSet.objects.get(version=v).rules
    assert rules[-1] == {"name": "oss-403", "enabled": True,
                         "when": {"products": ["oss"], "keywords": ["403", "AccessDenied"]},
                         "then": {"line": "security", "tags": ["acl"]}}
    c.post(f"/rules/{v}/rules/2/move/", {"to": "0"}, **HX)
    assert [r["name"] for r in RuleSet.objects.get(version=v).rules] == ["oss-403", "oss", "ecs"]
    edit = c.get(f"/rules/{v}/rules/0/", **HX).content.decode()
    assert 'value="oss-403"' in edit and "403, AccessDenied" in edit
    c.post(f"/rules/{v}/rules/0/", {"name": "oss-403", "products": ["oss"], "keywords": "403",
                                    "line": "security"}, **HX)
    rule = RuleSet.objects.get(version=v).rules[0]
    assert rule["enabled"] is False and rule["when"]["keywords"] == ["403"]
    c.post(f"/rules/{v}/rules/1/delete/", **HX)
    assert [r["name"] for r in RuleSet.objects.get(version=v).rules] == ["oss-403", "ecs"]


def test_a_malformed_regex_is_shown_next_to_its_field_and_changes_nothing(client, desk):
    c, v = _as(client, desk["lead"]), desk["draft"].version
    before = _versions()
    r = c.post(f"/rules/{v}/rules/new/", {"name": "bad", "regex": "(unclosed", "line": "network"}, **HX)
    page = r.content.decode()
    assert r.status_code == 200
    regex_field = page[page.index('id="field-regex"'):page.index('id="field-org_tiers"')]
    assert "invalid regular expression" in regex_field  # next to the regex input, not somewhere on the page
    assert "invalid regular expression" not in page[:page.index('id="field-regex"')]
    assert 'value="(unclosed"' in page  # the lead's input is kept
    # Same through a plain (non-htmx) post: the full page with the error, and still nothing saved.
    r = c.post(f"/rules/{v}/rules/0/", {"name": "ecs", "line": "compute", "regex": "a{2,1}"})
    assert r.status_code == 200 and "invalid regular expression" in r.content.decode()
    # An unknown line is refused by the form before it reaches the service.
    r = c.post(f"/rules/{v}/rules/new/", {"name": "moon", "line": "moon"}, **HX)
    assert "moon is not one of the available choices" in r.content.decode()
    assert _versions() == before


def test_published_versions_have_no_editor(client, desk):
    c, v = _as(client, desk["lead"]), desk["live"].version
    page = c.get(f"/rules/{v}/").content.decode()
    assert "rules:rule-new" not in page and f"/rules/{v}/rules/new/" not in page
    before = _versions()
    r = c.post(f"/rules/{v}/rules/new/", {"name": "x", "line": "cdn"})
    assert r.status_code == 302 and _versions() == before


def test_publish_and_roll_back_from_the_pages(client, desk):
    c, lead = _as(client, desk["lead"]), desk["lead"]
    draft = desk["draft"].version
    c.post(f"/rules/{draft}/rules/0/delete/")
    r = c.post(f"/rules/{draft}/publish/")
    assert r.status_code == 302
    states = dict(RuleSet.objects.values_list("version", "state"))
    assert states == {desk["live"].version: "retired", draft: "published"}
    published = RuleSet.objects.get(version=draft)
    assert published.published_by == lead and published.published_at is not None
    r = c.post(f"/rules/{desk['live'].version}/rollback/")
    new = RuleSet.objects.get(state="published")
    assert r.status_code == 302 and r["Location"] == f"/rules/{new.version}/"
    assert new.rules == RuleSet.objects.get(version=desk["live"].version).rules and new.published_by == lead
    page = c.get(f"/rules/{new.version}/").content.decode()
    assert f"Rollback to v{desk['live'].version}" in page


def test_yaml_download_and_upload(client, desk):
    c = _as(client, desk["lead"])
    r = c.get(f"/rules/{desk['live'].version}/export.yaml")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    data = yaml.safe_load(r.content)
    assert [rule["name"] for rule in data["rules"]] == ["oss", "ecs"]
    upload = SimpleUploadedFile("rules.yaml", r.content, content_type="application/yaml")
    r = c.post("/rules/import/", {"file": upload, "note": "from git"})
    new = RuleSet.objects.order_by("-version").first()
    assert r.status_code == 302 and new.state == "draft" and new.note == "from git"
    assert new.rules == RuleSet.objects.get(version=desk["live"].version).rules


def test_bad_yaml_shows_the_line_and_creates_nothing(client, desk):
    c = _as(client, desk["lead"])
    before = _versions()
    r = c.post("/rules/import/", {"text": "rules:\n  - name: a\n    when: {regex: '['}\n    then: {line: cdn}\n"})
    assert r.status_code == 400 and "line 3:" in r.content.decode() and "rules[0].when.regex" in r.content.decode()
    r = c.post("/rules/import/", {"text": "rules: [\n"})
    assert r.status_code == 400 and "invalid YAML" in r.content.decode()
    r = c.post("/rules/import/", {"file": SimpleUploadedFile("x.yaml", b"\xff\xfe\x00bad")})
    assert r.status_code == 400 and "UTF-8" in r.content.decode()
    assert _versions() == before


def test_simulator_page_shows_lines_samples_and_hits(client, desk):
    lead = desk["lead"]
    now = timezone.now()
    ticket = services.create_ticket(organisation=desk["org"], contact=None, product="oss", subject="OSS 403",
                                    description="AccessDenied on PutObject", at=now - timedelta(days=1),
                                    auto_assign=False)
    v = desk["draft"].version
    rulesets.add_rule(version=v, rule={"name": "oss-403", "when": {"keywords": ["403"]}, "then": {"line": "security"}},
                      position=0, actor=lead)
    c = _as(client, lead)
    assert 'id="simulate-form"' in c.get(f"/rules/{v}/simulate/").content.decode()
    day = timezone.localdate()
    r = c.get(f"/rules/{v}/simulate/", {"since": day - timedelta(days=7), "until": day}, **HX)
    page = r.content.decode()
    assert r.status_code == 200 and page.startswith('<div id="simulation">')
    assert 'data-line="security"' in page and ticket.ref in page and "oss-403" in page
    r = c.get(f"/rules/{v}/simulate/", {"since": day, "until": day - timedelta(days=3)})
    assert "must be after its start" in r.content.decode()


def test_unknown_version_is_a_404(client, desk):
    c = _as(client, desk["lead"])
    assert c.get("/rules/999/").status_code == 404
    assert c.get("/rules/999/simulate/").status_code == 404
