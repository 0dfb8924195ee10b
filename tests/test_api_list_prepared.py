"""The API's ticket list reads each shape of query with SQL compiled once (``api/tickets.py`` ``_list_rows`` over
``prepared.PreparedQuery``) and must answer exactly what the ORM queryset answers: the same rows in the same order,
for staff, customers and engineers (with and without the own-line shortcut), every filter alone and combined,
one and several values, naive and aware dates, and page after page of cursors. Runs on SQLite and, in
``make test``'s second pass, on PostgreSQL."""

from __future__ import annotations

import random
import warnings
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from casework.desk.access import permissions
from casework.desk.api import schemas
from casework.desk.api import tickets as api
from casework.desk.team.models import Line, Organisation, Product, Profile, Role
from casework.desk.tickets.models import Severity, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> None:
    from casework.desk.demo import DemoSpec, load_demo

    load_demo(DemoSpec(tickets=150, weeks=3, seed=9), now=timezone.now())


def _users() -> list[Any]:
    staff = Profile.objects.filter(role=Role.LEAD).select_related("user").first()
    customer = Profile.objects.filter(role=Role.CUSTOMER, organisation__isnull=False).select_related("user").first()
    engineers = list(Profile.objects.filter(role__in=[Role.T0, Role.L1, Role.L2], lines__isnull=False)
                     .select_related("user").distinct()[:3])
    users = [p.user for p in [staff, customer, *engineers] if p is not None]
    assert len(users) >= 4
    return users


def _random_filters(rng: random.Random, user: Any) -> dict[str, Any]:
    lines = list(Line.objects.values_list("code", flat=True))
    own = list(user.profile.lines.values_list("code", flat=True)) if hasattr(user, "profile") else []
    now = timezone.now()
    f: dict[str, Any] = {"limit": rng.choice([1, 3, 7, 50])}
    if rng.random() < 0.4:
        f["status"] = ",".join(rng.sample(list(Status.values), rng.choice([1, 1, 2, 3])))
    if rng.random() < 0.4:
        f["severity"] = ",".join(rng.sample(list(Severity.values), rng.choice([1, 1, 2])))
    if rng.random() < 0.2:
        f["tier"] = rng.choice(["T0", "L1", "L2", "T0,L1"])
    if rng.random() < 0.4:
        f["line"] = rng.choice(own + lines if own else lines)
    if rng.random() < 0.2:
        f["product"] = rng.choice(list(Product.objects.values_list("code", flat=True)))
    if rng.random() < 0.15:
        f["organisation"] = rng.choice(list(Organisation.objects.values_list("id", flat=True)))
    if rng.random() < 0.25:
        f["assignee"] = rng.choice(["me", "none", Ticket.objects.exclude(assignee=None).values_list(
            "assignee__username", flat=True).first() or "nobody"])
    if rng.random() < 0.25:
        at = now - timedelta(days=rng.randrange(25), hours=rng.randrange(24))
        f["created_after"] = at if rng.random() < 0.7 else at.replace(tzinfo=None)  # naive: made aware, warned
    if rng.random() < 0.2:
        f["created_before"] = now - timedelta(days=rng.randrange(10))
    return f


def _walk(user: Any, f: dict[str, Any], *, prepared: bool) -> list[list[tuple[Any, ...]]]:
    """Every page of the list for these filters (at most 6), as the rows each page read."""
    filters = schemas.TicketFilters(**f)
    scope, rest = api._scope(user, filters)
    parsed = api._parse_filters(user, rest)
    pages, after = [], None
    for _ in range(6):
        if prepared:
            rows = api._list_rows(*scope, parsed, after, filters.limit)
        else:
            rows = list(api._list_queryset(*scope, parsed, after, filters.limit))
        pages.append(rows)
        if len(rows) <= filters.limit:
            break
        last = rows[filters.limit - 1]
        after = (last[api.LIST_VALUES.index("created_at")], last[api.LIST_VALUES.index("id")])
    return pages


def test_prepared_list_equals_the_orm_list(demo: None) -> None:
    rng = random.Random(11)
    api._LIST_QUERIES.clear()
    compared = rows = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the naive dates, on both paths
        for user in _users():
            for _ in range(60):
                f = _random_filters(rng, user)
                prepared, orm = _walk(user, f, prepared=True), _walk(user, f, prepared=False)
                assert prepared == orm, (user.username, f)
                compared += 1
                rows += sum(len(p) for p in prepared)
    # The statements really were the prepared ones (no shape fell back to the ORM), of many shapes, and the
    # comparisons read real rows.
    assert api._LIST_QUERIES and all(q is not None for q in api._LIST_QUERIES.values())
    assert len(api._LIST_QUERIES) > 50 and compared == 60 * len(_users()) and rows > 1000


def test_scope_kinds_match_visible_tickets(demo: None) -> None:
    for user in _users():
        kind, ids = permissions.visibility(user)
        assert kind in ("all", "org", "lines")
        assert set(permissions.tickets_in(kind, ids).values_list("id", flat=True)) == set(
            permissions.visible_tickets(user).values_list("id", flat=True))


def test_the_endpoint_pages_through_the_prepared_list(demo: None, client: Any) -> None:
    from casework.desk.access.tokens import issue_token

    lead = Profile.objects.filter(role=Role.LEAD).select_related("user").first().user
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=lead, label='list test')}"}
    api._LIST_QUERIES.clear()
    refs, next_cursor = [], None
    for _ in range(100):
        query = {"limit": 20, "status": "new,in_progress,resolved"} | ({"cursor": next_cursor} if next_cursor else {})
        body = client.get("/api/v1/tickets", query, **headers).json()
        refs += [item["ref"] for item in body["items"]]
        next_cursor = body["next"]
        if not next_cursor:
            break
    expected = list(Ticket.objects.filter(status__in=["new", "in_progress", "resolved"])
                    .order_by("-created_at", "-id").values_list("ref", flat=True))
    assert refs == expected and len(refs) > 20
    # Read through the prepared statements: the first page's shape and the cursor pages' shape.
    assert sorted(k[7] for k in api._LIST_QUERIES) == [False, True]
    assert all(k[0] == "all" and q is not None for k, q in api._LIST_QUERIES.items())
