"""Keyset ("seek") pagination for queues and lists: the next page starts after the last row's sort key, so
page 50 costs what page 1 costs and rows inserted meanwhile neither repeat nor vanish."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    plain = [{"dt": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any] | None:
    """The cursor's values, or None when it is not one of ours (a tampered cursor shows the first page)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(raw, list) or len(raw) != size:
        return None
    values: list[Any] = []
    for v in raw:
        if isinstance(v, dict):
            dt = parse_datetime(str(v.get("dt", "")))
            if dt is None:
                return None
            values.append(dt)
        elif v is None or isinstance(v, str | int | float):
            values.append(v)
        else:
            return None
    return values


def _after(order: list[tuple[str, bool]], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in the order (field, descending): the lexicographic expansion
    (a > a0) OR (a = a0 AND b > b0) OR …"""
    condition = Q(pk__in=[])
    for i, (name, desc) in enumerate(order):
        step = Q(**{f"{name}__{'lt' if desc else 'gt'}": values[i]})
        for prev_name, _prev_desc in order[:i]:
            step &= Q(**{prev_name: values[order.index((prev_name, _prev_desc))]})
        condition |= step
    return condition


def paginate_parts(parts: list[QuerySet], *, order: list[tuple[str, bool]], cursor: str | None, size: int) -> Page:
    """One page over several querysets shown one after another (all of part 0, then part 1, …), each in ``order``.

    The same rows in the same order as one query sorted by ``(part, *order)``, but each part is a plain ordered
    query that an index can serve (the first page reads ~``size`` index entries instead of sorting every
    matching row). The cursor is ``[part, *values of order]``."""
    start, after_values = 0, None
    if cursor:
        values = _decode(cursor, len(order) + 1)
        if values is not None and type(values[0]) is int and 0 <= values[0] < len(parts):
            start, after_values = values[0], values[1:]
    rows: list[tuple[int, Any]] = []
    for i in range(start, len(parts)):
        qs = parts[i].order_by(*[f"-{n}" if d else n for n, d in order])
        if i == start and after_values is not None:
            qs = qs.filter(_after(order, after_values))
        rows += [(i, row) for row in qs[: size + 1 - len(rows)]]
        if len(rows) > size:
            break
    if len(rows) <= size:
        return Page(rows=[r for _i, r in rows], next_cursor=None)
    rows = rows[:size]
    part, last = rows[-1]
    return Page(rows=[r for _i, r in rows], next_cursor=_encode([part, *[getattr(last, n) for n, _d in order]]))


def paginate(qs: QuerySet, *, order: list[tuple[str, bool]], cursor: str | None, size: int) -> Page:
    """One page of ``qs`` in ``order`` (the last key must be unique, e.g. ``id``) after ``cursor``."""
    qs = qs.order_by(*[f"-{n}" if d else n for n, d in order])
    if cursor:
        values = _decode(cursor, len(order))
        if values is not None:
            qs = qs.filter(_after(order, values))
    rows = list(qs[: size + 1])
    if len(rows) <= size:
        return Page(rows=rows, next_cursor=None)
    rows = rows[:size]
    last = rows[-1]
    return Page(rows=rows, next_cursor=_encode([getattr(last, n) for n, _d in order]))
