"""The contract between the per-engine parsers and the digest.

A parser module (``mysql.py``, ``postgres.py``, ``mongodb.py``, ``redis.py``) turns lines into
:class:`Entry` objects — already fingerprinted, because only the engine knows what a query shape is — and
counts what it could not read in :class:`ParseStats`. The digest (``digest.py``) folds entries into
:class:`Shape` aggregates and asks each engine module for its findings over those shapes.

Every engine module exposes:

- ``ENGINE: str`` — ``"mysql"``, ``"postgres"``, ``"mongodb"`` or ``"redis"``;
- ``sniff(head: str) -> int`` — confidence 0..100 that the first ~64 KiB of text is this engine's log;
- ``parse(lines: Iterable[str], *, source: str, stats: ParseStats, fmt: str | None = None) -> Iterator[Entry]``
  (``lines`` keep their line endings; line numbers are 1-based; ``fmt`` selects a sub-format when the user
  forces one);
- ``findings(shapes: Sequence[Shape]) -> list[Finding]`` — engine-specific findings (the digest adds the
  engine-neutral ones: ``examined-returned-ratio`` and ``lock-wait-dominant``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Entry:
    """One slow operation as the server logged it."""

    engine: str
    source: str  # file name, or "redis://host:port" for a live server
    line: int  # 1-based line where the entry starts
    ts: float | None  # start (or log) time, seconds since the epoch, UTC
    duration_ms: float
    fingerprint: str  # the query shape: literals replaced, lists collapsed, whitespace and case normalised
    example: str  # the query as logged (trimmed to a sane length by the parser)
    namespace: str | None = None  # "db.collection" (MongoDB), database (SQL), key pattern (Redis)
    db: str | None = None
    user: str | None = None
    client: str | None = None
    operation: str | None = None  # find/getmore/update… (MongoDB), SELECT/INSERT… (SQL), command (Redis)
    examined: int | None = None  # rows/docs examined (keys examined are kept in extra)
    returned: int | None = None  # rows sent / nreturned
    lock_ms: float | None = None  # time spent waiting for locks
    plan: str | None = None  # COLLSCAN / IXSCAN { a: 1 } / Full_scan …
    internal: bool = False  # the server's own work (replication, sessions, TTL…), not the customer's traffic
    internal_reason: str | None = None  # e.g. "oplog-tailing"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ParseStats:
    """What a parser saw besides entries; the digest reports it in ``summary``."""

    lines: int = 0
    unparsed: int = 0
    unparsed_lines: list[int] = field(default_factory=list)  # the first few line numbers, for the report
    decode_errors: int = 0  # lines that had non-UTF-8 bytes (decoded with replacement)

    MAX_SAMPLES = 10

    def bad_line(self, line: int) -> None:
        self.unparsed += 1
        if len(self.unparsed_lines) < self.MAX_SAMPLES:
            self.unparsed_lines.append(line)

    def merge(self, other: ParseStats) -> None:
        self.lines += other.lines
        self.unparsed += other.unparsed
        self.decode_errors += other.decode_errors
        room = self.MAX_SAMPLES - len(self.unparsed_lines)
        if room > 0:
            self.unparsed_lines.extend(other.unparsed_lines[:room])


@dataclass(slots=True)
class Shape:
    """All entries of one fingerprint, aggregated by the digest. Field names follow the JSON output."""

    fingerprint: str
    engine: str
    namespace: str | None
    operation: str | None
    count: int
    total_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    share: float  # of the total time of all entries, 0..1
    examined: int  # sum over entries (0 where the engine does not report it)
    returned: int
    lock_ms: float
    plan: str | None  # the most frequent plan
    internal: bool
    internal_reason: str | None
    first_seen: float | None
    last_seen: float | None
    dbs: dict[str, int]  # top values with counts
    users: dict[str, int]
    clients: dict[str, int]
    example: str
    example_source: str
    example_line: int
    histogram: list[int]  # entry counts per time bucket between first and last seen of the whole input
    codes: list[str] = field(default_factory=list)  # finding codes that concern this shape
    extra: dict[str, Any] = field(default_factory=dict)  # engine-specific aggregates (e.g. filter fields)

    @property
    def ratio(self) -> float | None:
        """Examined per returned row/doc; None when nothing was examined."""
        if not self.examined:
            return None
        return self.examined / max(self.returned, 1)


def detect_and_number(
    lines: Iterable[str], *, fmt: str | None, detect: Callable[[str], str | None], stats: ParseStats
) -> tuple[str | None, Iterator[tuple[int, str]]]:
    """For engines with sub-formats: pick one from the first non-blank line (unless ``fmt`` is forced) and number
    every line from 1, adding the count to ``stats.lines`` once consumed. Only blank lines: ``(None, empty)``."""
    it = iter(lines)
    pending: list[str] = []
    if fmt is None:
        for line in it:
            pending.append(line)
            if line.strip():
                fmt = detect(line)
                break
        if fmt is None:
            stats.lines += len(pending)
            return None, iter(())

    def numbered() -> Iterator[tuple[int, str]]:
        n = 0
        for line in pending:
            n += 1
            yield n, line
        for line in it:
            n += 1
            yield n, line
        stats.lines += n

    return fmt, numbered()
