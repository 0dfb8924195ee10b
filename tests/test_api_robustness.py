"""Whatever a client sends, the API answers with a status and the error shape — never a 500 — and a refused
request changes nothing. Session-cookie calls need the CSRF token; bearer calls do not."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from casework.desk.tickets.models import Message, Ticket, TicketEvent
from test_api_world import bearer, build_world

pytestmark = pytest.mark.django_db

FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Includes what PostgreSQL cannot store (NUL characters) and ids larger than any database integer.
json_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63) | st.floats(allow_nan=False)
                | st.text(max_size=40) | st.just("ECS\x00down"))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
ticket_bodies = st.fixed_dictionaries(
    {},
    optional={
        "product": st.sampled_from(["oss", "ecs", "mainframe", ""]) | json_values,
        "subject": st.text(max_size=250) | json_values,
        "description": st.text(max_size=200) | json_values,
        "severity": st.sampled_from(["P1", "P4", "P9"]) | json_values,
        "language": st.sampled_from(["en", "zh", "fr"]) | json_values,
        "identifiers": st.dictionaries(st.text(max_size=10), json_values, max_size=3) | json_values,
        "organisation": st.integers(min_value=-5, max_value=10**6) | json_values,
        "contact": st.sampled_from(["cust_a", "cust_b", "nobody"]) | json_values,
        "category": st.text(max_size=20) | json_values,
    },
)


@pytest.fixture
def world():
    return build_world()


def _counts():
    return Ticket.objects.count(), TicketEvent.objects.count(), Message.objects.count()


@pytest.mark.parametrize("role", ["cust_a", "lead"])
def test_fuzzed_ticket_bodies_never_crash_the_api(client, world, role):
    headers = bearer(world.users[role])

    @FUZZ
    @given(body=ticket_bodies | json_values)
    def check(body):
        before = _counts()
        response = client.post("/api/v1/tickets", data=json.dumps(body), content_type="application/json", **headers)
        assert response.status_code in (201, 400, 403, 422), response.content
        if response.status_code != 201:
            assert set(response.json()) == {"errors"}
            assert _counts() == before

    check()


def test_integers_beyond_64_bits_never_crash_the_answer(client, world):
    """Found by the fuzzing above: an answer holding a client's 10**30 (echoed in a validation error, or kept in the
    free-form identifiers) failed in the JSON writer (64-bit integers only) with a 500 — after the ticket was
    stored."""
    headers = bearer(world.users["cust_a"])
    before = _counts()
    for body in (10**30, {"subject": 10**30},
                 {"product": "oss", "subject": "s", "description": "d", "organisation": 10**30}):
        response = client.post("/api/v1/tickets", data=json.dumps(body), content_type="application/json", **headers)
        assert response.status_code in (400, 422), response.content
        assert set(response.json()) == {"errors"}
    assert _counts() == before
    body = {"product": "oss", "subject": "s", "description": "d", "identifiers": {"instance_ids": [10**30]}}
    response = client.post("/api/v1/tickets", data=json.dumps(body), content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    assert response.json()["identifiers"]["instance_ids"] == [10**30]


def test_fuzzed_bytes_bodies_never_crash_the_api(client, world):
    headers = bearer(world.users["t0_x"])
    ref = world.tickets["open"].ref

    @FUZZ
    @given(raw=st.binary(max_size=200), action=st.sampled_from(["reply", "note", "escalate", "reassign", "return"]))
    def check(raw, action):
        before = _counts()
        response = client.post(f"/api/v1/tickets/{ref}/{action}", data=raw, content_type="application/json", **headers)
        assert response.status_code in (200, 400, 403, 422), response.content
        if response.status_code != 200:
            assert _counts() == before

    check()


def test_fuzzed_list_parameters_never_crash_the_api(client, world):
    headers = bearer(world.users["lead"])
    names = ["status", "severity", "tier", "line", "product", "assignee", "organisation", "q", "created_after",
             "created_before", "cursor", "limit"]

    @FUZZ
    @given(params=st.dictionaries(st.sampled_from(names), st.text(max_size=30), max_size=4))
    def check(params):
        response = client.get("/api/v1/tickets", params, **headers)
        assert response.status_code in (200, 422), response.content
        if response.status_code == 422:
            assert set(response.json()["errors"]) <= set(names)

    check()


def test_session_calls_need_the_csrf_token_bearer_calls_do_not(world):
    ref = world.tickets["open"].ref
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["t0_x"])
    assert browser.get(f"/api/v1/tickets/{ref}").status_code == 200  # safe methods need no token
    before = _counts()
    forged = browser.post(f"/api/v1/tickets/{ref}/note", data=json.dumps({"body": "cross-site"}),
                          content_type="application/json")
    assert forged.status_code == 403 and "errors" in forged.json()
    assert _counts() == before

    token = "k" * 32  # an unmasked CSRF secret, as the desk's pages send it from the cookie
    browser.cookies[settings.CSRF_COOKIE_NAME] = token
    ok = browser.post(f"/api/v1/tickets/{ref}/note", data=json.dumps({"body": "from the ticket page"}),
                      content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 200, ok.content

    script = Client(enforce_csrf_checks=True)
    ok = script.post(f"/api/v1/tickets/{ref}/note", data=json.dumps({"body": "from a script"}),
                     content_type="application/json", **bearer(world.users["t0_x"]))
    assert ok.status_code == 200, ok.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"product": "oss", "subject": "OSS\\u0000403", "description": "d"}', "subject"),
        ('{"product": "oss", "subject": "s", "description": "d", "identifiers": {"request_ids": ["\\u0000"]}}',
         "identifiers"),
        ('{"product": "oss", "subject": "\\ud800", "description": "d"}', "subject"),  # a lone surrogate
        ('{"product": "oss", "subject": "s", "description": "d", "organisation": 100000000000000000000}',
         "organisation"),
    ],
)
def test_text_or_numbers_no_database_can_store_are_422_naming_the_field(client, world, body, field):
    before = _counts()
    response = client.post("/api/v1/tickets", data=body, content_type="application/json", **bearer(world.users["lead"]))
    assert response.status_code == 422, response.content
    assert list(response.json()["errors"]) == [field]
    assert _counts() == before


@pytest.mark.parametrize(
    ("path", "field"),
    [("/api/v1/tickets?q=ECS%00", "q"), ("/api/v1/tickets?organisation=100000000000000000000", "organisation"),
     ("/api/v1/rules/100000000000000000000", "version")],
)
def test_unstorable_parameters_are_422(client, world, path, field):
    response = client.get(path, **bearer(world.users["lead"]))
    assert response.status_code == 422, response.content
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("ref", ["a%00b", "%ED%A0%80", "A" * 40, "F41GF888%27%20OR%201=1"])
def test_impossible_ticket_refs_are_plain_404s(client, world, ref):
    for path in (f"/api/v1/tickets/{ref}", f"/api/v1/tickets/{ref}/sla"):
        response = client.get(path, **bearer(world.users["lead"]))
        assert response.status_code == 404, (path, response.content)
    response = client.post(f"/api/v1/tickets/{ref}/reply", data=json.dumps({"body": "x"}),
                           content_type="application/json", **bearer(world.users["lead"]))
    assert response.status_code == 404
