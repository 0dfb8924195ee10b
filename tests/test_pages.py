"""Desk pages through Django's test client: who may open which page, the forms' field-level refusals, the
queue's tabs/filters/keyset pages/inline claim, the portal, the lead reports, and the Chinese pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from browser import DEMO_RULES, make_user, publish_rules
from casework.desk import reports
from casework.desk.team.models import Organisation
from casework.desk.team.reference import ensure_reference_data
from casework.desk.tickets import services
from casework.desk.tickets.models import EventKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

SUMMARY = {
    "problem": "GetObject returns 403 AccessDenied for every object under /exports since the bucket policy change",
    "checked": "Bucket policy, RAM role of the ECS instance, STS token expiry, OSS access logs for the window",
    "findings": "Access log shows AccessDenied with the new explicit Deny on oss:GetObject for the VPC endpoint",
    "identifiers": "bucket acme-exports, request 5F3A0C2E8E1B4C7D",
    "time_window": "2025-03-04 10:00-10:40 +08:00",
    "impact": "Nightly export job fails for all customers of acme",
}


@dataclass
class World:
    org_a: Organisation
    org_b: Organisation
    users: dict[str, Any]
    ticket: Ticket

    def client(self, who: str, lang: str = "en") -> Client:
        c = Client()
        if who != "anon":
            c.force_login(self.users[who])
        c.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
        return c


@pytest.fixture
def world() -> World:
    ensure_reference_data()
    publish_rules(DEMO_RULES)
    org_a = Organisation.objects.create(name="Acme Retail", tier="enterprise")
    org_b = Organisation.objects.create(name="Globex", tier="basic")
    users = {
        "cust_a": make_user(username="cust_a", role="customer", organisation=org_a, display_name="Li Na"),
        "cust_b": make_user(username="cust_b", role="customer", organisation=org_b),
        "t0": make_user(username="t0", role="t0", lines=["storage"], readiness=["oss"], display_name="Chen T0"),
        "t0_net": make_user(username="t0_net", role="t0", lines=["network"], readiness=["vpc"]),
        "l1": make_user(username="l1", role="l1", lines=["storage"], readiness=["oss"], display_name="Wang L1"),
        "lead": make_user(username="lead", role="lead", lines=["storage"]),
    }
    ticket = services.create_ticket(
        organisation=org_a, contact=users["cust_a"], product="oss", severity="P2",
        subject="OSS GetObject returns 403 AccessDenied", description="Since 10:00 every GetObject fails with 403.",
        identifiers={"instance_ids": ["i-bp1exports"], "request_ids": ["5F3A0C2E8E1B4C7D"]},
    )
    return World(org_a=org_a, org_b=org_b, users=users, ticket=ticket)


def _errors(html: str) -> dict[str, str]:
    """Field name -> error text, as rendered next to the fields."""
    return {m.group(1): m.group(2) for m in re.finditer(r'class="field-error" data-for="(\w+)">([^<]+)<', html)}


# --- access matrix ---------------------------------------------------------------------------------------------

PAGES = {
    "queue": (lambda w: reverse("queue"), {"t0", "t0_net", "l1", "lead"}),
    "ticket": (lambda w: reverse("ticket", args=[w.ticket.ref]), {"t0", "l1", "lead"}),
    "portal": (lambda w: reverse("portal"), {"cust_a", "cust_b"}),
    "portal-new": (lambda w: reverse("portal-new"), {"cust_a", "cust_b"}),
    "portal-ticket": (lambda w: reverse("portal-ticket", args=[w.ticket.ref]), {"cust_a"}),
    "lead-lines": (lambda w: reverse("lead-lines"), {"lead"}),
    "lead-dashboard": (lambda w: reverse("lead-dashboard"), {"lead"}),
    "lead-weekly": (lambda w: reverse("lead-weekly"), {"lead"}),
    "roster": (lambda w: reverse("roster"), {"t0", "t0_net", "l1", "lead"}),
    "roster-edit": (lambda w: reverse("roster-edit", args=["t0"]), {"lead"}),
}
# Refusals: a ticket another party may not see does not exist for them (404); other pages are 403.
NOT_FOUND = {("ticket", "t0_net"), ("ticket", "cust_b"), ("portal-ticket", "cust_b")}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_page_renders_for_allowed_roles_and_refuses_the_others(world: World, page: str) -> None:
    url_of, allowed = PAGES[page]
    url = url_of(world)
    for who in world.users:
        response = world.client(who).get(url)
        if who in allowed:
            assert response.status_code == 200, (page, who, response.status_code)
            assert b"</html>" in response.content
        elif page == "ticket" and who == "cust_a":
            assert response.status_code == 302 and response.url == reverse("portal-ticket", args=[world.ticket.ref])
        else:
            expected = 404 if (page, who) in NOT_FOUND else 403
            assert response.status_code == expected, (page, who, response.status_code)
    anon = world.client("anon").get(url)
    assert anon.status_code == 302 and anon.url.startswith(reverse("login"))


@pytest.mark.parametrize(("who", "target"), [
    ("cust_a", "portal"), ("t0", "queue"), ("l1", "queue"), ("lead", "lead-dashboard"), ("anon", "login"),
])
def test_home_sends_each_role_to_its_work(world: World, who: str, target: str) -> None:
    response = world.client(who).get("/")
    assert response.status_code == 302 and response.url == reverse(target)


def test_login_and_logout(world: World) -> None:
    c = Client()
    page = c.get(reverse("login"))
    assert page.status_code == 200 and b'name="username"' in page.content
    bad = c.post(reverse("login"), {"username": "t0", "password": "wrong"})
    assert bad.status_code == 200 and b"form-error" in bad.content
    ok = c.post(reverse("login"), {"username": "t0", "password": "desk-pass-123"})
    assert ok.status_code == 302
    assert c.get(reverse("queue")).status_code == 200
    assert c.post(reverse("logout")).status_code == 302
    assert c.get(reverse("queue")).status_code == 302


# --- ticket page ------------------------------------------------------------------------------------------------


def test_ticket_page_shows_header_identifiers_and_routing(world: World) -> None:
    html = world.client("t0").get(reverse("ticket", args=[world.ticket.ref])).content.decode()
    assert world.ticket.ref in html and "Acme Retail" in html
    assert 'data-line="storage"' in html and 'data-rule="oss-403-acl"' in html
    assert "i-bp1exports" in html and "5F3A0C2E8E1B4C7D" in html
    assert 'id="form-claim"' in html  # unassigned at the T0's tier
    assert 'id="form-escalate"' not in html  # only the assignee escalates
    assert 'id="form-return"' not in html


def test_internal_notes_reach_engineers_never_customers(world: World) -> None:
    services.add_note(ticket=world.ticket, actor=world.users["t0"], body="Customer changed the bucket policy at 09:58")
    services.reply(ticket=world.ticket, actor=world.users["t0"], body="We are looking at the bucket policy now.")
    engineer = world.client("t0").get(reverse("ticket", args=[world.ticket.ref])).content.decode()
    assert "Customer changed the bucket policy" in engineer and "ev-note" in engineer
    customer = world.client("cust_a").get(reverse("portal-ticket", args=[world.ticket.ref])).content.decode()
    assert "We are looking at the bucket policy now." in customer
    assert "Customer changed the bucket policy" not in customer and "ev-note" not in customer
    assert "oss-403-acl" not in customer  # routing is internal too


def test_claim_escalate_refused_then_accepted(world: World) -> None:
    c = world.client("t0")
    ref = world.ticket.ref
    assert c.post(reverse("ticket-action", args=[ref, "claim"])).status_code == 302
    world.ticket.refresh_from_db()
    assert world.ticket.assignee == world.users["t0"]

    refused = c.post(reverse("ticket-action", args=[ref, "escalate"]), {"problem": "broken", "impact": ""})
    assert refused.status_code == 400
    errors = _errors(refused.content.decode())
    assert set(errors) == {"problem", "checked", "findings", "identifiers", "time_window", "impact"}
    assert "Too short" in errors["problem"] and "required" in errors["checked"]
    world.ticket.refresh_from_db()
    assert world.ticket.tier == "T0" and world.ticket.escalations == 0
    assert not TicketEvent.objects.filter(ticket=world.ticket, kind=EventKind.ESCALATED).exists()

    accepted = c.post(reverse("ticket-action", args=[ref, "escalate"]), SUMMARY)
    assert accepted.status_code == 302
    world.ticket.refresh_from_db()
    assert (world.ticket.tier, world.ticket.status, world.ticket.assignee) == ("L1", "escalated", None)
    html = world.client("l1").get(reverse("ticket", args=[ref])).content.decode()
    assert "Nightly export job fails" in html  # the summary is on the L1's timeline


def test_return_down_needs_a_reason_and_counts_a_bounce(world: World) -> None:
    ref = world.ticket.ref
    services.claim(ticket=world.ticket, engineer=world.users["t0"])
    services.escalate(ticket=world.ticket, actor=world.users["t0"], summary=services.SummaryInput(**SUMMARY))
    c = world.client("l1")
    refused = c.post(reverse("ticket-action", args=[ref, "return"]), {"reason": ""})
    assert refused.status_code == 400
    assert "reason" in _errors(refused.content.decode())
    world.ticket.refresh_from_db()
    assert world.ticket.tier == "L1" and world.ticket.bounces == 0

    ok = c.post(reverse("ticket-action", args=[ref, "return"]), {"reason": "No OSS access log excerpt attached"})
    assert ok.status_code == 302
    world.ticket.refresh_from_db()
    assert world.ticket.tier == "T0" and world.ticket.bounces == 1 and world.ticket.assignee == world.users["t0"]
    data = reports.dashboard(since=world.ticket.created_at, until=world.ticket.updated_at.replace(year=2100))
    storage = next(s for s in data.lines if s.line.code == "storage")
    assert (storage.entered, storage.escalated, storage.bounces) == (1, 1, 1)
    t0 = next(e for e in data.engineers if e.user_id == world.users["t0"].pk)
    l1 = next(e for e in data.engineers if e.user_id == world.users["l1"].pk)
    assert (t0.escalated, t0.bounced_back, l1.bounced) == (1, 1, 1)
    page = world.client("lead").get(reverse("lead-dashboard")).content.decode()
    assert 'data-line="storage"' in page and "100.0%" in page


def test_reassign_needs_line_and_reason_and_resolve(world: World) -> None:
    ref = world.ticket.ref
    services.claim(ticket=world.ticket, engineer=world.users["t0"])
    c = world.client("t0")
    refused = c.post(reverse("ticket-action", args=[ref, "reassign"]), {"line": "", "reason": ""})
    assert refused.status_code == 400 and {"line"} <= set(_errors(refused.content.decode()))
    refused = c.post(reverse("ticket-action", args=[ref, "reassign"]), {"line": "network", "reason": "no"})
    assert refused.status_code == 400 and "reason" in _errors(refused.content.decode())
    world.ticket.refresh_from_db()
    assert world.ticket.line.code == "storage"
    ok = c.post(reverse("ticket-action", args=[ref, "resolve"]),
                {"note": "The new Deny statement blocked the VPC endpoint; removed it."})
    assert ok.status_code == 302
    world.ticket.refresh_from_db()
    assert world.ticket.status == "resolved"


def test_actions_not_allowed_are_refused(world: World) -> None:
    ref = world.ticket.ref
    # The T0 of another line cannot see the ticket at all; the L1 cannot resolve what is not theirs.
    assert world.client("t0_net").post(reverse("ticket-action", args=[ref, "claim"])).status_code == 404
    assert world.client("l1").post(reverse("ticket-action", args=[ref, "resolve"]), {}).status_code == 403
    assert world.client("cust_a").post(reverse("ticket-action", args=[ref, "note"]), {"body": "x"}).status_code == 403
    assert world.client("t0").post(reverse("ticket-action", args=[ref, "explode"])).status_code == 404
    world.ticket.refresh_from_db()
    assert world.ticket.status == "new" and world.ticket.assignee is None


# --- queue ---------------------------------------------------------------------------------------------------


def _open(world: World, n: int, **kw: Any) -> list[Ticket]:
    return [
        services.create_ticket(organisation=world.org_a, contact=world.users["cust_a"], product=kw.get("product", "oss"),
                               severity=kw.get("severity", "P3"), subject=f"Bucket listing slow #{i}",
                               description="ListObjects takes 8 s on a bucket with 2M objects.")
        for i in range(n)
    ]


def test_queue_tabs_and_inline_claim(world: World) -> None:
    c = world.client("t0")
    lines = c.get(reverse("queue") + "?tab=lines").content.decode()
    assert world.ticket.ref in lines and reverse("queue-claim", args=[world.ticket.ref]) in lines
    assert world.ticket.ref not in c.get(reverse("queue") + "?tab=mine").content.decode().split("<tbody>")[1]

    row = c.post(reverse("queue-claim", args=[world.ticket.ref]), HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and b"<html" not in row.content and b"Claimed" in row.content
    mine = c.get(reverse("queue") + "?tab=mine").content.decode()
    assert world.ticket.ref in mine
    # A second engineer's claim of the same ticket gets an inline error, and the ticket keeps its assignee.
    other = world.users["t0b"] = make_user(username="t0b", role="t0", lines=["storage"])
    late = world.client("t0b").post(reverse("queue-claim", args=[world.ticket.ref]), HTTP_HX_REQUEST="true")
    assert late.status_code == 200 and b"Already taken" in late.content
    world.ticket.refresh_from_db()
    assert world.ticket.assignee == world.users["t0"] and world.ticket.assignee != other


def test_queue_lines_tab_puts_claimable_tickets_first(world: World) -> None:
    mine = _open(world, 1, severity="P1")[0]
    services.claim(ticket=mine, engineer=world.users["t0"])
    html = world.client("t0").get(reverse("queue") + "?tab=lines").content.decode()
    # The P1 is assigned already, so the unassigned P2 (claimable at my tier) comes before it.
    assert html.index(world.ticket.ref) < html.index(mine.ref)


def test_queue_filters_answer_htmx_with_the_results_only(world: World) -> None:
    p1 = _open(world, 1, severity="P1")[0]
    c = world.client("t0")
    part = c.get(reverse("queue") + "?tab=lines&severity=P1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results")
    body = part.content.decode()
    assert part.status_code == 200 and "<html" not in body
    assert p1.ref in body and world.ticket.ref not in body
    by_ref = c.get(reverse("queue") + f"?tab=lines&q={world.ticket.ref}").content.decode()
    assert world.ticket.ref in by_ref and p1.ref not in by_ref


def test_queue_keyset_pages_cover_everything_once(world: World) -> None:
    created = _open(world, 30)
    c = world.client("t0")
    first = c.get(reverse("queue") + "?tab=lines")
    page1 = first.context["page"]
    assert len(page1.rows) == 25 and page1.next_cursor
    more = c.get(reverse("queue") + f"?tab=lines&after={page1.next_cursor}", HTTP_HX_REQUEST="true")
    page2 = more.context["page"]
    assert b"<html" not in more.content and page2.next_cursor is None
    seen = [t.ref for t in page1.rows] + [t.ref for t in page2.rows]
    assert len(seen) == len(set(seen)) == 31
    assert set(seen) == {t.ref for t in created} | {world.ticket.ref}
    # A forged cursor is ignored (first page again), never a server error.
    assert c.get(reverse("queue") + "?tab=lines&after=!!garbage").status_code == 200


# --- portal --------------------------------------------------------------------------------------------------


def test_portal_opens_a_ticket_with_identifiers(world: World) -> None:
    c = world.client("cust_a")
    response = c.post(reverse("portal-new"), {
        "product": "cdn", "severity": "P2", "subject": "CDN 回源 502 on static.acme.com",
        "description": "从 10:05 开始大量 502，回源站点正常。",
        "instance_ids": "", "request_ids": "A1B2C3, D4E5F6", "domains": "static.acme.com",
        "window_start": "2025-03-04T10:05", "window_end": "",
    })
    assert response.status_code == 302
    ticket = Ticket.objects.exclude(pk=world.ticket.pk).get()
    assert response.url == reverse("portal-ticket", args=[ticket.ref])
    assert ticket.identifiers["request_ids"] == ["A1B2C3", "D4E5F6"] and ticket.identifiers["domains"] == ["static.acme.com"]
    assert ticket.identifiers["window_start"].startswith("2025-03-04T10:05")
    assert ticket.language == "zh" and ticket.line.code == "cdn" and ticket.routed_rule == "cdn-products"
    listing = c.get(reverse("portal")).content.decode()
    assert ticket.ref in listing and world.ticket.ref in listing


def test_portal_refuses_bad_input_with_field_errors_and_creates_nothing(world: World) -> None:
    c = world.client("cust_a")
    response = c.post(reverse("portal-new"), {"product": "", "severity": "P3", "subject": "", "description": ""})
    assert response.status_code == 400
    assert {"subject", "description", "product"} <= set(_errors(response.content.decode()))
    huge = "x" * (10 * 1024 * 1024)
    response = c.post(reverse("portal-new"), {"product": "oss", "severity": "P3", "subject": "logs", "description": huge})
    assert response.status_code == 400 and "description" in _errors(response.content.decode())
    unknown = c.post(reverse("portal-new"), {"product": "no-such", "severity": "P3", "subject": "s", "description": "d"})
    assert unknown.status_code == 400 and "product" in _errors(unknown.content.decode())
    assert Ticket.objects.count() == 1


def test_portal_reply_and_forged_ticket_of_another_organisation(world: World) -> None:
    c = world.client("cust_a")
    ok = c.post(reverse("portal-reply", args=[world.ticket.ref]), {"body": "It started right after our deploy."})
    assert ok.status_code == 302
    assert world.ticket.messages.filter(internal=False, body__startswith="It started").exists()
    empty = c.post(reverse("portal-reply", args=[world.ticket.ref]), {"body": "  "})
    assert empty.status_code == 400 and "body" in _errors(empty.content.decode())
    forged = world.client("cust_b").post(reverse("portal-reply", args=[world.ticket.ref]), {"body": "hi"})
    assert forged.status_code == 404
    assert world.ticket.messages.count() == 1


# --- lead pages ------------------------------------------------------------------------------------------------


def test_line_loads_and_weekly_report(world: World) -> None:
    _open(world, 2, severity="P1")
    services.claim(ticket=world.ticket, engineer=world.users["t0"])
    services.resolve(ticket=world.ticket, actor=world.users["t0"], note="Removed the explicit Deny.")
    loads = {x.line.code: x for x in reports.line_loads(at=world.ticket.created_at)}
    assert loads["storage"].by_tier["T0"] == 2 and loads["storage"].unassigned == 2 and loads["storage"].p1p2 == 2
    html = world.client("lead").get(reverse("lead-lines")).content.decode()
    assert 'data-line="storage"' in html
    rows = {r.user_id: r for r in reports.weekly(since=world.ticket.created_at.replace(year=2000),
                                                     until=world.ticket.created_at.replace(year=2100))}
    assert rows[world.users["t0"].pk].handled == 1 and rows[world.users["t0"].pk].closed == 1
    page = world.client("lead").get(reverse("lead-weekly")).content.decode()
    assert "1 tickets handled, 1 closed" in page


def test_roster_edit_adds_and_removes_shifts_and_leave(world: World) -> None:
    c = world.client("lead")
    url = reverse("roster-edit", args=["t0"])
    bad = c.post(url, {"what": "add_shift", "shift-weekday": "0", "shift-start": "09:00", "shift-end": "09:00",
                       "shift-timezone": "Mars/Olympus"})
    assert bad.status_code == 400 and {"end", "timezone"} <= set(_errors(bad.content.decode()))
    ok = c.post(url, {"what": "add_shift", "shift-weekday": "0", "shift-start": "22:00", "shift-end": "06:00",
                      "shift-timezone": "Asia/Shanghai"})
    assert ok.status_code == 302
    shift = world.users["t0"].shifts.get()
    assert (shift.weekday, shift.start.hour, shift.end.hour) == (0, 22, 6)
    assert "22:00–06:00" in world.client("t0").get(reverse("roster")).content.decode()
    c.post(url, {"what": "add_leave", "leave-start": "2030-01-01T00:00", "leave-end": "2030-01-05T00:00",
                 "leave-reason": "annual leave"})
    assert world.users["t0"].leaves.count() == 1
    c.post(url, {"what": "delete_shift", "id": shift.pk})
    assert not world.users["t0"].shifts.exists()
    assert world.client("t0").post(url, {"what": "add_leave"}).status_code == 403


# --- languages -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "url_name", "zh"), [
    ("t0", "queue", "即将超时"),
    ("lead", "lead-dashboard", "升级与退回"),
    ("cust_a", "portal-new", "提交工单"),
])
def test_pages_in_chinese(world: World, who: str, url_name: str, zh: str) -> None:
    en = world.client(who).get(reverse(url_name)).content.decode()
    assert zh not in en
    html = world.client(who, lang="zh-hans").get(reverse(url_name)).content.decode()
    assert zh in html and 'lang="zh-hans"' in html


def test_ticket_page_in_chinese_and_language_switch(world: World) -> None:
    c = world.client("t0")
    switched = c.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("queue")})
    assert switched.status_code == 302
    html = c.get(reverse("ticket", args=[world.ticket.ref])).content.decode()
    assert "时间线" in html and "认领此工单" in html


# --- the desk at scale: the queue's two keyset parts, capped counts, one visibility check per page -----------------


def test_queue_lines_pages_walk_claimable_then_the_rest_in_order(world: World) -> None:
    from casework.desk.tickets.models import OPEN_STATUSES

    tickets = _open(world, 30) + _open(world, 4, severity="P1")
    for t in tickets[:12]:  # assigned: not claimable any more, so they belong to the second part
        services.claim(ticket=t, engineer=world.users["t0"])
    c = world.client("t0")
    page = c.get(reverse("queue") + "?tab=lines").context["page"]
    seen = [t.ref for t in page.rows]
    while page.next_cursor:
        page = c.get(reverse("queue") + f"?tab=lines&after={page.next_cursor}", HTTP_HX_REQUEST="true").context["page"]
        seen += [t.ref for t in page.rows]
    expected = sorted(
        Ticket.objects.filter(line__code="storage", status__in=OPEN_STATUSES),
        key=lambda t: (0 if t.assignee_id is None and t.tier == "T0" else 1, t.severity, t.created_at, t.id),
    )
    assert seen == [t.ref for t in expected] and len(seen) == 35
    # The first page ended inside the second part: the claimed tickets come after every claimable one.
    assert set(seen[:23]) == {t.ref for t in expected if t.assignee_id is None}


def test_queue_tab_counts_stop_at_the_cap(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.cache import cache

    from casework.desk.views import queue as queue_views

    _open(world, 6)
    cache.clear()
    monkeypatch.setattr(queue_views, "COUNT_CAP", 5)
    html = world.client("t0").get(reverse("queue") + "?tab=lines").content.decode()
    assert re.search(r'My lines <span class="count">5\+</span>', html)
    assert re.search(r'Mine <span class="count">0</span>', html)
    cache.clear()


def test_allowed_actions_answers_like_asking_can_for_each_action(world: World) -> None:
    """The one-visibility-check shortcut the pages use must agree with ``can()`` asked action by action."""
    from casework.desk.access import permissions

    claimed, escalated, resolved = _open(world, 3)
    services.claim(ticket=claimed, engineer=world.users["t0"])
    services.claim(ticket=escalated, engineer=world.users["t0"])
    services.escalate(ticket=escalated, actor=world.users["t0"], summary=services.SummaryInput(**SUMMARY))
    services.claim(ticket=resolved, engineer=world.users["t0"])
    services.resolve(ticket=Ticket.objects.get(pk=resolved.pk), actor=world.users["t0"])
    admin = make_user(username="root", role="admin")
    for user in [*world.users.values(), admin]:
        visible = set(permissions.visible_tickets(user).values_list("pk", flat=True))
        for ticket in Ticket.objects.all():
            one_by_one = {a for a in permissions.TICKET_ACTIONS if permissions.can(user, a, ticket)}
            assert permissions.allowed_actions(user, ticket) == one_by_one, (user, ticket.ref)
            if ticket.pk in visible:  # the queue passes visible=True for rows of visible_tickets()
                assert permissions.allowed_actions(user, ticket, visible=True) == one_by_one, (user, ticket.ref)


def test_ticket_page_loads_the_sla_panel(world: World) -> None:
    html = world.client("t0").get(reverse("ticket", args=[world.ticket.ref])).content.decode()
    assert f'hx-get="{reverse("sla:panel", args=[world.ticket.ref])}" hx-trigger="load"' in html
    panel = world.client("t0").get(reverse("sla:panel", args=[world.ticket.ref]))
    assert panel.status_code == 200 and "sla-panel" in panel.content.decode()
    # Actions the engineer cannot take on an unassigned ticket are not even rendered.
    assert 'id="form-escalate"' not in html and 'id="form-claim"' in html


def test_portal_offers_the_rate_link_once_resolved(world: World) -> None:
    rate = reverse("sla:portal-rate", args=[world.ticket.ref])
    assert rate not in world.client("cust_a").get(reverse("portal-ticket", args=[world.ticket.ref])).content.decode()
    services.claim(ticket=world.ticket, engineer=world.users["t0"])
    services.resolve(ticket=Ticket.objects.get(pk=world.ticket.pk), actor=world.users["t0"])
    html = world.client("cust_a").get(reverse("portal-ticket", args=[world.ticket.ref])).content.decode()
    assert f'href="{rate}"' in html
    assert world.client("cust_a").get(rate).status_code == 200


def test_leads_get_the_sla_pages_in_the_nav(world: World) -> None:
    lead = world.client("lead").get(reverse("queue")).content.decode()
    assert 'href="/sla/"' in lead and 'href="/sla/ratings/"' in lead
    assert world.client("lead").get("/sla/").status_code == 200
    assert world.client("lead").get("/sla/ratings/").status_code == 200
    engineer = world.client("t0").get(reverse("queue")).content.decode()
    assert 'href="/sla/"' not in engineer and 'href="/sla/ratings/"' not in engineer
