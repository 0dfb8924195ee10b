"""Playwright: a customer rates a resolved ticket; the lead sees the rating (flagged) and a breach flag."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from browser import DEMO_RULES, login, make_user, publish_rules, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk():
    from casework.desk.sla.policies import ensure_default_policies
    from casework.desk.team.models import Line, Organisation
    from casework.desk.team.reference import ensure_reference_data
    from casework.desk.tickets import services

    ensure_reference_data()
    ensure_default_policies()  # the live server's transactional database starts without the migration's rows
    publish_rules(DEMO_RULES)
    org = Organisation.objects.create(name="Acme Retail", tier="business")
    customer = make_user(username="amy", role="customer", organisation=org)
    engineer = make_user(username="tom", role="t0", lines=["storage"], readiness=["oss"])
    lead = make_user(username="lena", role="lead")
    Line.objects.filter(code="storage").update(lead=lead)
    week_ago = timezone.now() - timedelta(days=7)
    solved = services.create_ticket(organisation=org, contact=customer, product="oss", subject="PutObject 403 AccessDenied",
                                    description="Uploads fail since the policy change", at=week_ago)
    services.claim(ticket=solved, engineer=engineer, at=week_ago + timedelta(minutes=5))
    solved.refresh_from_db()
    services.resolve(ticket=solved, actor=engineer, note="The bucket policy denied the VPC endpoint; fixed.",
                     at=week_ago + timedelta(days=2))
    waiting = services.create_ticket(organisation=org, contact=customer, product="oss", subject="NAS mount hangs",
                                     description="mount.nfs times out", at=week_ago)
    services.claim(ticket=waiting, engineer=engineer, at=week_ago + timedelta(minutes=1))
    return {"solved": solved, "waiting": waiting}


def test_customer_rates_and_lead_sees_rating_and_breach(desk_page, live_server, desk):
    from casework.desk.sla import jobs

    solved, waiting = desk["solved"], desk["waiting"]
    page = desk_page
    login(page, live_server.url, "amy")
    page.goto(f"{live_server.url}/sla/t/{solved.ref}/rate/")
    page.check("input[name=rating][value=bad]")
    page.fill("textarea[name=comment]", "Two days without an answer")
    page.click("form.rating-form button[type=submit]")
    page.wait_for_selector("p.rated")
    assert "Bad" in page.inner_text("p.rated")

    # The periodic job (run here directly, as the scheduler would) records the waiting ticket's breaches.
    assert jobs.check_breaches() >= 1

    login(page, live_server.url, "lena")
    page.goto(f"{live_server.url}/sla/ratings/")
    flagged = page.inner_text("#flagged")
    assert solved.ref in flagged and "Two days without an answer" in flagged
    breaches = page.inner_text("#breaches")
    assert waiting.ref in breaches and "SLA breached" in breaches
    assert "tom" in page.inner_text("#ratings-engineer")
    screenshot(page, "sla_ratings_lead", full_page=True)
    page.goto(f"{live_server.url}/sla/t/{waiting.ref}/panel/")
    assert page.locator(".sla-breached").count() == 1
