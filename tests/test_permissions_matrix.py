"""The permission matrix: role × object × action, checked through ``can()`` and through the REST API.

The expected table below is the desk's access policy written out by hand; the test fails if the permission
module or the API disagrees with any cell. Through the API an allowed action must succeed (2xx) and a denied
one must change nothing: 404 when the caller may not even see the ticket, 403 otherwise.
"""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from casework.desk.access.permissions import can
from casework.desk.tickets.models import Message, TicketEvent
from test_api_world import LINE_Y, NOTE_MARKER, ROLES, SUMMARY, api_client, build_world

ACTIONS = ["view", "reply", "note", "view_internal", "claim", "escalate", "return", "reassign", "resolve"]

# Objects (see test_api_world): open = org A, line X, T0, claimed by t0_x; escalated = the same escalated to
# L1 (unassigned); resolved = claimed by t0_x and resolved. Y = allowed, . = denied.
MATRIX = """
role    object     view reply note view_internal claim escalate return reassign resolve
cust_a  open       Y    Y     .    .             .     .        .      .        .
cust_a  escalated  Y    Y     .    .             .     .        .      .        .
cust_a  resolved   Y    Y     .    .             .     .        .      .        .
cust_b  open       .    .     .    .             .     .        .      .        .
cust_b  escalated  .    .     .    .             .     .        .      .        .
cust_b  resolved   .    .     .    .             .     .        .      .        .
t0_x    open       Y    Y     Y    Y             .     Y        .      Y        Y
t0_x    escalated  Y    Y     Y    Y             .     .        .      .        .
t0_x    resolved   Y    Y     Y    Y             .     .        .      .        .
t0_y    open       .    .     .    .             .     .        .      .        .
t0_y    escalated  .    .     .    .             .     .        .      .        .
t0_y    resolved   .    .     .    .             .     .        .      .        .
l1      open       Y    Y     Y    Y             .     .        .      .        .
l1      escalated  Y    Y     Y    Y             Y     .        Y      .        .
l1      resolved   Y    Y     Y    Y             .     .        .      .        .
l2      open       Y    Y     Y    Y             .     .        .      .        .
l2      escalated  Y    Y     Y    Y             .     .        .      .        .
l2      resolved   Y    Y     Y    Y             .     .        .      .        .
lead    open       Y    Y     Y    Y             .     Y        .      Y        Y
lead    escalated  Y    Y     Y    Y             .     Y        Y      Y        Y
lead    resolved   Y    Y     Y    Y             .     .        .      .        .
admin   open       Y    Y     Y    Y             .     Y        .      Y        Y
admin   escalated  Y    Y     Y    Y             .     Y        Y      Y        Y
admin   resolved   Y    Y     Y    Y             .     .        .      .        .
"""


def _parse(table: str) -> dict[tuple[str, str, str], bool]:
    lines = [line.split() for line in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert header[2:] == ACTIONS, "the table's columns must be the actions, in order"
    cells = {}
    for role, obj, *marks in rows:
        assert len(marks) == len(ACTIONS), f"row {role} {obj} has {len(marks)} cells"
        for action, mark in zip(ACTIONS, marks, strict=True):
            assert mark in ("Y", "."), f"bad mark {mark!r}"
            cells[(role, obj, action)] = mark == "Y"
    return cells


EXPECTED = _parse(MATRIX)
OBJECTS = ["open", "escalated", "resolved"]


def test_the_table_covers_every_cell():
    assert set(EXPECTED) == {(r, o, a) for r in ROLES for o in OBJECTS for a in ACTIONS}


def _perform(client, ref: str, action: str):
    post = lambda path, body: client.post(  # noqa: E731
        f"/api/v1/tickets/{ref}/{path}", data=json.dumps(body), content_type="application/json"
    )
    match action:
        case "view" | "view_internal":
            return client.get(f"/api/v1/tickets/{ref}")
        case "reply":
            return post("reply", {"body": "We are looking at the bucket policy now."})
        case "note":
            return post("note", {"body": "Checked the RAM policy versions."})
        case "claim":
            return client.post(f"/api/v1/tickets/{ref}/claim")
        case "escalate":
            return post("escalate", {k: getattr(SUMMARY, k) for k in SUMMARY.__slots__})
        case "return":
            return post("return", {"reason": "The summary lacks the request ids; collect them first."})
        case "reassign":
            return post("reassign", {"line": LINE_Y, "reason": "The 403 comes from the SLB listener, not OSS."})
        case "resolve":
            return post("resolve", {})
    raise AssertionError(action)


def _footprint(ticket) -> tuple:
    ticket.refresh_from_db()
    return (
        TicketEvent.objects.filter(ticket=ticket).count(), Message.objects.filter(ticket=ticket).count(),
        ticket.status, ticket.tier, ticket.assignee_id, ticket.line_id,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One desk for all 216 cells (building it per cell would triple the run time). It lives in an outer
    transaction; each test's own transaction is a savepoint inside it, so every action a cell performs is
    rolled back before the next cell, and the whole desk is rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("role", list(ROLES))
def test_matrix(world, role: str, obj: str, action: str):
    user, ticket = world.users[role], world.ticket(obj)
    allowed = EXPECTED[(role, obj, action)]
    visible = EXPECTED[(role, obj, "view")]

    # 1. The permission module.
    assert can(user, action, ticket) is allowed

    # 2. The API, with the user's bearer token.
    before = _footprint(ticket)
    response = _perform(api_client(user), ticket.ref, action)
    if action == "view_internal":
        # Reading is allowed or not by "view"; the internal part (notes, summaries) by "view_internal".
        assert response.status_code == (200 if visible else 404), response.content
        if visible:
            body = response.json()
            notes = [m for m in body["messages"] if m["internal"]]
            assert bool(notes) is allowed
            assert (NOTE_MARKER in response.content.decode()) is allowed
            assert ("noted" in {e["kind"] for e in body["events"]}) is allowed
    elif allowed:
        assert response.status_code == 200, response.content
        assert _footprint(ticket) != before or action == "view"
    else:
        assert response.status_code == (403 if visible else 404), response.content
        assert set(response.json()) == {"errors"}
        assert _footprint(ticket) == before, "a refused action changed the ticket"

    # 3. Internal notes never reach a customer, whatever they asked.
    if ROLES[role][0] == "customer":
        assert NOTE_MARKER not in response.content.decode()
