"""Simulation: replaying a draft over a period's tickets gives per-line moves, load and samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from casework.desk.errors import DeskError
from casework.desk.routing import rulesets
from casework.desk.routing.simulate import simulate
from casework.desk.team.models import Line, Organisation, Profile, Role
from casework.desk.team.reference import ensure_reference_data
from casework.desk.tickets import services

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
LIVE = [
    {"name": "oss", "when": {"products": ["oss"]}, "then": {"line": "storage"}},
    {"name": "cdn", "when": {"products": ["cdn", "dcdn"]}, "then": {"line": "cdn"}},
]
# The draft sends OSS 403s to security and adds nothing for CDN: CDN tickets fall back.
DRAFT = [
    {"name": "oss-403", "when": {"products": ["oss"], "keywords": ["403"]}, "then": {"line": "security"}},
    {"name": "oss", "when": {"products": ["oss"]}, "then": {"line": "storage"}},
]


@pytest.fixture
def desk(db):
    ensure_reference_data()
    lead = get_user_model().objects.create_user("lead", password="x")
    Profile.objects.create(user=lead, role=Role.LEAD)
    for i, line in enumerate(["storage", "storage", "security"]):
        user = get_user_model().objects.create_user(f"eng{i}", password="x")
        profile = Profile.objects.create(user=user, role=Role.T0)
        profile.lines.add(Line.objects.get(code=line))
    live = rulesets.create_draft(actor=lead)
    rulesets.update_draft(version=live.version, rules=LIVE, actor=lead)
    rulesets.publish(version=live.version, actor=lead)
    org = Organisation.objects.create(name="Acme", tier="business")

    def ticket(product, subject, *, days, status=None):
        t = services.create_ticket(organisation=org, contact=None, product=product, subject=subject,
                                   description=subject + " — details", at=T0 + timedelta(days=days), auto_assign=False)
        if status:
            services.set_status(ticket=t, actor=lead, status=status, at=T0 + timedelta(days=days, hours=1))
        return t

    tickets = {
        "oss403": ticket("oss", "OSS 403 AccessDenied on PutObject", days=1),
        "oss403b": ticket("oss", "bucket policy 403 again", days=2, status="resolved"),
        "oss-slow": ticket("oss", "OSS upload slow from Frankfurt", days=3),
        "cdn": ticket("cdn", "CDN returns stale content", days=4),
        "outside": ticket("oss", "OSS 403 outside the period", days=30),
    }
    return {"lead": lead, "tickets": tickets}


def test_moves_load_and_samples_per_line(desk):
    result = simulate(DRAFT, since=T0, until=T0 + timedelta(days=10), sample=5)
    assert result.total == 4 and result.moved == 3
    by_line = {li.line: li for li in result.lines}
    storage, security, cdn, fallback = by_line["storage"], by_line["security"], by_line["cdn"], by_line["fallback"]
    assert (storage.now, storage.draft, storage.moved_out, storage.moved_in) == (3, 1, 2, 0)
    assert (security.now, security.draft, security.moved_in) == (0, 2, 2)
    assert (cdn.now, cdn.draft, cdn.moved_out) == (1, 0, 1)
    assert (fallback.draft, fallback.moved_in) == (1, 1)
    # Load: the resolved 403 ticket moves but is not open work.
    assert (security.open_now, security.open_draft) == (0, 1)
    assert (storage.engineers, security.engineers) == (2, 1) and security.per_engineer_draft == 2.0
    refs = desk["tickets"]
    assert {m.ref for m in security.samples} == {refs["oss403"].ref, refs["oss403b"].ref}
    newest = result.samples[0]
    assert (newest.ref, newest.from_line, newest.to_line, newest.rule_now, newest.rule_draft) == (
        refs["cdn"].ref, "cdn", "fallback", "cdn", "fallback")
    assert result.rule_hits == {"oss-403": 2, "oss": 1, "fallback": 1}
    data = result.as_dict()
    assert data["moved"] == 3 and data["lines"][0]["samples"] is not None and data["moved_share"] == 75.0


def test_a_ruleset_and_the_live_rules_replay_without_moves(desk):
    live = rulesets.current()
    result = simulate(live, since=T0, until=T0 + timedelta(days=60))
    assert result.version == live.version and result.total == 5 and result.moved == 0
    assert all(li.moved_in == li.moved_out == 0 for li in result.lines)


def test_sample_size_is_respected(desk):
    result = simulate(DRAFT, since=T0, until=T0 + timedelta(days=10), sample=1)
    assert len(result.samples) == 1 and all(len(li.samples) <= 1 for li in result.lines)


def test_bad_period_and_bad_rules_are_refused(desk):
    with pytest.raises(DeskError) as err:
        simulate(DRAFT, since=T0, until=T0 - timedelta(days=1))
    assert "until" in err.value.errors
    with pytest.raises(DeskError) as err:
        simulate([{"name": "x", "when": {"regex": "*"}, "then": {"line": "cdn"}}], since=T0, until=T0 + timedelta(1))
    assert "rules[0].when.regex" in err.value.errors


def test_dates_cover_whole_days(desk):
    day = (T0 + timedelta(days=4)).date()
    result = simulate(DRAFT, since=day, until=day)
    assert result.total == 1
