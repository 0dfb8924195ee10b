"""Satisfaction ratings (service, API, signed link, portal page) and the SLA API / lead pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.test import Client

from casework.desk.access.tokens import issue_token
from casework.desk.errors import DeskError
from casework.desk.sla import jobs, ratings
from casework.desk.sla.models import BusinessCalendar, Notification, Rating, SLAPolicy, TicketSLA
from casework.desk.sla.policies import ensure_default_policies
from casework.desk.team.models import Line
from casework.desk.tickets import services
from casework.desk.tickets.models import EventKind, Status, Ticket
from desk_fixtures import make_world

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
MON_10 = datetime(2026, 3, 16, 10, tzinfo=SH)


@pytest.fixture
def world():
    ensure_default_policies()
    w = make_world()
    Line.objects.filter(code__in=["storage", "network"]).update(lead=w.lead)
    return w


def resolved_ticket(world) -> Ticket:
    ticket = services.create_ticket(organisation=world.org_b, contact=world.customer_b, product="oss",
                                    subject="Uploads fail with 403", description="RequestId 5F1A", at=MON_10)
    services.claim(ticket=ticket, engineer=world.t0_storage, at=MON_10 + timedelta(minutes=3))
    ticket.refresh_from_db()
    services.resolve(ticket=ticket, actor=world.t0_storage, note="Fixed the bucket policy.",
                     at=MON_10 + timedelta(hours=1))
    ticket.refresh_from_db()
    return ticket


def bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user)}"}


# --- the service ----------------------------------------------------------------------------------------------


def test_rate_once_records_event_and_counts_for_engineer_and_line(world):
    ticket = resolved_ticket(world)
    rating = ratings.rate(ticket=ticket, value="good", comment="Quick and clear", actor=world.customer_b)
    assert (rating.engineer, rating.line.code, rating.flagged) == (world.t0_storage, "storage", False)
    event = ticket.events.get(kind=EventKind.RATED)
    assert event.data == {"rating": "good", "comment": "Quick and clear"}
    with pytest.raises(DeskError) as again:
        ratings.rate(ticket=ticket, value="bad", actor=world.customer_b)
    assert again.value.status == 409
    assert Rating.objects.get(ticket=ticket).value == "good"
    assert ratings.by_engineer() == [{"engineer__username": "t0_storage", "good": 1, "neutral": 0, "bad": 0,
                                      "total": 1}]
    assert [r["line__code"] for r in ratings.by_line()] == ["storage"]


def test_bad_rating_flags_for_the_lead_and_reopens_nothing(world):
    ticket = resolved_ticket(world)
    ratings.rate(ticket=ticket, value="bad", comment="Took two days", actor=world.customer_b)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert Rating.objects.get(ticket=ticket).flagged
    note = Notification.objects.get(ticket=ticket)
    assert (note.user, note.kind) == (world.lead, "bad_rating")
    assert TicketSLA.objects.get(ticket=ticket).due_at is None  # no clock restarted


def test_refusals(world):
    ticket = services.create_ticket(organisation=world.org_b, contact=world.customer_b, product="oss",
                                    subject="Open one", description="still open", at=MON_10)
    with pytest.raises(DeskError) as not_resolved:
        ratings.rate(ticket=ticket, value="good")
    assert "__all__" in not_resolved.value.errors
    done = resolved_ticket(world)
    with pytest.raises(DeskError) as bad_value:
        ratings.rate(ticket=done, value="excellent", comment="x" * 5000)
    assert set(bad_value.value.errors) == {"rating", "comment"}


# --- signed links -------------------------------------------------------------------------------------------


def test_signed_link_rates_without_login_and_cannot_be_forged(world):
    ticket = resolved_ticket(world)
    token = ratings.rating_token(ticket)
    client = Client()
    page = client.get(f"/sla/rate/{token}/")
    assert page.status_code == 200 and ticket.ref in page.content.decode()
    answer = client.post(f"/sla/rate/{token}/", {"rating": "neutral", "comment": "ok"})
    assert answer.status_code == 200 and "you rated this ticket" in answer.content.decode()
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.value, rating.via, rating.rated_by) == ("neutral", "link", world.customer_b)
    # A second submission through the same link changes nothing.
    client.post(f"/sla/rate/{token}/", {"rating": "bad"})
    assert Rating.objects.get(ticket=ticket).value == "neutral"
    # Tampered: another ref with the same signature, or a signature made with another key.
    other = services.create_ticket(organisation=world.org_a, contact=world.customer_a, product="oss",
                                   subject="Another org", description="x", at=MON_10)
    payload, stamp, signature = token.split(":")
    other_payload = signing.b64_encode(f'{{"ref":"{other.ref}"}}'.encode()).decode()
    forged = ":".join([other_payload, stamp, signature])
    assert client.get(f"/sla/rate/{forged}/").status_code == 404
    other_key = signing.dumps({"ref": ticket.ref}, salt=ratings.SALT, key="not-the-desk-key")
    assert client.get(f"/sla/rate/{other_key}/").status_code == 404


def test_expired_link(world):
    ticket = resolved_ticket(world)
    token = ratings.rating_token(ticket)
    with pytest.raises(DeskError) as expired:
        ratings.ticket_for_token(token, max_age=-1)
    assert expired.value.status == 410


def test_api_rating_via_link_and_customer(world):
    ticket = resolved_ticket(world)
    client = Client()
    token = ratings.rating_token(ticket)
    info = client.get(f"/api/v1/rate/{token}").json()
    assert info == {"ref": ticket.ref, "subject": ticket.subject, "status": "resolved", "rateable": True,
                    "rating": None}
    # The other organisation's customer cannot rate (nor see) it; its own customer can, once.
    assert client.post(f"/api/v1/tickets/{ticket.ref}/rating", {"rating": "good"}, content_type="application/json",
                       **bearer(world.customer_a)).status_code == 404
    made = client.post(f"/api/v1/tickets/{ticket.ref}/rating", {"rating": "bad", "comment": "slow"},
                       content_type="application/json", **bearer(world.customer_b))
    assert made.status_code == 201 and made.json()["flagged"] is True
    again = client.post(f"/api/v1/rate/{token}", {"rating": "good"}, content_type="application/json")
    assert again.status_code == 409 and "errors" in again.json()
    engineer_view = client.get(f"/api/v1/tickets/{ticket.ref}/rating", **bearer(world.t0_storage)).json()
    assert engineer_view["rating"] == "bad"
    bad = client.post(f"/api/v1/tickets/{ticket.ref}/rating", {"rating": 3}, content_type="application/json",
                      **bearer(world.customer_b))
    assert bad.status_code == 422


def test_engineer_cannot_rate(world):
    ticket = resolved_ticket(world)
    answer = Client().post(f"/api/v1/tickets/{ticket.ref}/rating", {"rating": "good"},
                           content_type="application/json", **bearer(world.t0_storage))
    assert answer.status_code == 403


# --- SLA API -------------------------------------------------------------------------------------------------


def test_api_sla_state(world):
    ticket = services.create_ticket(organisation=world.org_b, contact=world.customer_b, product="oss",
                                    subject="Uploads fail", description="RequestId 5F1A", at=MON_10)
    client = Client()
    data = client.get(f"/api/v1/tickets/{ticket.ref}/sla", **bearer(world.t0_storage)).json()
    assert data["policy"] == "Standard (office hours)" and data["business_hours"] is True
    clocks = {c["name"]: c for c in data["clocks"]}
    assert set(clocks) == {"first_response", "next_response", "resolution"}
    assert clocks["first_response"]["target_seconds"] == 4 * 3600
    assert clocks["first_response"]["elapsed_seconds"] + clocks["first_response"]["remaining_seconds"] == 4 * 3600
    assert clocks["next_response"]["state"] == "idle"
    # Long after its due time (the test runs in the ticket's future): breached, remaining negative.
    assert clocks["first_response"]["state"] == "breached" and data["breached"] is True
    assert client.get(f"/api/v1/tickets/{ticket.ref}/sla", **bearer(world.customer_a)).status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket.ref}/sla").status_code == 401


# --- lead pages -------------------------------------------------------------------------------------------


def test_lead_edits_a_policy_and_a_calendar_in_the_ui(world):
    client = Client()
    client.force_login(world.lead)
    assert client.get("/sla/").status_code == 200
    page = client.post("/sla/calendars/new/", {
        "name": "Berlin office", "timezone": "Europe/Berlin", "day_0": "08:00-12:00, 13:00-17:00",
        "day_1": "08:00-17:00", "holidays": "2026-12-25\n2026-12-26",
    })
    assert page.status_code == 302
    cal = BusinessCalendar.objects.get(name="Berlin office")
    assert cal.hours["0"] == [["08:00", "12:00"], ["13:00", "17:00"]] and cal.holidays == ["2026-12-25", "2026-12-26"]
    bad = client.post("/sla/calendars/new/", {"name": "Broken", "timezone": "Mars/Base", "day_0": "09:00-18:00"})
    assert bad.status_code == 200 and "unknown time zone" in bad.content.decode()
    form = {"name": "Network P4", "position": 5, "active": "on", "severities": ["P4"], "lines": "network",
            "calendar": cal.pk, "t_P4_first_response": 60, "t_P4_resolution": 600}
    assert client.post("/sla/policies/new/", form).status_code == 302
    policy = SLAPolicy.objects.get(name="Network P4")
    assert policy.targets == {"P4": {"first_response": 60, "resolution": 600}} and policy.lines == ["network"]
    wrong = client.post("/sla/policies/new/", {**form, "name": "Other", "lines": "nope"})
    assert wrong.status_code == 200 and "Unknown line" in wrong.content.decode()
    ticket = services.create_ticket(organisation=world.org_b, contact=world.customer_b, product="slb",
                                    subject="Health check", description="L7 fails", severity="P4", at=MON_10)
    assert TicketSLA.objects.get(ticket=ticket).policy == policy
    # Engineers may not edit policies.
    client.force_login(world.t0_storage)
    assert client.get("/sla/").status_code == 403


def test_lead_sees_ratings_flags_and_breaches(world):
    ticket = resolved_ticket(world)
    ratings.rate(ticket=ticket, value="bad", comment="Nobody answered for hours", actor=world.customer_b)
    late = services.create_ticket(organisation=world.org_b, contact=world.customer_b, product="oss",
                                  subject="Still waiting", description="no answer", at=MON_10)
    jobs.check_breaches(now=MON_10 + timedelta(days=1))
    client = Client()
    client.force_login(world.lead)
    html = client.get("/sla/ratings/").content.decode()
    assert "Nobody answered for hours" in html and late.ref in html and "SLA breached" in html
    panel = client.get(f"/sla/t/{late.ref}/panel/").content.decode()
    assert "sla-breached" in panel
    notes = client.get("/sla/notifications/").content.decode()
    assert late.ref in notes and ticket.ref in notes


def test_signed_link_form_works_with_csrf_enforced(world):
    ticket = resolved_ticket(world)
    client = Client(enforce_csrf_checks=True)  # what a real browser gets: the form must carry the token
    url = f"/sla/rate/{ratings.rating_token(ticket)}/"
    client.get(url)
    assert client.post(url, {"rating": "good"}).status_code == 403  # no token: refused, nothing stored
    assert not Rating.objects.filter(ticket=ticket).exists()
    token = client.cookies["csrftoken"].value
    answer = client.post(url, {"rating": "good", "csrfmiddlewaretoken": token})
    assert answer.status_code == 200 and Rating.objects.get(ticket=ticket).value == "good"
