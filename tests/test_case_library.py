"""The case library: resolving a ticket indexes it, a new error finds the old case that solved it (in English and
Chinese), reopening takes it out, and only engineers search it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from casework.desk.access.tokens import issue_token
from casework.desk.library import search as library
from casework.desk.library.index import reindex_all
from casework.desk.library.models import CaseTerm
from casework.desk.library.terms import terms_of
from casework.desk.tickets import services
from casework.desk.tickets.models import Status, Ticket
from desk_fixtures import make_world

pytestmark = pytest.mark.django_db

CASES = [
    ("slb", "SLB health check fails with 405 on the backend",
     "The HTTPS health check marks all backends unhealthy; curl of /health gives 405 Method Not Allowed.",
     "The check sends HEAD and the app only allows GET: switch the health check method to GET."),
    ("oss", "PutObject returns 403 AccessDenied for a RAM user",
     "SDK call fails with AccessDenied; RequestId 5F1A22B0CAFE. The user has AliyunOSSFullAccess.",
     "A bucket policy denied oss:PutObject from the VPC endpoint; fixed the policy."),
    ("mongodb", "MongoDB 有一些慢日志查询，不是我们业务产生的",
     "慢日志里 op 是 getmore，ns 是 local.oplog.rs，用户 __system。",
     "这些慢日志是 __system 用户的 oplog 同步（副本集复制），不是业务查询。"),
    ("ecs", "ECS cannot be reached over SSH", "Port 22 times out since the reboot.",
     "sshd failed to start after the upgrade; fixed through the VNC console."),
]


def resolve_case(world, product, subject, description, answer) -> Ticket:
    ticket = services.create_ticket(organisation=world.org_a, contact=world.customer_a, product=product,
                                    subject=subject, description=description)
    engineer = world.l2 if product not in ("oss",) else world.t0_storage
    if ticket.assignee is None and ticket.line.code == "storage":
        services.claim(ticket=ticket, engineer=world.t0_storage)
    services.resolve(ticket=Ticket.objects.get(pk=ticket.pk), actor=engineer, note=answer)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def world():
    w = make_world()
    w.cases = {c[0]: resolve_case(w, *c) for c in CASES}
    return w


def test_terms_keep_error_codes_and_split_chinese_into_bigrams():
    terms = terms_of("SDK.ServerUnreachable ERROR 1040 健康检查 i-bp1exportsabc123")
    assert {"sdk.serverunreachable", "sdk", "serverunreachable", "error", "1040", "健康", "康检", "检查"} <= set(terms)
    assert "i-bp1exportsabc123" not in terms  # an instance id finds nothing else


def test_resolving_indexes_the_case_and_a_new_error_finds_it(world):
    assert CaseTerm.objects.filter(ticket=world.cases["slb"]).exists()
    hits = library.search("health check 405 Method Not Allowed HEAD")
    assert hits[0].ticket == world.cases["slb"]
    assert {"405", "head"} <= set(hits[0].matched)
    assert library.search("AccessDenied on PutObject")[0].ticket == world.cases["oss"]


def test_a_chinese_question_finds_the_chinese_case(world):
    hits = library.search("客户说有很多 oplog 慢日志")
    assert hits and hits[0].ticket == world.cases["mongodb"]


def test_open_tickets_are_not_cases_and_reopening_removes_one(world):
    open_ticket = services.create_ticket(organisation=world.org_a, contact=world.customer_a, product="slb",
                                         subject="health check 405 again", description="HEAD 405")
    assert not CaseTerm.objects.filter(ticket=open_ticket).exists()
    assert all(h.ticket != open_ticket for h in library.search("health check 405"))
    slb = world.cases["slb"]
    services.set_status(ticket=slb, actor=world.lead, status=Status.IN_PROGRESS, reason="customer says it is back")
    assert not CaseTerm.objects.filter(ticket=slb).exists()
    assert library.search("405 Method Not Allowed") == []


def test_similar_cases_for_a_new_ticket_exclude_itself(world):
    new = services.create_ticket(organisation=world.org_b, contact=world.customer_b, product="slb",
                                 subject="Health check unhealthy but TCP check passes", description="backend gives 405")
    similar = library.similar_to(new)
    assert similar[0].ticket == world.cases["slb"] and all(h.ticket != new for h in similar)


def test_reindex_all_rebuilds_the_same_index(world):
    before = sorted(CaseTerm.objects.values_list("ticket_id", "term", "weight"))
    CaseTerm.objects.all().delete()
    assert reindex_all() == len(CASES)
    assert sorted(CaseTerm.objects.values_list("ticket_id", "term", "weight")) == before


def test_engineers_search_pages_and_api_customers_may_not(client, world):
    client.force_login(world.t0_network)
    page = client.get(reverse("library:search"), {"q": "PutObject AccessDenied"})
    assert page.status_code == 200 and world.cases["oss"].ref in page.content.decode()
    case = client.get(reverse("library:case", args=[world.cases["oss"].ref]))
    assert case.status_code == 200 and "bucket policy denied" in case.content.decode()
    api = client.get("/api/v1/cases", {"q": "405 health check"},
                     HTTP_AUTHORIZATION=f"Bearer {issue_token(user=world.t0_network)}")
    assert api.status_code == 200 and api.json()[0]["ref"] == world.cases["slb"].ref
    client.force_login(world.customer_a)
    assert client.get(reverse("library:search"), {"q": "405"}).status_code == 403
    refused = client.get("/api/v1/cases", {"q": "405"}, HTTP_AUTHORIZATION=f"Bearer {issue_token(user=world.customer_a)}")
    assert refused.status_code == 403


def test_the_ticket_page_loads_similar_cases_for_engineers_only(client, world):
    new = services.create_ticket(organisation=world.org_a, contact=world.customer_a, product="slb",
                                 subject="Health check says 405", description="TCP check passes")
    client.force_login(world.t0_network)
    page = client.get(reverse("ticket", args=[new.ref])).content.decode()
    panel_url = reverse("library:similar", args=[new.ref])
    assert f'hx-get="{panel_url}"' in page and reverse("library:search") in page  # the panel and the nav link
    panel = client.get(panel_url, HTTP_HX_REQUEST="true").content.decode()
    assert world.cases["slb"].ref in panel and new.ref not in panel
    client.force_login(world.customer_a)
    assert client.get(panel_url).status_code in (403, 404)
