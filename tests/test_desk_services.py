"""Ticket services: routing, claims, escalation, returns, reassignment — each change and its event."""

from __future__ import annotations

import pytest

from casework.desk.errors import DeskError
from casework.desk.team.models import Line
from casework.desk.tickets import services
from casework.desk.tickets.models import CaseSummary, EventKind, Status, Ticket, TicketEvent
from desk_fixtures import FULL_SUMMARY, make_world

pytestmark = pytest.mark.django_db


def kinds(ticket: Ticket) -> list[str]:
    return list(ticket.events.order_by("created_at", "id").values_list("kind", flat=True))


def open_oss_ticket(world, **kw):
    return services.create_ticket(organisation=world.org_a, contact=world.customer_a, product="oss",
                                  subject=kw.pop("subject", "403 AccessDenied on PutObject"),
                                  description=kw.pop("description", "RequestId 5F1A-22B0"), **kw)


def test_rule_routes_and_records_the_rule_and_version():
    world = make_world()
    ticket = open_oss_ticket(world)
    assert ticket.line.code == "storage"
    assert ticket.routed_rule == "oss-to-storage" and ticket.rules_version == 1
    routed = ticket.events.get(kind=EventKind.ROUTED)
    assert routed.data == {"rule": "oss-to-storage", "version": 1, "line": "storage", "tags": [], "fallback": False}
    assert kinds(ticket) == ["created", "routed"]  # nobody on shift: it waits in the queue
    assert ticket.status == Status.NEW and ticket.assignee is None


def test_regex_rule_sets_tags_and_action_severity():
    world = make_world()
    slb = services.create_ticket(organisation=world.org_a, contact=world.customer_a, product="slb",
                                 subject="SLB 健康检查异常", description="7 层检查失败")
    assert slb.line.code == "network" and slb.tags == ["health-check"]
    mongo = services.create_ticket(organisation=world.org_a, contact=world.customer_a, product="mongodb",
                                   subject="slow getmore", description="local.oplog.rs", severity="P4")
    assert mongo.line.code == "database" and mongo.severity == "P2"


def test_no_match_goes_to_the_fallback_line():
    world = make_world()
    ticket = services.create_ticket(organisation=world.org_a, contact=world.customer_a, product="billing",
                                    subject="Invoice missing", description="October invoice")
    assert ticket.line == Line.objects.get(is_fallback=True)
    assert ticket.routed_rule == "fallback"
    assert ticket.events.get(kind=EventKind.ROUTED).data["fallback"] is True


def test_auto_assignment_picks_an_engineer_on_shift():
    world = make_world(auto_assign_engineers=True)
    first = open_oss_ticket(world)
    second = open_oss_ticket(world)
    # Least open work first, round-robin among ties: the two storage T0s get one each.
    assert {first.assignee, second.assignee} == {world.t0_storage, world.t0_storage2}
    assert first.status == Status.ASSIGNED
    assert kinds(first) == ["created", "routed", "assigned", "status_changed"]


@pytest.mark.parametrize(
    ("field", "kwargs", "message"),
    [
        ("product", {"product": "no-such-product"}, "Unknown product"),
        ("description", {"description": "x" * 10_000_001}, "longer than"),
        ("subject", {"subject": "   "}, "required"),
        ("severity", {"severity": "P9"}, "P1"),
    ],
)
def test_bad_input_is_refused_with_a_field_error_and_changes_nothing(field, kwargs, message):
    world = make_world()
    args = dict(organisation=world.org_a, contact=world.customer_a, product="oss", subject="s", description="d")
    args.update(kwargs)
    with pytest.raises(DeskError) as exc:
        services.create_ticket(**args)
    assert field in exc.value.errors and message in exc.value.errors[field][0]
    assert Ticket.objects.count() == 0 and TicketEvent.objects.count() == 0


def test_claim_by_one_then_the_other_is_refused():
    world = make_world()
    ticket = open_oss_ticket(world)
    services.claim(ticket=ticket, engineer=world.t0_storage)
    with pytest.raises(DeskError) as exc:
        services.claim(ticket=Ticket.objects.get(pk=ticket.pk), engineer=world.t0_storage2)
    assert exc.value.status == 409
    ticket.refresh_from_db()
    assert ticket.assignee == world.t0_storage
    assert ticket.events.filter(kind=EventKind.CLAIMED).count() == 1


def test_claim_at_the_wrong_tier_is_refused():
    world = make_world()
    ticket = open_oss_ticket(world)
    with pytest.raises(DeskError):
        services.claim(ticket=ticket, engineer=world.l1_storage)


def test_escalation_needs_a_complete_summary():
    world = make_world()
    ticket = open_oss_ticket(world)
    services.claim(ticket=ticket, engineer=world.t0_storage)
    with pytest.raises(DeskError) as exc:
        services.escalate(ticket=ticket, actor=world.t0_storage,
                          summary=services.SummaryInput(problem="403", checked="", findings="see above"))
    assert set(exc.value.errors) == {"problem", "checked", "findings", "identifiers", "time_window", "impact"}
    ticket.refresh_from_db()
    assert ticket.tier == "T0" and ticket.escalations == 0 and not CaseSummary.objects.exists()

    services.escalate(ticket=ticket, actor=world.t0_storage, summary=services.SummaryInput(**FULL_SUMMARY))
    ticket.refresh_from_db()
    assert ticket.tier == "L1" and ticket.status == Status.ESCALATED and ticket.assignee is None
    event = ticket.events.get(kind=EventKind.ESCALATED)
    assert event.data["from"] == "T0" and event.data["to"] == "L1"
    assert CaseSummary.objects.get(pk=event.data["summary"]).problem == FULL_SUMMARY["problem"]


def test_l1_cannot_bounce_silently_and_a_bounce_returns_to_the_escalating_engineer():
    world = make_world()
    ticket = open_oss_ticket(world)
    services.claim(ticket=ticket, engineer=world.t0_storage)
    services.escalate(ticket=ticket, actor=world.t0_storage, summary=services.SummaryInput(**FULL_SUMMARY))
    ticket.refresh_from_db()
    services.claim(ticket=ticket, engineer=world.l1_storage)
    with pytest.raises(DeskError) as exc:
        services.return_down(ticket=ticket, actor=world.l1_storage, reason="")
    assert "reason" in exc.value.errors
    ticket.refresh_from_db()
    assert ticket.tier == "L1" and ticket.bounces == 0

    services.return_down(ticket=ticket, actor=world.l1_storage, reason="Summary lacks the bucket policy text")
    ticket.refresh_from_db()
    assert ticket.tier == "T0" and ticket.bounces == 1 and ticket.assignee == world.t0_storage
    bounce = ticket.events.get(kind=EventKind.RETURNED)
    assert bounce.engineer == world.l1_storage and bounce.line.code == "storage"
    assert bounce.data["reason"] == "Summary lacks the bucket policy text"


def test_reassignment_to_another_line_needs_a_reason():
    world = make_world()
    ticket = open_oss_ticket(world)
    services.claim(ticket=ticket, engineer=world.t0_storage)
    network = Line.objects.get(code="network")
    with pytest.raises(DeskError) as exc:
        services.reassign_line(ticket=ticket, actor=world.t0_storage, line=network, reason="")
    assert "reason" in exc.value.errors
    services.reassign_line(ticket=ticket, actor=world.t0_storage, line=network,
                           reason="The 403 comes from the SLB in front of OSS")
    ticket.refresh_from_db()
    assert ticket.line == network and ticket.assignee is None and ticket.status == Status.NEW
    assert ticket.events.get(kind=EventKind.REASSIGNED).data["reason"].startswith("The 403")


def test_pending_customer_and_customer_reply():
    world = make_world()
    ticket = open_oss_ticket(world)
    services.claim(ticket=ticket, engineer=world.t0_storage)
    services.reply(ticket=ticket, actor=world.t0_storage, body="Please send the request id", pending_customer=True)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.PENDING_CUSTOMER
    services.reply(ticket=Ticket.objects.get(pk=ticket.pk), actor=world.customer_a, body="RequestId 5F1A")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert EventKind.CUSTOMER_REPLIED in kinds(ticket)


def test_resolve_and_status_moves():
    world = make_world()
    ticket = open_oss_ticket(world)
    services.claim(ticket=ticket, engineer=world.t0_storage)
    with pytest.raises(DeskError):
        services.set_status(ticket=ticket, actor=world.t0_storage, status=Status.CLOSED)
    services.resolve(ticket=ticket, actor=world.t0_storage, note="The bucket policy was fixed.")
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.resolved_at is not None
    assert ticket.messages.filter(internal=False).last().body == "The bucket policy was fixed."
