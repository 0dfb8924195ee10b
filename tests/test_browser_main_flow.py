"""The desk's main flow in Debian's headless Chromium, with the screenshots the README tour uses.

A customer opens a ticket in the portal → the published rule routes it → a T0 claims it from the queue →
escalation without a summary is refused with field errors, then accepted with one → the L1 tries to return it
without a reason and is refused → claims and resolves it. A lead then looks at the dashboard.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from browser import DEMO_RULES, login, make_user, publish_rules, screenshot
from casework.desk.team.models import Organisation
from casework.desk.team.reference import ensure_reference_data
from casework.desk.tickets import services
from casework.desk.tickets.models import EventKind, Ticket, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "OSS GetObject returns 403 AccessDenied after bucket policy change"

# Background tickets so the queue and the dashboard look like a working day: (org, product, sev, subject, hours ago)
BACKGROUND = [
    ("acme", "oss", "P3", "Bucket lifecycle rule did not delete objects older than 30 days", 30),
    ("acme", "cdn", "P2", "CDN 回源 502，static.acme.com 大量报错", 20),
    ("yunfan", "oss", "P2", "OSS 上传大文件分片时报 RequestTimeTooSkewed", 9),
    ("globex", "nas", "P3", "NAS mount hangs on ECS after kernel upgrade", 7),
    ("yunfan", "oss", "P1", "OSS 外网下载速度从 80MB/s 降到 2MB/s", 5),
    ("globex", "oss", "P4", "How do I enable versioning on an existing bucket?", 3),
    ("acme", "ecs", "P2", "ECS instance i-bp1f2 stuck in Stopping for 40 minutes", 26),
    ("globex", "vpc", "P3", "VPC peering route not propagated to the second vSwitch", 50),
    ("yunfan", "rds-mysql", "P2", "RDS MySQL 主备切换后应用连接数打满", 70),
]


def _world() -> dict[str, Any]:
    ensure_reference_data()
    publish_rules(DEMO_RULES)
    orgs = {
        "acme": Organisation.objects.create(name="Acme Retail", tier="enterprise", region="cn-shanghai"),
        "globex": Organisation.objects.create(name="Globex Logistics", tier="business", region="ap-southeast-1"),
        "yunfan": Organisation.objects.create(name="杭州云帆科技", tier="business", region="cn-hangzhou", language="zh"),
    }
    people = {
        "li.na": make_user(username="li.na", role="customer", organisation=orgs["acme"], display_name="Li Na"),
        "chen.jie": make_user(username="chen.jie", role="t0", lines=["storage"], readiness=["oss", "nas"],
                              display_name="Chen Jie"),
        "zhang.wei": make_user(username="zhang.wei", role="t0", lines=["storage", "cdn"], readiness=["oss", "cdn"],
                               display_name="Zhang Wei"),
        "wang.fang": make_user(username="wang.fang", role="l1", lines=["storage"], readiness=["oss", "nas"],
                               display_name="Wang Fang"),
        "liu.yang": make_user(username="liu.yang", role="l2", lines=["storage", "cdn"], display_name="Liu Yang"),
        "zhao.lei": make_user(username="zhao.lei", role="t0", lines=["network", "compute"], readiness=["vpc", "ecs"],
                              display_name="Zhao Lei"),
        "sun.li": make_user(username="sun.li", role="t0", lines=["database"], readiness=["rds-mysql"],
                            display_name="Sun Li"),
        "he.min": make_user(username="he.min", role="lead", lines=["storage", "cdn", "network"], display_name="He Min"),
    }
    contacts = {"acme": people["li.na"],
                "globex": make_user(username="j.doe", role="customer", organisation=orgs["globex"]),
                "yunfan": make_user(username="wu.qiang", role="customer", organisation=orgs["yunfan"])}
    now = timezone.now()
    tickets = []
    for org, product, sev, subject, hours in BACKGROUND:
        tickets.append(services.create_ticket(
            organisation=orgs[org], contact=contacts[org], product=product, severity=sev, subject=subject,
            description=subject + "\n\n" + "Seen from several regions; no change on our side.", at=now - timedelta(hours=hours),
            language="zh" if re.search(r"[\u4e00-\u9fff]", subject) else "en"))
    # Some history for the dashboard: claims, an escalation that bounced, one that stuck, a resolution.
    t_cdn, t_net, t_db = tickets[1], tickets[7], tickets[8]
    services.claim(ticket=t_cdn, engineer=people["zhang.wei"], at=now - timedelta(hours=19))
    services.escalate(ticket=t_cdn, actor=people["zhang.wei"], at=now - timedelta(hours=18), summary=services.SummaryInput(
        problem="CDN returns 502 for static.acme.com on 30% of requests since 09:40",
        checked="Origin health, CDN access logs, back-to-origin host header, certificate",
        findings="Origin answers 200 directly; 502 only on nodes in cn-east-2 back-to-origin pool",
        identifiers="static.acme.com, req 7A1C9E", time_window="09:40-10:30 +08:00", impact="Product images broken"))
    t_cdn.refresh_from_db()
    services.return_down(ticket=t_cdn, actor=people["wang.fang"], at=now - timedelta(hours=17),
                         reason="Please attach the failing node IPs and an mtr from one of them")
    services.claim(ticket=t_net, engineer=people["zhao.lei"], at=now - timedelta(hours=48))
    services.resolve(ticket=t_net, actor=people["zhao.lei"], note="Route table re-published.", at=now - timedelta(hours=40))
    services.claim(ticket=t_db, engineer=people["sun.li"], at=now - timedelta(hours=69))
    services.claim(ticket=tickets[3], engineer=people["chen.jie"], at=now - timedelta(hours=6))
    return {"orgs": orgs, "people": people}


def _ticket(ref: str) -> Ticket:
    return Ticket.objects.select_related("line", "assignee").get(ref=ref)


def test_main_flow(desk_page: Any, live_server: Any) -> None:
    page = desk_page
    base = live_server.url
    _world()

    # 1. The customer opens a ticket in the portal.
    login(page, base, "li.na")
    assert page.url.endswith("/portal/")
    page.click("text=Open a ticket >> nth=0")
    page.select_option("#id_product", "oss")
    page.select_option("#id_severity", "P2")
    page.fill("#id_subject", SUBJECT)
    page.fill("#id_description", "Since 10:00 every GetObject on bucket acme-exports fails with 403 AccessDenied. "
                                 "We changed the bucket policy at 09:58 to restrict access to our VPC endpoint.")
    page.fill("#id_instance_ids", "i-bp1exports01")
    page.fill("#id_request_ids", "5F3A0C2E8E1B4C7D")
    page.fill("#id_domains", "acme-exports.oss-cn-shanghai.aliyuncs.com")
    page.fill("#id_window_start", "2025-03-04T10:00")
    page.click("#form-open button[type=submit]")
    page.wait_for_url(re.compile(r"/portal/t/\w+/$"))
    ref = page.url.rstrip("/").rsplit("/", 1)[1]
    assert page.locator(".flash .success").inner_text().startswith(f"Ticket {ref} is open")
    page.goto(f"{base}/portal/")
    assert page.locator(f"a:text('{ref}')").count() == 1
    screenshot(page, "portal")

    # 2. The published rule routed it; a T0 of the storage line sees it in the queue and claims it.
    login(page, base, "chen.jie")
    page.goto(f"{base}/queue/?tab=lines")
    row = page.locator(f"#row-{ref}")
    assert row.count() == 1
    screenshot(page, "queue")
    row.locator("button:text('Claim')").click()
    page.locator(f"#row-{ref} .ok").wait_for()
    assert _ticket(ref).assignee.username == "chen.jie"

    page.goto(f"{base}/t/{ref}/")
    assert page.get_attribute("#ticket-facts [data-line]", "data-line") == "storage"
    assert page.get_attribute("#ticket-facts [data-rule]", "data-rule") == "oss-403-acl"
    assert "routed to Storage (OSS) by rule oss-403-acl" in page.locator(".timeline").inner_text()

    # 3. Escalating without a summary is refused with an error next to each field.
    page.click("#act-escalate summary")
    page.fill("#id_problem", "403 on GetObject")
    page.click("#form-escalate button[type=submit]")
    page.locator("#form-escalate .field-error").first.wait_for()
    fields = {e.get_attribute("data-for") for e in page.locator("#form-escalate .field-error").all()}
    assert fields == {"problem", "checked", "findings", "identifiers", "time_window", "impact"}
    assert _ticket(ref).tier == "T0"
    page.locator("#act-escalate").scroll_into_view_if_needed()
    page.evaluate("document.querySelector('#act-escalate').scrollIntoView({block: 'start'}); window.scrollBy(0, -70)")
    screenshot(page, "escalate_refused")

    # ... and accepted with a complete one.
    page.fill("#id_problem", "GetObject on bucket acme-exports returns 403 AccessDenied for every object since 10:00")
    page.fill("#id_checked", "Bucket policy history, RAM role of i-bp1exports01, STS expiry, OSS access logs 09:50-10:30")
    page.fill("#id_findings", "Policy v7 (09:58) adds an explicit Deny on oss:GetObject unless acs:SourceVpc matches; "
                              "requests arrive through the VPC endpoint with a different SourceVpc")
    page.fill("#id_identifiers", "i-bp1exports01, request 5F3A0C2E8E1B4C7D")
    page.fill("#id_time_window", "2025-03-04 10:00-now +08:00")
    page.fill("#id_impact", "Nightly export for all Acme stores fails; finance reports blocked")
    page.click("#form-escalate button[type=submit]")
    page.locator(".flash .success").wait_for()
    ticket = _ticket(ref)
    assert (ticket.tier, ticket.status, ticket.escalations) == ("L1", "escalated", 1)

    # 4. The L1 tries to send it back without a reason: refused. Then claims and resolves it.
    login(page, base, "wang.fang")
    page.goto(f"{base}/t/{ref}/")
    assert "Nightly export for all Acme stores fails" in page.locator(".timeline").inner_text()
    screenshot(page, "ticket", full_page=True)
    page.click("#act-return summary")
    page.click("#form-return button[type=submit]")
    page.locator("#form-return .field-error[data-for=reason]").wait_for()
    ticket = _ticket(ref)
    assert (ticket.tier, ticket.bounces) == ("L1", 0)
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.RETURNED).exists()

    page.click("#form-claim button[type=submit]")
    page.locator(".flash .success").wait_for()
    page.click("#act-resolve summary")
    page.fill("#id_note", "The Deny statement matched the wrong VPC id; corrected policy v8 restores access.")
    page.click("#form-resolve button[type=submit]")
    page.locator(".flash .success").wait_for()
    ticket = _ticket(ref)
    assert (ticket.status, ticket.assignee.username, ticket.tier) == ("resolved", "wang.fang", "L1")
    assert page.get_attribute("#ticket-facts [data-status]", "data-status") == "resolved"

    # 5. The customer sees the public answer, never the internal events; the lead sees the numbers.
    login(page, base, "li.na")
    page.goto(f"{base}/portal/t/{ref}/")
    public = page.locator(".timeline").inner_text()
    assert "corrected policy v8 restores access" in public and "oss-403-acl" not in public and "escalated" not in public

    login(page, base, "he.min")
    page.goto(f"{base}/lead/dashboard/")
    storage = page.locator("#per-line tr[data-line=storage] td").all_inner_texts()
    assert storage[2] == "1"  # one ticket escalated in the storage line
    screenshot(page, "dashboard")
    page.click("form.lang button[value=zh-hans]")
    page.locator("h1:text('升级与退回')").wait_for()
    screenshot(page, "dashboard_zh")
    page.click("form.lang button[value=en]")
    page.goto(f"{base}/lead/lines/")
    screenshot(page, "line_loads")
