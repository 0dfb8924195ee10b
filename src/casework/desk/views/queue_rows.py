"""The engineer queue's page of rows in hand-written SQL: one statement per tab (two for "My lines"), read as
plain tuples.

Why not the ORM here: the queue is the desk's most requested page, and at a million tickets the ORM version spent
most of its time outside the database — building the querysets (SLA annotations, keyset conditions), compiling
them to SQL and instantiating four models per row. And SQLite chose poor indexes for it (a temporary B-tree sort
of every open ticket of the lines) where a hint (``INDEXED BY``) says which partial index serves the page's order.

:func:`page_rows` answers exactly what ``views/queue.py``'s ORM path (``_page``) answers — same rows, order, SLA
flags and cursor format (``tests/test_queue_rows.py`` compares both on every tab, filter and cursor). It covers the
common case: an engineer or lead with lines, filtered by severity / status / line / product. Anything else (free-text
search, a user without lines) goes through the ORM path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from casework.desk.tickets.models import OPEN_STATUSES
from casework.desk.views.keyset import Page, _decode, _encode

# Only our own enum values are written into the SQL text (see ``tickets.models.InLiterals`` for why literals).
_OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
assert all(str(s).replace("_", "").isalpha() for s in OPEN_STATUSES)

_COLUMNS = (
    "t.id, t.ref, t.severity, t.subject, t.escalations, t.bounces, t.status, t.tier, t.created_at, t.updated_at, "
    "t.product_id, t.line_id, t.assignee_id, o.name, u.username, p.display_name, "
    "s.due_at, s.warn_at, s.paused, s.breached"
)
_JOINS = (
    " JOIN desk_organisation o ON o.id = t.organisation_id"
    " LEFT JOIN auth_user u ON u.id = t.assignee_id"
    " LEFT JOIN desk_profile p ON p.user_id = t.assignee_id"
)


@dataclass(slots=True)
class QueueRow:
    """What a queue row shows and sorts on (the attribute names of the ORM rows, so the permission table's
    conditions and ``_row_html`` read either)."""

    id: int
    ref: str
    severity: str
    subject: str
    escalations: int
    bounces: int
    status: str
    tier: str
    created_at: datetime
    updated_at: datetime
    product_id: int | None
    line_id: int | None
    assignee_id: int | None
    organisation_name: str
    assignee_username: str | None
    assignee_display_name: str | None
    sla_due_at: datetime | None
    sla_warn_at: datetime | None
    sla_paused: bool
    sla_breached: bool
    sla_about_to_breach: bool

    @property
    def pk(self) -> int:
        return self.id

    @classmethod
    def of_ticket(cls, t: Any) -> QueueRow:
        """The row of a ticket model instance: the ORM path's rows (SLA values from ``annotate_sla``'s
        annotations, if any) and the inline claim answer."""
        name = None
        if t.assignee_id:
            try:
                name = t.assignee.profile.display_name
            except ObjectDoesNotExist:
                name = None
        return cls(
            t.pk, t.ref, t.severity, t.subject, t.escalations, t.bounces, t.status, t.tier, t.created_at,
            t.updated_at, t.product_id, t.line_id, t.assignee_id, t.organisation.name,
            t.assignee.username if t.assignee_id else None, name,
            getattr(t, "sla_due_at", None), getattr(t, "sla_warn_at", None), bool(getattr(t, "sla_paused", False)),
            bool(getattr(t, "sla_breached", False)), bool(getattr(t, "sla_about_to_breach", False)),
        )


def _dt(value: Any) -> datetime | None:
    """A datetime column as an aware UTC datetime (SQLite gives naive UTC or text, PostgreSQL aware)."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is None or value.tzinfo is not None:
            return value
    return value.replace(tzinfo=UTC)


def _row(r: tuple[Any, ...], *, now: datetime) -> QueueRow:
    created, updated, due, warn = _dt(r[8]), _dt(r[9]), _dt(r[16]), _dt(r[17])
    breached = bool(r[19]) or (due is not None and due < now)
    about = warn is not None and due is not None and warn <= now <= due
    return QueueRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], created, updated, r[10], r[11], r[12], r[13],
                    r[14], r[15], due, warn, bool(r[18]), breached, about)


@dataclass(frozen=True, slots=True)
class Filters:
    """The queue filter form's values that :func:`page_rows` handles (ids already resolved)."""

    severity: str = ""
    status: str = ""
    line_id: int | None = None
    product_id: int | None = None


def _where(line_ids: list[int], filters: Filters) -> tuple[list[str], list[Any]]:
    conds = [f"t.line_id IN ({', '.join(['%s'] * len(line_ids))})", f"t.status IN ({_OPEN_SQL})"]
    params: list[Any] = list(line_ids)
    if filters.severity:
        conds.append("t.severity = %s")
        params.append(filters.severity)
    if filters.status:
        conds.append("t.status = %s")
        params.append(filters.status)
    if filters.line_id is not None:
        conds.append("t.line_id = %s")
        params.append(filters.line_id)
    if filters.product_id is not None:
        conds.append("t.product_id = %s")
        params.append(filters.product_id)
    return conds, params


def _hint(index: str) -> str:
    # SQLite only: its planner preferred an equality index plus a sort of every open ticket of the lines over the
    # partial index that is already in the page's order. PostgreSQL plans this well by itself.
    return f" INDEXED BY {index}" if connection.vendor == "sqlite" else ""


def _param(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _fetch(sql: str, params: list[Any], now: datetime) -> list[QueueRow]:
    params = [_param(p) for p in params]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Run with the prepared statement's generic plan. PostgreSQL otherwise kept choosing custom plans for
        # these statements (the generic plan's estimate cannot know how selective "my lines" are) and planned the
        # five-table join on every request: 2 ms of its CPU per queue page, against 0.1 ms to execute the generic
        # plan, which walks the same partial index. SET LOCAL needs a transaction; it ends with the read.
        with transaction.atomic(using=connection.alias), connection.cursor() as cur:
            cur.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            cur.execute(sql, params)
            return [_row(r, now=now) for r in cur.fetchall()]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [_row(r, now=now) for r in cur.fetchall()]


def _keyset(columns: list[str], values: list[Any]) -> tuple[str, list[Any]]:
    """Rows strictly after ``values`` in ascending ``columns`` order, as the ORM path's expansion
    (a > a0) OR (a = a0 AND b > b0) OR … — written out rather than as a row comparison so both engines read it
    the same way."""
    ors, params = [], []
    for i, col in enumerate(columns):
        parts = [f"{c} = %s" for c in columns[:i]] + [f"{col} > %s"]
        ors.append("(" + " AND ".join(parts) + ")")
        params += list(values[: i + 1])
    return "(" + " OR ".join(ors) + ")", params


def lines_page(*, line_ids: list[int], tier: str | None, filters: Filters, cursor: str | None, size: int,
               now: datetime) -> Page:
    """"My lines": the unassigned tickets at my tier first, then the rest, each by (severity, created_at, id).
    Cursor ``[part, severity, created_at, id]`` as ``keyset.paginate_parts`` writes it."""
    start, after = 0, None
    if cursor:
        values = _decode(cursor, 4)
        if values is not None and type(values[0]) is int and 0 <= values[0] < 2:
            start, after = values[0], values[1:]
    order = ["t.severity", "t.created_at", "t.id"]
    rows: list[tuple[int, QueueRow]] = []
    for part in range(start, 2):
        conds, params = _where(line_ids, filters)
        claimable = "t.assignee_id IS NULL AND t.tier = %s"
        conds.append(claimable if part == 0 else f"NOT ({claimable})")
        params.append(tier or "")
        if part == start and after is not None:
            cond, more = _keyset(order, after)
            conds.append(cond)
            params += more
        index = "ticket_queue_claimable" if part == 0 else "ticket_queue_open"
        sql = (f"SELECT {_COLUMNS} FROM desk_ticket t{_hint(index)}{_JOINS}"
               f" LEFT JOIN desk_ticketsla s ON s.ticket_id = t.id"
               f" WHERE {' AND '.join(conds)} ORDER BY {', '.join(order)} LIMIT {size + 1 - len(rows)}")
        rows += [(part, r) for r in _fetch(sql, params, now)]
        if len(rows) > size:
            break
    if len(rows) <= size:
        return Page(rows=[r for _p, r in rows], next_cursor=None)
    rows = rows[:size]
    part, last = rows[-1]
    return Page(rows=[r for _p, r in rows],
                next_cursor=_encode([part, last.severity, last.created_at, last.id]))


def mine_page(*, user_id: int, filters: Filters, cursor: str | None, size: int, now: datetime) -> Page:
    """"Mine": my open tickets by (severity, updated_at, id). Not limited to my lines: assigned to me is visible."""
    conds = ["t.assignee_id = %s", f"t.status IN ({_OPEN_SQL})"]
    params: list[Any] = [user_id]
    extra, extra_params = _where([], filters)
    conds += extra[2:]  # the filters without the line/open conditions
    params += extra_params
    order = ["t.severity", "t.updated_at", "t.id"]
    source = f"desk_ticket t{_JOINS} LEFT JOIN desk_ticketsla s ON s.ticket_id = t.id"
    return _one_page(source, conds, params, order, cursor=cursor, size=size, now=now,
                     key=lambda r: [r.severity, r.updated_at, r.id])


def breach_page(*, line_ids: list[int], filters: Filters, cursor: str | None, size: int, now: datetime) -> Page:
    """"About to breach": running clocks in their last quarter or overdue, soonest due first (``sla_due_order``
    index: read in order, stop after a page)."""
    conds, params = _where(line_ids, filters)
    conds.append("s.warn_at <= %s")
    params.append(now)
    order = ["s.due_at", "s.ticket_id"]  # = t.id; named as the index names it, so SQLite needs no sort
    source = f"desk_ticketsla s{_hint('sla_due_order')} JOIN desk_ticket t ON t.id = s.ticket_id{_JOINS}"
    return _one_page(source, conds, params, order, cursor=cursor, size=size, now=now,
                     key=lambda r: [r.sla_due_at, r.id])


def _one_page(source: str, conds: list[str], params: list[Any], order: list[str], *, cursor: str | None,
              size: int, now: datetime, key: Callable[[QueueRow], list[Any]]) -> Page:
    """One keyset page of ``SELECT … FROM source WHERE conds ORDER BY order``; ``key``: a row's cursor values."""
    if cursor:
        values = _decode(cursor, len(order))
        if values is not None:
            cond, more = _keyset(order, values)
            conds = [*conds, cond]
            params = [*params, *more]
    sql = f"SELECT {_COLUMNS} FROM {source} WHERE {' AND '.join(conds)} ORDER BY {', '.join(order)} LIMIT {size + 1}"
    rows = _fetch(sql, params, now)
    if len(rows) <= size:
        return Page(rows=rows, next_cursor=None)
    rows = rows[:size]
    return Page(rows=rows, next_cursor=_encode(key(rows[-1])))
