"""Querysets whose SQL Django compiles once per process and database connection, then runs with new values.

Why: Django compiles a queryset's SQL on every evaluation (joins for ``select_related``, the column list, the
ordering) — about a third of the ticket page's Python time at a million tickets, for SQL text that is the same on
every request except for a ticket ref or id. A :class:`PreparedQuery` builds its queryset once with placeholder
values, keeps the SQL and the compiler's row plan (column converters, related-object populators) and afterwards
only executes the SQL with the real values. Rows come back exactly as the queryset would give them (same SQL,
same converters, same model instances), so callers and templates see no difference.

Only for querysets whose SQL does not depend on anything but the placeholder values (no ``now()`` in Python, no
per-request ``in`` lists of varying length): the placeholders must each show up as one SQL parameter. Datetime
values are prepared as a ``DateTimeField`` prepares them (made aware, adapted: SQLite's parameters are text).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.models import DateTimeField, Model, QuerySet
from django.db.models.query import get_related_populators

_DATETIME = DateTimeField()


def _prep(value: Any, connection: Any) -> Any:
    """A value as the compiler puts it among the parameters: datetimes as a ``DateTimeField`` prepares them."""
    return _DATETIME.get_db_prep_value(value, connection) if isinstance(value, datetime) else value


@dataclass(frozen=True)
class _Plan:
    """What one evaluation of the queryset needs, compiled for one connection."""

    sql: str
    params: tuple[Any, ...]  # the compiled parameters; positions in ``slots`` are replaced by the call's values
    slots: tuple[tuple[int, int], ...]  # (parameter position, placeholder index)
    compiler: Any
    converters: dict[int, Any]
    model: type[Model] | None  # None: rows as tuples (a ``values_list`` queryset)
    model_slice: tuple[int, int]
    init_list: tuple[str, ...]
    populators: tuple[Any, ...]


class PreparedQuery:
    """``PreparedQuery(lambda ref: Ticket.objects.filter(ref=ref)[:1], "REF0MARKER")``, then
    ``.models("F41GF888")`` or, for a ``values_list`` queryset, ``.rows(...)``.

    ``placeholders``: one value per argument of ``build``, valid for its field and unlike any constant the
    queryset holds itself (each must come out of the compiler as a parameter of its own)."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *placeholders: Any) -> None:
        self._build = build
        self._alias: str | None = None  # the database the queryset reads from (its router's answer)
        self._placeholders = placeholders
        # One plan per connection object: a connection belongs to one thread, and the converters the compiler
        # hands out are bound to it.
        self._plans: weakref.WeakKeyDictionary[Any, _Plan] = weakref.WeakKeyDictionary()

    def _plan(self, qs: QuerySet[Any]) -> _Plan:
        compiler = qs.query.get_compiler(using=qs.db)
        sql, params = compiler.as_sql()
        connection = connections[qs.db]
        compiled = [_prep(p, connection) for p in self._placeholders]
        slots = []
        for pos, value in enumerate(params):
            for index, placeholder in enumerate(compiled):
                if type(value) is type(placeholder) and value == placeholder:
                    slots.append((pos, index))
        if sorted({index for _pos, index in slots}) != list(range(len(self._placeholders))):
            raise ValueError(f"a placeholder is not a parameter of its own in {sql!r} {params!r}")
        fields = [s[0] for s in compiler.select[0:compiler.col_count]]
        model, model_slice, init_list, populators = None, (0, 0), (), ()
        if compiler.klass_info is not None and qs._fields is None:  # model instances, not values_list
            klass_info, select = compiler.klass_info, compiler.select
            model = klass_info["model"]
            select_fields = klass_info["select_fields"]
            model_slice = (select_fields[0], select_fields[-1] + 1)
            init_list = tuple(f[0].target.attname for f in select[model_slice[0]:model_slice[1]])
            populators = tuple(get_related_populators(klass_info, select, qs.db))
            if compiler.annotation_col_map or qs._known_related_objects:
                raise ValueError("annotations and known related objects are not supported")
        return _Plan(sql=sql, params=tuple(params), slots=tuple(slots), compiler=compiler,
                     converters=compiler.get_converters(fields), model=model, model_slice=model_slice,
                     init_list=init_list, populators=populators)

    def _run(self, values: tuple[Any, ...]) -> tuple[_Plan, str, list[list[Any]] | list[tuple[Any, ...]]]:
        qs = None
        alias = self._alias
        if alias is None:
            qs = self._build(*self._placeholders)
            alias = self._alias = qs.db
        connection = connections[alias]
        plan = self._plans.get(connection)
        if plan is None:
            plan = self._plans[connection] = self._plan(qs if qs is not None else self._build(*self._placeholders))
        params = list(plan.params)
        for pos, index in plan.slots:
            value = values[index]
            params[pos] = _prep(value, connection) if isinstance(value, datetime) else value
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.converters and rows:
            rows = list(plan.compiler.apply_converters(rows, plan.converters))
        return plan, alias, rows

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        """The rows of a ``values_list`` queryset, as tuples."""
        plan, _alias, rows = self._run(values)
        if plan.model is not None:
            raise TypeError("rows() is for values_list querysets; use models()")
        return [tuple(r) for r in rows]

    def models(self, *values: Any) -> list[Any]:
        """Model instances, with their ``select_related`` objects, as iterating the queryset would give them."""
        plan, alias, rows = self._run(values)
        if plan.model is None:
            raise TypeError("models() is for model querysets; use rows()")
        start, end = plan.model_slice
        objs = []
        for row in rows:
            obj = plan.model.from_db(alias, plan.init_list, row[start:end])
            for populator in plan.populators:
                populator.populate(row, obj)
            objs.append(obj)
        return objs
