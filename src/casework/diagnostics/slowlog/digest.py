"""Fold entries into query shapes, in bounded memory, and conclude.

Memory grows with the number of *shapes*, never with the number of entries: each shape keeps counters, a
log-scale duration histogram (2 % wide buckets, for p50/p95/p99; the exact durations while a shape has at most
:data:`EXACT_MAX` entries), a per-minute count table (coarsened when it grows) for the time histogram, and
bounded top-value counters for databases, users and clients.

Accumulators merge, so a large file is cut into chunks on entry boundaries and digested by worker processes
(``digest_inputs``), and several files (a primary and its secondaries) fold into one digest.

Shape aggregation of engine extras: numeric values of ``Entry.extra`` are summed into ``Shape.extra``; other
values come from the shape's example entry (its slowest). Findings mark the shapes they concern through
``Shape.codes`` (engines may append there themselves) or through ``evidence["shapes"]`` — fingerprints or dicts
with a ``fingerprint`` key.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce as _reduce
from operator import add as _add
from types import ModuleType
from typing import Any

from casework.diagnostics.report import Finding, Severity
from casework.diagnostics.slowlog import speedups
from casework.diagnostics.slowlog.entry import Entry, ParseStats, Shape
from casework.i18n import gettext as _

EXACT_MAX = 256  # entries per shape whose durations are kept exactly
_BUCKET_BASE = 1.02
_LOG_BASE = math.log(_BUCKET_BASE)
TOP_VALUES = 50  # distinct databases/users/clients kept per shape before the rarest are folded into "other"
MINUTE_BUCKETS_MAX = 2048
HISTOGRAM_BINS = 12

RATIO_MIN_FACTOR = 100  # examined >= 100 x returned …
RATIO_MIN_EXAMINED = 1000  # … and at least 1,000 examined
LOCK_SHARE_MIN = 0.5  # lock wait >= 50 % of the duration

SORT_KEYS = ("total", "count", "mean", "p95", "ratio")


@dataclass(frozen=True, slots=True)
class Options:
    """What the user asked for: which entries count, how shapes are ranked and how many are shown."""

    top: int = 10  # 0 = all
    sort: str = "total"
    since: float | None = None
    until: float | None = None
    filters: dict[str, str] = field(default_factory=dict)  # db=, user=, ns=, client=, engine=, op=
    exclude_internal: bool = False

    def accepts(self, e: Entry) -> bool:
        if self.exclude_internal and e.internal:
            return False
        if self.since is not None and (e.ts is None or e.ts < self.since):
            return False
        if self.until is not None and (e.ts is None or e.ts > self.until):
            return False
        for key, want in self.filters.items():
            have = _FILTER_FIELDS[key](e)
            if have is None or have.lower() != want.lower():
                return False
        return True


_FILTER_FIELDS: dict[str, Callable[[Entry], str | None]] = {
    "db": lambda e: e.db,
    "user": lambda e: e.user,
    "ns": lambda e: e.namespace,
    "client": lambda e: e.client,
    "host": lambda e: e.client,
    "engine": lambda e: e.engine,
    "op": lambda e: e.operation,
}
FILTER_KEYS = tuple(_FILTER_FIELDS)


class _Agg:
    """One shape while entries are still arriving (picklable; merged across chunks and files)."""

    __slots__ = (
        "engine", "fingerprint", "count", "total", "min", "max", "exact", "buckets", "examined", "returned",
        "lock", "plans", "internal", "reasons", "first", "last", "dbs", "users", "clients", "namespaces",
        "operations", "example", "example_ms", "example_source", "example_line", "example_extra",
        "minute", "width", "sums",
    )

    def __init__(self, e: Entry, order: int) -> None:
        self.engine = e.engine
        self.fingerprint = e.fingerprint
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.exact: list[float] | None = []
        self.buckets: dict[int, int] = {}
        self.examined = 0
        self.returned = 0
        self.lock = 0.0
        self.plans: Counter[str] = Counter()
        self.internal = 0
        self.reasons: Counter[str] = Counter()
        self.first: float | None = None
        self.last: float | None = None
        self.dbs: Counter[str] = Counter()
        self.users: Counter[str] = Counter()
        self.clients: Counter[str] = Counter()
        self.namespaces: Counter[str] = Counter()
        self.operations: Counter[str] = Counter()
        self.example = e.example
        self.example_ms = -math.inf
        self.example_source = e.source
        self.example_line = (order, e.line)  # (chunk order, line within chunk): fixed up after merging
        self.example_extra: dict[str, Any] = {}
        self.minute: dict[int, int] = {}
        self.width = 60  # seconds per time bucket
        self.sums: dict[str, float] = {}

    # Pickling (a worker's Partial goes to the parent): the slots as one tuple in __slots__ order (the tests check
    # that every slot survives), the counters as plain dicts. A Counter pickles as Counter(dict), whose
    # __init__/update run Python code: with 7 counters per shape and ~600 shapes per chunk, that was most of the
    # parent's unpickling time on a parallel digest. Counters come back with the same items in the same order.
    def __getstate__(self) -> tuple[Any, ...]:
        return (
            self.engine, self.fingerprint, self.count, self.total, self.min, self.max, self.exact,
            self.buckets, self.examined, self.returned, self.lock, _dict(self.plans), self.internal,
            _dict(self.reasons), self.first, self.last, _dict(self.dbs), _dict(self.users),
            _dict(self.clients), _dict(self.namespaces), _dict(self.operations), self.example,
            self.example_ms, self.example_source, self.example_line, self.example_extra, self.minute,
            self.width, self.sums,
        )

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (
            self.engine, self.fingerprint, self.count, self.total, self.min, self.max, self.exact,
            self.buckets, self.examined, self.returned, self.lock, plans, self.internal, reasons, self.first,
            self.last, dbs, users, clients, namespaces, operations, self.example, self.example_ms,
            self.example_source, self.example_line, self.example_extra, self.minute, self.width, self.sums,
        ) = state
        for name, counts in (("plans", plans), ("reasons", reasons), ("dbs", dbs), ("users", users),
                             ("clients", clients), ("namespaces", namespaces), ("operations", operations)):
            c = _new_counter(Counter)
            _dict_update(c, counts)
            setattr(self, name, c)

    def add(self, e: Entry, order: int) -> None:
        # The hot path (once per entry): locals, no helper calls for the common case.
        ms = e.duration_ms
        self.count += 1
        self.total += ms
        if ms < self.min:
            self.min = ms
        if ms > self.max:
            self.max = ms
        exact = self.exact
        if exact is not None:
            if len(exact) < EXACT_MAX:
                exact.append(ms)
            else:
                self.exact = None
        b = _ZERO if ms <= 0 else _floor(_log(ms) / _LOG_BASE)
        buckets = self.buckets
        buckets[b] = buckets.get(b, 0) + 1
        if e.examined:
            self.examined += e.examined
        if e.returned:
            self.returned += e.returned
        if e.lock_ms:
            self.lock += e.lock_ms
        if e.plan:
            self.plans[e.plan] += 1
        if e.internal:
            self.internal += 1
            if e.internal_reason:
                self.reasons[e.internal_reason] += 1
        ts = e.ts
        if ts is not None:
            first = self.first
            if first is None or ts < first:
                self.first = ts
            last = self.last
            if last is None or ts > last:
                self.last = ts
            minute = self.minute
            key = int(ts // self.width)
            minute[key] = minute.get(key, 0) + 1
            if len(minute) > MINUTE_BUCKETS_MAX:
                self._coarsen(self.width * 2)
        v = e.db
        if v is not None:
            c = self.dbs
            c[v] = c.get(v, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        v = e.user
        if v is not None:
            c = self.users
            c[v] = c.get(v, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        v = e.client
        if v is not None:
            c = self.clients
            c[v] = c.get(v, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        v = e.namespace
        if v is not None:
            c = self.namespaces
            c[v] = c.get(v, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        v = e.operation
        if v is not None:
            c = self.operations
            c[v] = c.get(v, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        if e.extra:
            sums = self.sums
            for k, x in e.extra.items():
                if isinstance(x, int | float) and not isinstance(x, bool):
                    sums[k] = sums.get(k, 0) + x
        if ms > self.example_ms:  # the slowest entry is the most telling example (as pt-query-digest does)
            self.example_ms = ms
            self.example = e.example
            self.example_source = e.source
            self.example_line = (order, e.line)
            self.example_extra = e.extra

    @classmethod
    def start(cls, engine: str, fingerprint: str, example: str, source: str, line: int, order: int) -> _Agg:
        """A new shape for the fast scanners (``fastscan.py``), which fold values without building an Entry."""
        return cls(_Seed(engine, fingerprint, example, source, line), order)  # type: ignore[arg-type]

    def add_values(self, ms: float, ts: float | None, db: str | None, user: str | None, client: str | None,
                   op: str | None, examined: int | None, returned: int | None, lock_ms: float | None,
                   plan: str | None, example: str, source: str, line: int, order: int,
                   extra: Callable[[], dict[str, Any]] | None) -> None:
        """:meth:`add` for an entry given as values (never internal; ``extra`` makes the entry's extra dict —
        non-numeric values only — and is called only when the entry becomes the example). The namespace of a SQL
        entry is its database, so ``namespaces`` is not counted here: the caller sets it to a copy of ``dbs`` when
        the chunk is done (:meth:`sql_namespaces`). Must fold exactly as :meth:`add` does: the fast paths are tested
        to give identical digests."""
        self.count += 1
        self.total += ms
        if ms < self.min:
            self.min = ms
        if ms > self.max:
            self.max = ms
        exact = self.exact
        if exact is not None:
            if len(exact) < EXACT_MAX:
                exact.append(ms)
            else:
                self.exact = None
        b = _ZERO if ms <= 0 else _floor(_log(ms) / _LOG_BASE)
        buckets = self.buckets
        buckets[b] = buckets.get(b, 0) + 1
        if examined:
            self.examined += examined
        if returned:
            self.returned += returned
        if lock_ms:
            self.lock += lock_ms
        if plan:
            self.plans[plan] += 1
        if ts is not None:
            first = self.first
            if first is None or ts < first:
                self.first = ts
            last = self.last
            if last is None or ts > last:
                self.last = ts
            minute = self.minute
            key = int(ts // self.width)
            minute[key] = minute.get(key, 0) + 1
            if len(minute) > MINUTE_BUCKETS_MAX:
                self._coarsen(self.width * 2)
        if db is not None:
            c = self.dbs
            c[db] = c.get(db, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        if user is not None:
            c = self.users
            c[user] = c.get(user, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        if client is not None:
            c = self.clients
            c[client] = c.get(client, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        if op is not None:
            c = self.operations
            c[op] = c.get(op, 0) + 1
            if len(c) > _TRIM_AT:
                _trim(c)
        if ms > self.example_ms:
            self.example_ms = ms
            self.example = example
            self.example_source = source
            self.example_line = (order, line)
            self.example_extra = extra() if extra is not None else {}

    def add_rows(self, rows: Sequence[tuple[Any, ...]], source: str, order: int) -> None:
        """:meth:`add_values` for many entries at once, column by column with C-level builtins (the fast scanners
        collect a chunk's rows per shape and fold them here). Each row is ``(ms, ts, db, user, client, op, examined,
        returned, lock_ms, plan, example, line, extra)``; the result is bit-identical to calling :meth:`add_values`
        on the rows in order: float sums are sequential (``reduce``, not ``sum``, which is compensated on Python
        >= 3.12), ties keep the first row, counters get their keys in first-occurrence order, and the steps whose
        result depends on *when* they happen (trimming a counter, coarsening the minute table) fall back to the
        row-by-row fold or are shown to be order-free below."""
        n = len(rows)
        if n == 0:
            return
        if n == 1:
            r = rows[0]
            self.add_values(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], source, r[11], order,
                            r[12])
            return
        ms, ts, dbs, users, clients, ops, examined, returned, locks, plans, examples, lines, extras = zip(*rows, strict=True)
        self.count += n
        self.total = _reduce(_add, ms, self.total)
        lo = min(ms)
        if lo < self.min:
            self.min = lo
        hi = max(ms)
        if hi > self.max:
            self.max = hi
        exact = self.exact
        if exact is not None:
            if len(exact) + n <= EXACT_MAX:
                exact.extend(ms)
            else:
                self.exact = None
        buckets = self.buckets
        for b, c in Counter([_ZERO if x <= 0 else _floor(_log(x) / _LOG_BASE) for x in ms]).items():
            buckets[b] = buckets.get(b, 0) + c
        self.examined += sum(filter(None, examined))  # ints: order-free
        self.returned += sum(filter(None, returned))
        self.lock = _reduce(_add, filter(None, locks), self.lock)
        got = [p for p in plans if p]
        if got:
            self.plans.update(got)
        stamps = [t for t in ts if t is not None]
        if stamps:
            t = min(stamps)
            if self.first is None or t < self.first:
                self.first = t
            t = max(stamps)
            if self.last is None or t > self.last:
                self.last = t
            # Coarsening merges buckets (k -> k // 2 per doubling, which equals flooring the timestamp by the
            # doubled width), and the row-by-row fold doubles the width exactly while the table of all entries
            # so far holds more than MINUTE_BUCKETS_MAX keys: both end at the narrowest width at which the table
            # of all entries fits, with the same counts.
            width = self.width
            minute = self.minute
            for k, c in Counter([int(t // width) for t in stamps]).items():
                minute[k] = minute.get(k, 0) + c
            while len(self.minute) > MINUTE_BUCKETS_MAX:
                self._coarsen(self.width * 2)
        _count_into(self.dbs, dbs)
        _count_into(self.users, users)
        _count_into(self.clients, clients)
        _count_into(self.operations, ops)
        if hi > self.example_ms:
            i = ms.index(hi)  # the first row with the largest duration, as the row-by-row fold picks
            self.example_ms = hi
            self.example = examples[i]
            self.example_source = source
            self.example_line = (order, lines[i])
            extra = extras[i]
            self.example_extra = extra() if extra is not None else {}

    def sql_namespaces(self) -> None:
        """SQL entries have ``namespace == db``: the namespace counter is the database counter."""
        self.namespaces = Counter(self.dbs)

    def _coarsen(self, width: int) -> None:
        merged: dict[int, int] = {}
        for k, v in self.minute.items():
            nk = (k * self.width) // width
            merged[nk] = merged.get(nk, 0) + v
        self.minute = merged
        self.width = width

    def merge(self, o: _Agg) -> None:
        self.count += o.count
        self.total += o.total
        self.min = min(self.min, o.min)
        self.max = max(self.max, o.max)
        if self.exact is not None and o.exact is not None and len(self.exact) + len(o.exact) <= EXACT_MAX:
            self.exact.extend(o.exact)
        else:
            self.exact = None
        _add_counts(self.buckets, o.buckets, 1, 1)
        self.examined += o.examined
        self.returned += o.returned
        self.lock += o.lock
        _add_counts(self.plans, o.plans, 1, 1)
        self.internal += o.internal
        _add_counts(self.reasons, o.reasons, 1, 1)
        if o.first is not None and (self.first is None or o.first < self.first):
            self.first = o.first
        if o.last is not None and (self.last is None or o.last > self.last):
            self.last = o.last
        width = max(self.width, o.width)
        if self.width != width:
            self._coarsen(width)
        _add_counts(self.minute, o.minute, o.width, width)
        if len(self.minute) > MINUTE_BUCKETS_MAX:
            self._coarsen(self.width * 2)
        for mine, theirs in (
            (self.dbs, o.dbs), (self.users, o.users), (self.clients, o.clients),
            (self.namespaces, o.namespaces), (self.operations, o.operations),
        ):
            _add_counts(mine, theirs, 1, 1)  # Counter.update, in the same order
            _trim(mine)
        for k, v in o.sums.items():
            self.sums[k] = self.sums.get(k, 0) + v
        if o.example_ms > self.example_ms or (
            o.example_ms == self.example_ms and o.example_line < self.example_line
        ):
            self.example_ms = o.example_ms
            self.example = o.example
            self.example_source = o.example_source
            self.example_line = o.example_line
            self.example_extra = o.example_extra

    def percentile(self, q: float) -> float:
        if self.exact is not None and self.exact:
            values = sorted(self.exact)
            return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                value = 0.0 if b == _ZERO else _BUCKET_BASE ** (b + 0.5)
                return min(max(value, self.min), self.max)
        return self.max


# _Agg.add in C when the extension is in use (``_speedups.agg_add``, the same steps for the types the parsers give;
# it calls _Agg.add for anything else). Partial.add_entries folds with it.
_agg_add: Callable[[_Agg, Entry, int], None] = _Agg.add

_dict = dict
_new_counter = Counter.__new__  # Counter(d) without Counter's Python-level __init__/update: same items, same order
_dict_update = dict.update


@dataclass(slots=True)
class _Seed:
    """The fields of an Entry that :class:`_Agg`'s constructor reads."""

    engine: str
    fingerprint: str
    example: str
    source: str
    line: int


_ZERO = -(10**9)
_TRIM_AT = TOP_VALUES * 2
_floor = math.floor
_log = math.log


def _bucket(ms: float) -> int:
    if ms <= 0:
        return _ZERO
    return math.floor(math.log(ms) / _LOG_BASE)


def _add_counts_py(dst: dict[Any, Any], src: dict[Any, Any], num: int, den: int) -> None:
    """``dst[k * num // den] += v`` for each item of ``src``, in its order (the merge of counts and of minute
    tables); ``_speedups.add_counts`` is the same loop in C."""
    if num == 1 and den == 1:
        for k, v in src.items():
            dst[k] = dst.get(k, 0) + v
    else:
        for k, v in src.items():
            nk = (k * num) // den
            dst[nk] = dst.get(nk, 0) + v


_add_counts: Callable[[dict[Any, Any], dict[Any, Any], int, int], None] = (
    speedups.ext.add_counts if speedups.ext is not None else _add_counts_py
)


def _count_into(counter: Counter[str], values: Iterable[str | None]) -> None:
    """``counter[v] += 1`` for each non-None value in order, trimming as :meth:`_Agg.add_values` does. When no
    trim can have happened (the counter never holds more than ``_TRIM_AT`` keys) one C-level count suffices;
    otherwise the values are counted one by one, trimming when the row-by-row fold would have."""
    batch = Counter(values)
    batch.pop(None, None)  # the other keys keep their first-occurrence order
    if not batch:
        return
    if len(counter) + len(batch) <= _TRIM_AT or len(counter.keys() | batch.keys()) <= _TRIM_AT:
        for k, c in batch.items():
            counter[k] = counter.get(k, 0) + c
        return
    for v in values:
        if v is not None:
            counter[v] = counter.get(v, 0) + 1
            if len(counter) > _TRIM_AT:
                _trim(counter)


def _most_common(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    """The ``n`` most frequent values, equal counts in value order: ``Counter.most_common`` breaks ties by insertion
    order, which differs between one stream and the merge of chunks digested in parallel."""
    return heapq.nsmallest(n, counter.items(), key=lambda kv: (-kv[1], kv[0]))


def _trim(counter: Counter[str]) -> None:
    """Keep the most frequent values; the rest are counted as "other" (memory bounded per shape)."""
    if len(counter) <= TOP_VALUES * 2:
        return
    keep = _most_common(counter, TOP_VALUES)
    other = sum(counter.values()) - sum(v for _, v in keep)
    counter.clear()
    counter.update(dict(keep))
    counter["other"] += other


if speedups.ext is not None:
    speedups.ext.agg_setup(_Agg, Entry, Counter, _Agg.add, _trim, _ZERO, EXACT_MAX, _TRIM_AT, MINUTE_BUCKETS_MAX,
                           _LOG_BASE)
    _agg_add = speedups.ext.agg_add


@dataclass(slots=True)
class Partial:
    """A digest in progress: shapes plus what the parsers saw. ``order`` tags where line numbers count from."""

    aggs: dict[tuple[str, str], _Agg] = field(default_factory=dict)
    stats: ParseStats = field(default_factory=ParseStats)
    entries: int = 0
    filtered_out: int = 0
    by_engine: Counter[str] = field(default_factory=Counter)
    unparsed_at: list[tuple[int, str, int]] = field(default_factory=list)  # (order, source, line)
    line_offsets: dict[int, int] = field(default_factory=dict)  # order -> lines before that chunk

    def add_entries(self, entries: Iterable[Entry], *, options: Options, order: int) -> None:
        aggs = self.aggs
        accepts = options.accepts
        plain = not (options.exclude_internal or options.since or options.until or options.filters)
        counts: dict[str, int] = {}
        filtered = 0
        try:
            for e in entries:
                if not plain and not accepts(e):
                    filtered += 1
                    continue
                engine = e.engine
                key = (engine, e.fingerprint)
                agg = aggs.get(key)
                if agg is None:
                    agg = aggs[key] = _Agg(e, order)
                _agg_add(agg, e, order)
                counts[engine] = counts.get(engine, 0) + 1
        finally:
            self.filtered_out += filtered
            for engine, n in counts.items():
                self.entries += n
                self.by_engine[engine] += n

    def merge(self, o: Partial) -> None:
        for key, agg in o.aggs.items():
            mine = self.aggs.get(key)
            if mine is None:
                self.aggs[key] = agg
            else:
                mine.merge(agg)
        self.stats.merge(o.stats)
        self.entries += o.entries
        self.filtered_out += o.filtered_out
        self.by_engine.update(o.by_engine)
        self.unparsed_at.extend(o.unparsed_at)
        self.line_offsets.update(o.line_offsets)


@dataclass(slots=True)
class Digest:
    """The finished digest: every shape (ranked), the summary and the findings."""

    shapes: list[Shape]
    summary: dict[str, Any]
    findings: list[Finding]


def finish(partial: Partial, *, options: Options, engines: dict[str, ModuleType]) -> Digest:
    """Turn accumulators into ranked :class:`Shape` objects and run every finding rule over them."""
    grand_total = sum(a.total for a in partial.aggs.values())
    firsts = [a.first for a in partial.aggs.values() if a.first is not None]
    lasts = [a.last for a in partial.aggs.values() if a.last is not None]
    t0 = min(firsts) if firsts else None
    t1 = max(lasts) if lasts else None
    shapes = [_shape(a, grand_total=grand_total, t0=t0, t1=t1, offsets=partial.line_offsets)
              for a in partial.aggs.values()]
    shapes.sort(key=_sort_key(options.sort), reverse=True)

    found: list[Finding] = []
    found.extend(_ratio_findings(shapes))
    found.extend(_lock_findings(shapes))
    present = {s.engine for s in shapes}
    for name, module in engines.items():
        if name in present:
            found.extend(module.findings([s for s in shapes if s.engine == name]))
    by_fp = {(s.fingerprint): s for s in shapes}
    for f in found:
        for ref in f.evidence.get("shapes", []) if isinstance(f.evidence, dict) else []:
            fp = ref.get("fingerprint") if isinstance(ref, dict) else ref
            shape = by_fp.get(fp) if isinstance(fp, str) else None
            if shape is not None and f.code not in shape.codes:
                shape.codes.append(f.code)

    unparsed = sorted(partial.unparsed_at)[: ParseStats.MAX_SAMPLES]
    engines_summary: dict[str, dict[str, Any]] = {}
    for s in shapes:
        row = engines_summary.setdefault(s.engine, {"entries": 0, "shapes": 0, "total_ms": 0.0})
        row["entries"] += s.count
        row["shapes"] += 1
        row["total_ms"] = round(row["total_ms"] + s.total_ms, 3)
    summary = {
        "entries": partial.entries,
        "unparsed": partial.stats.unparsed,
        "internal": sum(round(s.extra.get("_internal_count", 0)) for s in shapes),
        "shapes": len(shapes),
        "by_engine": engines_summary,
        "lines": partial.stats.lines,
        "decode_errors": partial.stats.decode_errors,
        "unparsed_lines": [f"{src}:{line + partial.line_offsets.get(order, 0)}" for order, src, line in unparsed],
        "filtered_out": partial.filtered_out,
        "total_ms": round(grand_total, 3),
        "first_seen": t0,
        "last_seen": t1,
    }
    for s in shapes:
        s.extra.pop("_internal_count", None)
    return Digest(shapes=shapes, summary=summary, findings=found)


def _sort_key(sort: str) -> Callable[[Shape], Any]:
    return {
        "total": lambda s: (s.total_ms, s.count),
        "count": lambda s: (s.count, s.total_ms),
        "mean": lambda s: (s.mean_ms, s.count),
        "p95": lambda s: (s.p95_ms, s.count),
        "ratio": lambda s: (s.ratio or 0.0, s.total_ms),
    }[sort]


def _shape(a: _Agg, *, grand_total: float, t0: float | None, t1: float | None, offsets: dict[int, int]) -> Shape:
    order, line = a.example_line
    extra: dict[str, Any] = {k: v for k, v in a.example_extra.items() if not isinstance(v, int | float)}
    extra.update(a.sums)
    extra["_internal_count"] = a.internal
    ns = a.namespaces.most_common(1)
    op = a.operations.most_common(1)
    plan = a.plans.most_common(1)
    reason = a.reasons.most_common(1)
    return Shape(
        fingerprint=a.fingerprint,
        engine=a.engine,
        namespace=ns[0][0] if ns else None,
        operation=op[0][0] if op else None,
        count=a.count,
        total_ms=round(a.total, 3),
        mean_ms=round(a.total / a.count, 3) if a.count else 0.0,
        min_ms=round(a.min, 3),
        max_ms=round(a.max, 3),
        p50_ms=round(a.percentile(0.50), 3),
        p95_ms=round(a.percentile(0.95), 3),
        p99_ms=round(a.percentile(0.99), 3),
        share=round(a.total / grand_total, 6) if grand_total > 0 else 0.0,
        examined=a.examined,
        returned=a.returned,
        lock_ms=round(a.lock, 3),
        plan=plan[0][0] if plan else None,
        internal=a.internal * 2 > a.count,  # a shape is internal when most of its entries are
        internal_reason=reason[0][0] if reason else None,
        first_seen=a.first,
        last_seen=a.last,
        dbs=dict(_most_common(a.dbs, 5)),
        users=dict(_most_common(a.users, 5)),
        clients=dict(_most_common(a.clients, 5)),
        example=a.example,
        example_source=a.example_source,
        example_line=line + offsets.get(order, 0),
        histogram=_histogram(a, t0, t1),
        extra=extra,
    )


def _histogram(a: _Agg, t0: float | None, t1: float | None) -> list[int]:
    """Entry counts in :data:`HISTOGRAM_BINS` equal slices of the whole input's time span."""
    bins = [0] * HISTOGRAM_BINS
    if t0 is None or t1 is None or not a.minute:
        return bins
    span = max(t1 - t0, 1e-9)
    width = a.width

    def bin_of(k: int) -> int:
        i = int((max(k * width, t0) - t0) / span * HISTOGRAM_BINS)
        return min(max(i, 0), HISTOGRAM_BINS - 1)

    # bin_of is non-decreasing in k (each float step is correctly rounded, hence monotone), so over the sorted
    # keys it changes at most HISTOGRAM_BINS - 1 times: find each change by bisection with the very same
    # expression and add the counts between them, instead of evaluating it for each of up to 2,048 keys.
    minute = a.minute
    keys = sorted(minute)
    lo, n = 0, len(keys)
    while lo < n:
        b = bin_of(keys[lo])
        hi = bisect_right(keys, b, lo, n, key=bin_of)
        bins[b] += sum(map(minute.__getitem__, keys[lo:hi]))
        lo = hi
    return bins


# -- engine-neutral findings ------------------------------------------------------------------------------------


def _shape_ref(s: Shape) -> dict[str, Any]:
    return {
        "fingerprint": s.fingerprint,
        "engine": s.engine,
        "namespace": s.namespace,
        "count": s.count,
        "total_ms": s.total_ms,
        "examined": s.examined,
        "returned": s.returned,
        "lock_ms": s.lock_ms,
    }


def _short(fp: str, n: int = 90) -> str:
    return fp if len(fp) <= n else fp[: n - 1] + "…"


def _ratio_findings(shapes: Sequence[Shape]) -> list[Finding]:
    hits = [
        s for s in shapes
        if not s.internal and s.examined >= RATIO_MIN_EXAMINED and s.examined >= RATIO_MIN_FACTOR * s.returned
    ]
    if not hits:
        return []
    hits.sort(key=lambda s: s.examined, reverse=True)
    worst = hits[0]
    share = sum(s.share for s in hits)
    for s in hits:
        s.codes.append("examined-returned-ratio")
    return [
        Finding(
            code="examined-returned-ratio",
            severity=Severity.HIGH if share >= 0.2 else Severity.MEDIUM,
            title=_("Queries examine far more rows than they return"),
            detail=_(
                "{n} query shape(s) examined at least {factor} times the rows/documents they returned; the worst, "
                "{fp}, examined {examined:,} and returned {returned:,} in {count:,} executions. "
                "These shapes take {share:.0%} of the logged time."
            ).format(
                n=len(hits), factor=RATIO_MIN_FACTOR, fp=_short(worst.fingerprint), examined=worst.examined,
                returned=worst.returned, count=worst.count, share=share,
            ),
            advice=_(
                "Add or fix an index that covers the filter (and sort) of these shapes, so the server reads only "
                "the rows it returns; check the plan with EXPLAIN (MySQL/PostgreSQL) or explain() (MongoDB)."
            ),
            evidence={
                "shapes": [_shape_ref(s) | {"ratio": round(s.ratio or 0, 1)} for s in hits[:10]],
                "shape_count": len(hits),
                "threshold": {"factor": RATIO_MIN_FACTOR, "min_examined": RATIO_MIN_EXAMINED},
            },
        )
    ]


def _lock_findings(shapes: Sequence[Shape]) -> list[Finding]:
    hits = [s for s in shapes if s.total_ms > 0 and s.lock_ms > 0 and s.lock_ms >= LOCK_SHARE_MIN * s.total_ms]
    if not hits:
        return []
    hits.sort(key=lambda s: s.lock_ms, reverse=True)
    worst = hits[0]
    for s in hits:
        s.codes.append("lock-wait-dominant")
    return [
        Finding(
            code="lock-wait-dominant",
            severity=Severity.HIGH if sum(s.share for s in hits) >= 0.2 else Severity.MEDIUM,
            title=_("Queries spend most of their time waiting for locks"),
            detail=_(
                "{n} query shape(s) waited for locks for at least half of their duration; the worst, {fp}, "
                "waited {lock:,.1f} ms of {total:,.1f} ms. They are slow because of other transactions holding "
                "the locks, not because of their own work."
            ).format(n=len(hits), fp=_short(worst.fingerprint), lock=worst.lock_ms, total=worst.total_ms),
            advice=_(
                "Find the transactions that hold the locks at those times (long transactions, DDL, bulk updates, "
                "SHOW ENGINE INNODB STATUS / pg_locks / currentOp) and shorten them or move them off-peak."
            ),
            evidence={
                "shapes": [_shape_ref(s) for s in hits[:10]],
                "shape_count": len(hits),
                "threshold": {"lock_share": LOCK_SHARE_MIN},
            },
        )
    ]
