"""Two (or more) engineers claiming the same ticket at the same moment: exactly one wins, one ``claimed`` event.

Two tests, both with real concurrency and one database connection per claimer:

* threads against the suite's own test database (``django_db(transaction=True)``), so the claim is committed
  for real — on SQLite in the default run and on PostgreSQL in the ``DATABASE_URL`` run;
* separate OS processes against a dedicated database created for the test: PostgreSQL (so the PostgreSQL
  behaviour is exercised in every run; it needs the server: fails in CI, skips elsewhere when it is missing)
  and a file SQLite database in WAL mode with IMMEDIATE transactions, exactly as ``make run`` serves the desk.

A barrier releases all claimers together, so their UPDATEs really meet at the database.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import uuid
from typing import Any

import pytest

from services import POSTGRES_URL, require_port

ENGINEERS = 4
TICKETS = 6


# --- shared by both tests: building the desk and one claimer's work -----------------------------------------


def _build_desk(engineers: int, tickets: int) -> tuple[list[int], list[int]]:
    """Engineers (T0 of the storage line) and unassigned tickets; returns (user ids, ticket ids)."""
    from django.contrib.auth import get_user_model

    from casework.desk.team.models import Line, Organisation, Profile, Role
    from casework.desk.team.reference import ensure_reference_data
    from casework.desk.tickets import services

    ensure_reference_data()
    storage = Line.objects.get(code="storage")
    users = []
    for i in range(engineers):
        user = get_user_model().objects.create_user(f"racer{i}")  # no password: no slow hashing in children
        Profile.objects.create(user=user, role=Role.T0).lines.add(storage)
        users.append(user.pk)
    org = Organisation.objects.create(name=f"Race {uuid.uuid4().hex[:6]}")
    ids = [
        services.create_ticket(organisation=org, contact=None, product="oss", subject=f"OSS 403 #{n}",
                               description="AccessDenied on PutObject", auto_assign=False).pk
        for n in range(tickets)
    ]
    return users, ids


def _claim_all(user_id: int, ticket_ids: list[int], barrier: Any) -> dict[int, str]:
    """Claim every ticket in turn, all claimers released together per ticket; 'won' or the error's status."""
    from django.contrib.auth import get_user_model

    from casework.desk.errors import DeskError
    from casework.desk.tickets import services
    from casework.desk.tickets.models import Ticket

    engineer = get_user_model().objects.select_related("profile").get(pk=user_id)
    outcome: dict[int, str] = {}
    for ticket_id in ticket_ids:
        ticket = Ticket.objects.get(pk=ticket_id)  # everybody sees it unassigned before the race
        barrier.wait(timeout=60)
        try:
            services.claim(ticket=ticket, engineer=engineer)
            outcome[ticket_id] = "won"
        except DeskError as exc:
            outcome[ticket_id] = str(exc.status)
    return outcome


def _check(outcomes: list[dict[int, str]], user_ids: list[int], ticket_ids: list[int]) -> None:
    from casework.desk.tickets.models import Ticket, TicketEvent

    for ticket_id in ticket_ids:
        results = [o[ticket_id] for o in outcomes]
        assert results.count("won") == 1, results
        assert sorted(r for r in results if r != "won") == ["409"] * (len(user_ids) - 1), results
        winner = user_ids[next(i for i, o in enumerate(outcomes) if o[ticket_id] == "won")]
        ticket = Ticket.objects.get(pk=ticket_id)
        assert ticket.assignee_id == winner and ticket.status == "assigned"
        claimed = TicketEvent.objects.filter(ticket_id=ticket_id, kind="claimed")
        assert list(claimed.values_list("engineer_id", flat=True)) == [winner]


# --- threads on the suite's database ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_threads_claiming_the_same_ticket_one_wins():
    from django.db import connection

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # pytest-django's in-memory SQLite shares one cache between connections, whose table locks fail at once
        # ("database table is locked") instead of waiting: not how the desk runs. The file database `make run`
        # uses is raced by the process test below (sqlite-file), so nothing is left untested.
        pytest.skip(reason="in-memory SQLite has shared-cache table locks; the process test races a file SQLite instead")
    users, tickets = _build_desk(ENGINEERS, TICKETS)
    barrier = threading.Barrier(ENGINEERS)
    outcomes: list[dict[int, str] | None] = [None] * ENGINEERS
    errors: list[BaseException] = []

    def run(i: int) -> None:
        from django.db import connections

        try:
            outcomes[i] = _claim_all(users[i], tickets, barrier)
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(ENGINEERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    _check([o for o in outcomes if o is not None], users, tickets)


# --- processes on a dedicated database (PostgreSQL, file SQLite) -------------------------------------------------------------


def _django_in_child(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "casework.desk.settings"
    import django

    django.setup()


def _child_referee(db_url: str, to_parent: Any, from_parent: Any) -> None:
    """Builds the schema and the desk, hands out the ids, then checks the outcome the racers reported."""
    _django_in_child(db_url)
    from django.apps import apps
    from django.db import connection

    # Tables straight from the models: the same schema the migrations build, without replaying their history
    # (which costs most of this test's time on a busy machine).
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            editor.create_model(model)
    users, tickets = _build_desk(ENGINEERS, TICKETS)
    to_parent.put((users, tickets))
    outcomes = from_parent.get(timeout=300)
    try:
        _check(outcomes, users, tickets)
        to_parent.put("ok")
    except AssertionError as exc:
        to_parent.put(f"failed: {exc}")


def _child_claim(db_url: str, user_id: int, ticket_ids: list[int], barrier: Any, queue: Any) -> None:
    _django_in_child(db_url)
    try:
        queue.put((user_id, _claim_all(user_id, ticket_ids, barrier)))
    except BaseException as exc:
        barrier.abort()
        queue.put((user_id, repr(exc)))


@pytest.fixture
def dedicated_database(request, tmp_path):
    """A database URL no other test uses, created empty and dropped afterwards."""
    if request.param == "sqlite-file":
        yield f"sqlite:///{tmp_path / 'claims.sqlite3'}"
        return
    require_port("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    name = f"casework_claims_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize(
    "dedicated_database",
    [pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite-file"],
    indirect=True,
)
def test_processes_claiming_the_same_ticket_one_wins(dedicated_database):
    db_url = dedicated_database
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: each process its own Django and connection
    to_parent, to_referee, results_queue = ctx.Queue(), ctx.Queue(), ctx.Queue()
    referee = ctx.Process(target=_child_referee, args=(db_url, to_parent, to_referee))
    referee.start()
    try:
        users, tickets = to_parent.get(timeout=180)
        barrier = ctx.Barrier(ENGINEERS)
        racers = [ctx.Process(target=_child_claim, args=(db_url, uid, tickets, barrier, results_queue))
                  for uid in users]
        for p in racers:
            p.start()
        results = dict(results_queue.get(timeout=180) for _ in racers)
        for p in racers:
            p.join(60)
        assert all(isinstance(r, dict) for r in results.values()), results
        to_referee.put([results[u] for u in users])
        assert to_parent.get(timeout=120) == "ok"
    finally:
        referee.join(30)
        if referee.is_alive():
            referee.kill()
