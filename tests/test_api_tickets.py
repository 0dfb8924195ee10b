"""The REST API's ticket endpoints on a real desk: auth, create, list/filter/paginate, read, act, bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from casework.desk.team.models import Role
from casework.desk.tickets import services
from casework.desk.tickets.models import Message, Ticket, TicketEvent
from test_api_world import LINE_X, NOTE_MARKER, SUMMARY, bearer, build_world, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def post(client, path: str, body, user=None, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = bearer(user) if user is not None else {}
    return client.post(f"/api/v1{path}", data=data, content_type="application/json", **headers, **extra)


def get(client, path: str, user=None, **params):
    headers = bearer(user) if user is not None else {}
    return client.get(f"/api/v1{path}", params, **headers)


def new_ticket(**overrides):
    body = {"product": "oss", "subject": "OSS 403 AccessDenied on GetObject",
            "description": "Since 09:00 every GetObject on bucket shop-img returns 403.", "severity": "P2"}
    body.update(overrides)
    return body


def snapshot():
    return Ticket.objects.count(), TicketEvent.objects.count(), Message.objects.count()


# --- authentication -------------------------------------------------------------------------------------


def test_no_credentials_is_401_with_the_error_shape(client, world):
    response = client.get("/api/v1/tickets")
    assert response.status_code == 401
    assert list(response.json()["errors"]) == ["__all__"]


def test_unknown_or_malformed_token_is_401(client, world):
    for token in ("cw_not-a-real-token", "garbage", ""):
        response = client.get("/api/v1/tickets", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401, token


def test_token_of_a_deactivated_user_stops_working(client, world):
    user = world.users["t0_x"]
    headers = bearer(user)
    assert client.get("/api/v1/tickets", **headers).status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/api/v1/tickets", **headers).status_code == 401


def test_session_cookie_authenticates_the_desk_pages_calls(client, world):
    client.force_login(world.users["cust_b"])
    response = client.get("/api/v1/tickets")
    assert response.status_code == 200
    assert response.json()["items"] == []  # org B has no tickets; org A's are invisible
    client.force_login(world.users["cust_a"])
    refs = {t["ref"] for t in client.get("/api/v1/tickets").json()["items"]}
    assert refs == {t.ref for t in world.tickets.values()}


# --- create ---------------------------------------------------------------------------------------------


def test_customer_opens_a_ticket_for_their_organisation_and_it_is_routed(client, world):
    response = post(client, "/tickets", new_ticket(identifiers={"request_ids": ["5F1A2B3C"]}), world.users["cust_a"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["organisation"] == {"id": world.orgs["a"].pk, "name": "Org A"}
    assert body["contact"] == "cust_a"
    assert body["line"] == LINE_X  # the published rule sent OSS to the storage line
    assert body["status"] == "new" and body["tier"] == "T0"
    assert body["identifiers"] == {"request_ids": ["5F1A2B3C"]}
    # Routing facts are the desk's business, not the customer's.
    assert body["routed_rule"] is None and body["tags"] is None
    assert [e["kind"] for e in body["events"]] == ["created"]
    ticket = Ticket.objects.get(ref=body["ref"])
    assert ticket.routed_rule == "oss-to-storage"
    assert ticket.events.filter(kind="routed").exists()


def test_customer_cannot_open_a_ticket_for_another_organisation(client, world):
    before = snapshot()
    response = post(client, "/tickets", new_ticket(organisation=world.orgs["b"].pk), world.users["cust_a"])
    assert response.status_code == 403
    assert "organisation" in response.json()["errors"]
    assert snapshot() == before


def test_engineers_name_the_organisation_and_its_contact(client, world):
    lead = world.users["lead"]
    before = snapshot()
    response = post(client, "/tickets", new_ticket(), lead)
    assert response.status_code == 400 and "organisation" in response.json()["errors"]
    response = post(client, "/tickets", new_ticket(organisation=999_999), lead)
    assert response.status_code == 400 and "organisation" in response.json()["errors"]
    response = post(client, "/tickets", new_ticket(organisation=world.orgs["b"].pk, contact="cust_a"), lead)
    assert response.status_code == 400 and "contact" in response.json()["errors"]
    assert snapshot() == before

    response = post(client, "/tickets", new_ticket(organisation=world.orgs["b"].pk, contact="cust_b"), lead)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["organisation"]["name"] == "Org B" and body["contact"] == "cust_b"
    assert body["routed_rule"] == "oss-to-storage"  # engineers see the routing facts
    assert Ticket.objects.get(ref=body["ref"]).events.get(kind="created").actor == lead


def test_unknown_product_is_refused_and_nothing_is_stored(client, world):
    before = snapshot()
    response = post(client, "/tickets", new_ticket(product="mainframe"), world.users["cust_a"])
    assert response.status_code == 400
    assert "mainframe" in response.json()["errors"]["product"][0]
    assert snapshot() == before


def test_ten_megabyte_description_is_refused_and_nothing_is_stored(client, world):
    before = snapshot()
    huge = "x" * (10 * 1024 * 1024)
    response = post(client, "/tickets", new_ticket(description=huge), world.users["cust_a"])
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["description"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"subject": 12345}, "subject"),
        ({"identifiers": "i-bp1abc"}, "identifiers"),
        ({"organisation": "Org A"}, "organisation"),
        ({"product": None}, "product"),
    ],
)
def test_wrong_field_types_are_422_naming_the_field(client, world, override, field):
    before = snapshot()
    response = post(client, "/tickets", new_ticket(**override), world.users["lead"])
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert snapshot() == before


def test_missing_fields_are_422_naming_each(client, world):
    response = post(client, "/tickets", {"product": "oss"}, world.users["cust_a"])
    assert response.status_code == 422
    assert {"subject", "description"} <= set(response.json()["errors"])


def test_malformed_json_is_422_on_the_body(client, world):
    before = snapshot()
    response = post(client, "/tickets", '{"product": "oss", "subject": ', world.users["cust_a"])
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["body"]
    assert snapshot() == before


# --- read -----------------------------------------------------------------------------------------------


def test_forged_ticket_id_of_another_organisation_is_404_and_changes_nothing(client, world):
    intruder = world.users["cust_b"]
    ref = world.tickets["open"].ref
    before = snapshot()
    forged = get(client, f"/tickets/{ref}", intruder)
    missing = get(client, "/tickets/ZZZZ9999", intruder)
    assert forged.status_code == missing.status_code == 404
    assert forged.json() == missing.json()  # no oracle: "not yours" looks exactly like "does not exist"
    for action, body in [("reply", {"body": "hello?"}), ("claim", {}), ("resolve", {}),
                         ("escalate", {}), ("note", {"body": "x"})]:
        assert post(client, f"/tickets/{ref}/{action}", body, intruder).status_code == 404, action
    assert snapshot() == before


def test_customer_reads_the_conversation_but_no_internal_notes(client, world):
    t0, customer = world.users["t0_x"], world.users["cust_a"]
    ticket = world.ticket("escalated")
    services.reply(ticket=ticket, actor=t0, body="We found a deny statement in your RAM policy.")
    services.add_note(ticket=world.ticket("escalated"), actor=t0, body=f"{NOTE_MARKER} second note")
    body = get(client, f"/tickets/{ticket.ref}", customer).json()
    assert [m["body"] for m in body["messages"]] == ["We found a deny statement in your RAM policy."]
    assert all(not m["internal"] for m in body["messages"])
    assert body["summaries"] == []
    kinds = {e["kind"] for e in body["events"]}
    assert kinds <= {"created", "status_changed", "replied", "customer_replied", "rated"}
    assert "escalated" not in kinds and "noted" not in kinds
    moves = [e["data"] for e in body["events"] if e["kind"] == "status_changed"]
    assert {"from": "new", "to": "assigned"} in moves and {"from": "assigned", "to": "escalated"} in moves
    replies = [e["data"] for e in body["events"] if e["kind"] == "replied"]
    assert replies == [{"message": body["messages"][0]["id"]}]
    raw = get(client, f"/tickets/{ticket.ref}", customer).content.decode()
    assert NOTE_MARKER not in raw and SUMMARY.findings not in raw
    assert body["allowed_actions"] == ["attach", "reply", "view"]

    engineer_view = get(client, f"/tickets/{ticket.ref}", world.users["l1"]).json()
    assert sum(m["internal"] for m in engineer_view["messages"]) == 2
    assert engineer_view["summaries"][0]["findings"] == SUMMARY.findings
    assert [e["kind"] for e in engineer_view["events"]][:3] == ["created", "routed", "claimed"]
    assert "claim" in engineer_view["allowed_actions"]


# --- actions --------------------------------------------------------------------------------------------


def test_main_flow_through_the_api(client, world):
    customer, t0, l1 = world.users["cust_a"], world.users["t0_x"], world.users["l1"]
    ref = post(client, "/tickets", new_ticket(), customer).json()["ref"]
    assert post(client, f"/tickets/{ref}/claim", {}, t0).json()["assignee"] == "t0_x"

    refused = post(client, f"/tickets/{ref}/escalate", {"problem": "403s", "impact": ""}, t0)
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert set(errors) == {"problem", "checked", "findings", "identifiers", "time_window", "impact"}
    assert "at least" in errors["problem"][0]
    assert Ticket.objects.get(ref=ref).tier == "T0"

    summary = {k: getattr(SUMMARY, k) for k in SUMMARY.__slots__}
    escalated = post(client, f"/tickets/{ref}/escalate", summary, t0)
    assert escalated.status_code == 200, escalated.content
    assert escalated.json()["tier"] == "L1" and escalated.json()["status"] == "escalated"

    assert post(client, f"/tickets/{ref}/claim", {}, l1).status_code == 200
    refused = post(client, f"/tickets/{ref}/return", {"reason": ""}, l1)
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["reason"]
    assert Ticket.objects.get(ref=ref).bounces == 0

    assert post(client, f"/tickets/{ref}/reply", {"body": "Fixed the policy; please retry."}, l1).status_code == 200
    resolved = post(client, f"/tickets/{ref}/resolve", {"note": "Removed the explicit deny on the prefix."}, l1)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"

    seen = get(client, f"/tickets/{ref}", customer).json()
    assert seen["status"] == "resolved"
    assert [m["body"] for m in seen["messages"]][-1] == "Removed the explicit deny on the prefix."


def test_resolve_accepts_an_empty_body(client, world):
    ref = world.tickets["open"].ref
    # What `curl -X POST -H "Authorization: Bearer …"` sends: no body at all.
    response = client.post(f"/api/v1/tickets/{ref}/resolve", data="", content_type="application/json",
                           **bearer(world.users["t0_x"]))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"


def test_second_claim_loses(client, world):
    ref = world.tickets["escalated"].ref
    l1b = make_user("l1b", Role.L1, lines=(LINE_X,))
    assert post(client, f"/tickets/{ref}/claim", {}, world.users["l1"]).status_code == 200
    lost = post(client, f"/tickets/{ref}/claim", {}, l1b)
    assert lost.status_code in (403, 409)
    assert Ticket.objects.get(ref=ref).assignee == world.users["l1"]
    assert TicketEvent.objects.filter(ticket__ref=ref, kind="claimed").count() == 2  # t0_x at T0, then l1


def test_return_with_a_reason_counts_a_bounce(client, world):
    ref = world.tickets["escalated"].ref
    response = post(client, f"/tickets/{ref}/return", {"reason": "No request ids in the summary."}, world.users["l1"])
    assert response.status_code == 200
    assert response.json()["tier"] == "T0" and response.json()["bounces"] == 1
    assert response.json()["assignee"] == "t0_x"  # back to whoever escalated it
    # The customer sees the status move but not the internal reason of the bounce.
    seen = get(client, f"/tickets/{ref}", world.users["cust_a"])
    assert "No request ids" not in seen.content.decode()
    assert {"from": "escalated", "to": "assigned"} in [e["data"] for e in seen.json()["events"]]


def test_reassign_needs_a_known_line_and_a_reason(client, world):
    t0, ref = world.users["t0_x"], world.tickets["open"].ref
    before = snapshot()
    bad_line = post(client, f"/tickets/{ref}/reassign", {"line": "mainframes", "reason": "Wrong product line."}, t0)
    assert bad_line.status_code == 400 and list(bad_line.json()["errors"]) == ["line"]
    no_reason = post(client, f"/tickets/{ref}/reassign", {"line": "network"}, t0)
    assert no_reason.status_code == 400 and list(no_reason.json()["errors"]) == ["reason"]
    missing = post(client, f"/tickets/{ref}/reassign", {"reason": "Wrong product line."}, t0)
    assert missing.status_code == 422 and list(missing.json()["errors"]) == ["line"]
    assert snapshot() == before
    moved = post(client, f"/tickets/{ref}/reassign", {"line": "network", "reason": "The 403 comes from the SLB."}, t0)
    assert moved.status_code == 200
    # t0_x serves storage only; the ticket left their sight with the move, so the reply shows what they may see.
    assert moved.json()["line"] == "network"


def test_status_moves_follow_the_allowed_moves(client, world):
    t0, ref = world.users["t0_x"], world.tickets["open"].ref
    ok = post(client, f"/tickets/{ref}/status", {"status": "pending_customer"}, t0)
    assert ok.status_code == 200 and ok.json()["status"] == "pending_customer"
    bad = post(client, f"/tickets/{ref}/status", {"status": "closed"}, t0)
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["status"]
    unknown = post(client, f"/tickets/{ref}/status", {"status": "sleeping"}, t0)
    assert unknown.status_code == 400 and list(unknown.json()["errors"]) == ["status"]


def test_customer_reply_takes_the_ticket_out_of_pending_customer(client, world):
    t0, customer, ref = world.users["t0_x"], world.users["cust_a"], world.tickets["open"].ref
    post(client, f"/tickets/{ref}/reply", {"body": "Can you share the request id?", "pending_customer": True}, t0)
    assert Ticket.objects.get(ref=ref).status == "pending_customer"
    response = post(client, f"/tickets/{ref}/reply", {"body": "Request id 5F1A2B3C4D5E", "pending_customer": True},
                    customer)
    assert response.status_code == 200
    assert response.json()["status"] == "in_progress"
    assert NOTE_MARKER not in response.content.decode()


# --- list, filters and cursor ---------------------------------------------------------------------------


@pytest.fixture
def many(world):
    """Twelve more tickets over twelve hours: mixed products, severities, organisations; two share a timestamp."""
    base = timezone.now() - timedelta(days=1)
    specs = [
        ("a", "oss", "P1", "OSS bucket listing slow"), ("a", "ecs", "P3", "ECS instance cannot reach metadata"),
        ("b", "oss", "P2", "OSS upload 403"), ("b", "rds-mysql", "P2", "RDS slow query spike"),
        ("a", "cdn", "P4", "CDN cache hit ratio question"), ("b", "slb", "P3", "SLB health check flapping"),
        ("a", "oss", "P3", "OSS lifecycle rule not applied"), ("b", "ecs", "P1", "ECS instance down"),
        ("a", "vpc", "P3", "VPC route table question"), ("b", "oss", "P4", "OSS pricing question"),
        ("a", "redis", "P2", "Redis latency spikes"), ("b", "oss", "P3", "OSS cross-region replication lag"),
    ]
    made = []
    for i, (org, product, severity, subject) in enumerate(specs):
        at = base + timedelta(hours=min(i, 10))  # the last two tickets share one created_at: the cursor must cope
        made.append(services.create_ticket(
            organisation=world.orgs[org], contact=None, product=product, subject=subject, severity=severity,
            description=f"{subject}: details from the customer.", at=at,
        ))
    return made


def _all_pages(client, user, **params):
    refs, pages, cursor = [], 0, None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = get(client, "/tickets", user, **query)
        assert response.status_code == 200, response.content
        body = response.json()
        refs += [t["ref"] for t in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return refs, pages


def test_cursor_pagination_walks_every_visible_ticket_once_in_order(client, world, many):
    lead = world.users["lead"]
    refs, pages = _all_pages(client, lead, limit=4)
    expected = list(Ticket.objects.order_by("-created_at", "-id").values_list("ref", flat=True))
    assert refs == expected and len(refs) == 15
    assert pages == 4
    # A ticket created while paging does not shift later pages (keyset, not offset).
    first = get(client, "/tickets", lead, limit=4).json()
    services.create_ticket(organisation=world.orgs["a"], contact=None, product="oss", subject="New while paging",
                           description="arrives between two page requests")
    second = get(client, "/tickets", lead, limit=4, cursor=first["next"]).json()
    assert [t["ref"] for t in second["items"]] == expected[4:8]


def test_customer_pages_see_only_their_organisation(client, world, many):
    refs, _ = _all_pages(client, world.users["cust_b"], limit=2)
    assert set(refs) == set(Ticket.objects.filter(organisation=world.orgs["b"]).values_list("ref", flat=True))
    assert len(refs) == 6


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"product": "oss"}, lambda t: t.product.code == "oss"),
        ({"severity": "P1,P2"}, lambda t: t.severity in ("P1", "P2")),
        ({"status": "resolved"}, lambda t: t.status == "resolved"),
        ({"status": "new,assigned"}, lambda t: t.status in ("new", "assigned")),
        ({"line": "storage"}, lambda t: t.line.code == "storage"),
        ({"tier": "L1"}, lambda t: t.tier == "L1"),
        ({"q": "question"}, lambda t: "question" in t.subject.lower()),
        ({"assignee": "t0_x"}, lambda t: t.assignee is not None and t.assignee.username == "t0_x"),
        ({"assignee": "none"}, lambda t: t.assignee is None),
    ],
)
def test_filters(client, world, many, params, predicate):
    refs, _ = _all_pages(client, world.users["lead"], limit=200, **params)
    expected = [t.ref for t in Ticket.objects.order_by("-created_at", "-id") if predicate(t)]
    assert expected, "the fixture must exercise the filter"
    assert refs == expected


def test_organisation_date_and_me_filters(client, world, many):
    lead, t0 = world.users["lead"], world.users["t0_x"]
    org_b = world.orgs["b"].pk
    refs, _ = _all_pages(client, lead, organisation=org_b)
    assert set(refs) == set(Ticket.objects.filter(organisation_id=org_b).values_list("ref", flat=True))
    after, before = many[2].created_at, many[5].created_at
    refs, _ = _all_pages(client, lead, created_after=after.isoformat(), created_before=before.isoformat())
    assert refs == [many[4].ref, many[3].ref, many[2].ref]
    mine, _ = _all_pages(client, t0, assignee="me")
    assert set(mine) == {world.tickets["open"].ref, world.tickets["resolved"].ref}


def test_engineer_list_is_limited_to_their_lines(client, world, many):
    refs, _ = _all_pages(client, world.users["t0_x"], limit=50)  # the storage line (OSS, both organisations)
    storage = set(Ticket.objects.filter(line__code=LINE_X).values_list("ref", flat=True))
    assert set(refs) == storage and len(storage) < Ticket.objects.count()
    assert _all_pages(client, world.users["t0_y"], limit=50)[0] == []  # network: nothing routed there


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "sleeping"}, "status"), ({"severity": "P9"}, "severity"), ({"tier": "L7"}, "tier"),
     ({"cursor": "forged"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": 1000}, "limit"),
     ({"created_after": "yesterday"}, "created_after"), ({"organisation": "Org A"}, "organisation")],
)
def test_bad_filters_are_422_naming_the_parameter(client, world, params, field):
    response = get(client, "/tickets", world.users["lead"], **params)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]


def test_list_never_shows_internal_fields_to_customers(client, world):
    items = get(client, "/tickets", world.users["cust_a"]).json()["items"]
    assert items and all(t["routed_rule"] is None and t["bounces"] is None for t in items)


@pytest.mark.parametrize("who", ["t0_x", "cust_a"])
def test_list_items_are_what_the_ticket_schema_gives(client, world, who):
    """The list builds its items from plain values; each must equal ``ticket_out`` through ``TicketOut``,
    key order included (what the endpoint answered when it serialised model instances via pydantic)."""
    import orjson

    from casework.desk.api.schemas import TicketOut
    from casework.desk.api.tickets import ticket_out

    user = world.users[who]
    items = get(client, "/tickets", user, limit=200).json()["items"]
    assert items
    internal = who != "cust_a"
    for item in items:
        ticket = Ticket.objects.get(ref=item["ref"])
        expected = orjson.loads(orjson.dumps(TicketOut.model_validate(ticket_out(ticket, internal=internal)).model_dump()))
        assert item == expected and list(item) == list(expected)
