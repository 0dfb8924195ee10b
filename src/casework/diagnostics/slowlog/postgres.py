"""PostgreSQL logs of ``log_min_duration_statement``: stderr (any common ``log_line_prefix``), csvlog, jsonlog.

An entry is a ``duration: X ms  statement: …`` or ``duration: X ms  execute <name>: …`` message. Extended-protocol
``parse``/``bind`` steps are logged as separate durations; like pgBadger we count the ``execute`` as the query
and leave the (tiny) parse/bind times out, so a prepared statement is one entry per execution. Statements keep
their ``$n`` parameters in the fingerprint; a following ``DETAIL:  parameters: …`` line is kept with the entry.

stderr continuation lines of a multi-line statement start with a tab (PostgreSQL's ``append_with_tabs``).
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone

import orjson

from casework.diagnostics.report import Finding
from casework.diagnostics.slowlog.entry import Entry, ParseStats, Shape
from casework.diagnostics.slowlog.fingerprint import fingerprint, operation

ENGINE = "postgres"
FORMATS = ("postgres", "postgres-stderr", "postgres-csv", "postgres-json")
EXAMPLE_MAX = 2000

_DURATION = re.compile(
    r"duration: (?P<ms>\d+(?:\.\d+)?) ms\s+(?P<kind>statement|execute|parse|bind)(?P<name> [^:]*)?: ?",
)
_SEVERITY = re.compile(r"(?:^|\s)(?:LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG\d?|DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION):\s")
_TS = re.compile(
    r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(\.\d+)?(?: ?([A-Z]{2,5}|[+-]\d\d(?::?\d\d)?)\b)?"
)
_KV = re.compile(r"\b(user|db|client|host|app)=([^,\s\]]*)")
_USER_AT_DB = re.compile(r"(?:^|[\s:])([^\s@\[\]:,]+)@([^\s@\[\]:,]+)")
_SNIFF_STDERR = re.compile(r"(?:LOG|ERROR|STATEMENT|DETAIL|FATAL|WARNING):  ")
_SNIFF_DURATION = re.compile(r"duration: \d+(?:\.\d+)? ms\s+(?:statement|execute|parse|bind)")


def sniff(head: str) -> int:
    """stderr/csv/json logs all carry PostgreSQL's ``duration: X ms  statement:`` messages."""
    durations = len(_SNIFF_DURATION.findall(head))
    if durations:
        return 95 if durations > 1 else 85
    if '"error_severity":' in head and '"backend_type":' in head:
        return 60
    if len(_SNIFF_STDERR.findall(head)) >= 2:
        return 40
    return 0


def parse(
    lines: Iterable[str], *, source: str, stats: ParseStats, fmt: str | None = None
) -> Iterator[Entry]:
    it = iter(lines)
    if fmt in (None, "postgres"):
        head = list(itertools.islice(it, 20))
        fmt = _sub_format(head)
        it = itertools.chain(head, it)
    if fmt == "postgres-csv":
        return _parse_csv(it, source=source, stats=stats)
    if fmt == "postgres-json":
        return _parse_json(it, source=source, stats=stats)
    return _parse_stderr(it, source=source, stats=stats)


def _sub_format(head: Sequence[str]) -> str:
    for line in head:
        s = line.lstrip()
        if not s:
            continue
        if s.startswith("{"):
            return "postgres-json"
        if _TS.match(s) and s[len(_TS.match(s).group(0)) :].startswith(","):  # type: ignore[union-attr]
            return "postgres-csv"
        return "postgres-stderr"
    return "postgres-stderr"


# -- stderr ---------------------------------------------------------------------------------------------------


class _Pending:
    __slots__ = ("line", "prefix", "ms", "kind", "parts", "params")

    def __init__(self, line: int, prefix: str, ms: float, kind: str, first: str) -> None:
        self.line = line
        self.prefix = prefix
        self.ms = ms
        self.kind = kind
        self.parts = [first]
        self.params: str | None = None


def _parse_stderr(lines: Iterable[str], *, source: str, stats: ParseStats) -> Iterator[Entry]:
    pending: _Pending | None = None
    lineno = 0
    for raw in lines:
        lineno += 1
        if raw.startswith(("\t", " ")):  # a continuation line (some log shippers turn the tab into spaces)
            if pending is not None:
                pending.parts.append(raw[1:].rstrip("\r\n") if raw[0] == "\t" else raw.rstrip("\r\n"))
            continue
        line = raw.rstrip("\r\n")
        i = line.find("duration: ")
        if i >= 0 and (m := _DURATION.match(line, i)) is not None:
            if pending is not None:
                entry = _stderr_entry(pending, source)
                if entry is not None:
                    yield entry
            pending = None
            kind = m.group("kind")
            if kind in ("statement", "execute"):
                pending = _Pending(lineno, line[:i], float(m.group("ms")), kind, line[m.end() :])
            continue
        if pending is not None and "DETAIL:  parameters: " in line:
            pending.params = line.split("DETAIL:  parameters: ", 1)[1]
            continue
        if pending is not None:
            entry = _stderr_entry(pending, source)
            if entry is not None:
                yield entry
            pending = None
        if line and _SEVERITY.search(line) is None:
            stats.bad_line(lineno)
    stats.lines += lineno
    if pending is not None:
        entry = _stderr_entry(pending, source)
        if entry is not None:
            yield entry


_ts_cache: dict[str, float | None] = {}


def _timestamp(text: str) -> float | None:
    m = _TS.search(text)
    if m is None:
        return None
    base, frac, zone = m.group(1), m.group(2), m.group(3)
    key = f"{base} {zone}"
    ts = _ts_cache.get(key)
    if ts is None and key not in _ts_cache:
        ts = _to_epoch(base, zone)
        if len(_ts_cache) > 100_000:
            _ts_cache.clear()
        _ts_cache[key] = ts
    if ts is not None and frac:
        ts += float(frac)
    return ts


def _to_epoch(base: str, zone: str | None) -> float | None:
    try:
        dt = datetime.fromisoformat(base.replace("T", " "))
    except ValueError:
        return None
    tz = UTC
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        delta = timedelta(hours=hours, minutes=minutes)
        tz = timezone(delta if zone[0] == "+" else -delta)
    # Named zones other than UTC/GMT (CET, MSK…) are ambiguous abbreviations; we read them as UTC.
    return dt.replace(tzinfo=tz).timestamp()


def prefix_who(prefix: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(user, db, client, application) from a ``log_line_prefix``: ``user=… db=…`` pairs, else ``user@db``."""
    user = db = client = app = None
    # Every key=value pair has an "="; most prefixes have none, and then the regex pass is skipped.
    for key, value in _KV.findall(prefix) if "=" in prefix else ():
        value = value.strip("[]")
        if not value or value == "unknown":
            continue
        if key == "user":
            user = value
        elif key == "db":
            db = value
        elif key in ("client", "host"):
            client = value
        else:
            app = value
    if user is None and db is None:
        head = prefix.rsplit(" LOG:", 1)[0] if " LOG:" in prefix else prefix
        m = _USER_AT_DB.search(head)
        if m and m.group(1) != "[unknown]":
            user, db = m.group(1), m.group(2)
            if db == "[unknown]":
                db = None
    return user, db, client, app


def _stderr_entry(p: _Pending, source: str) -> Entry | None:
    statement = "\n".join(p.parts) if len(p.parts) > 1 else p.parts[0]
    if not statement.strip():
        return None
    prefix = p.prefix
    user, db, client, app = prefix_who(prefix)
    entry = _make(
        source=source,
        line=p.line,
        ts=_timestamp(prefix),
        ms=p.ms,
        statement=statement,
        user=user,
        db=db,
        client=client,
    )
    if p.params is not None:
        entry.extra["parameters"] = p.params[:EXAMPLE_MAX]
    if app:
        entry.extra["application"] = app
    return entry


def _make(
    *,
    source: str,
    line: int,
    ts: float | None,
    ms: float,
    statement: str,
    user: str | None,
    db: str | None,
    client: str | None,
) -> Entry:
    return Entry(
        engine=ENGINE,
        source=source,
        line=line,
        ts=ts,
        duration_ms=ms,
        # A trailing ';' is the client's habit, not part of the shape.
        fingerprint=fingerprint(statement.rstrip().rstrip(";"), dialect="postgres"),
        example=statement[:EXAMPLE_MAX],
        namespace=db,
        db=db,
        user=user,
        client=client,
        operation=operation(statement),
    )


def _split_message(message: str) -> tuple[float, str] | None:
    m = _DURATION.match(message)
    if m is None or m.group("kind") not in ("statement", "execute"):
        return None
    return float(m.group("ms")), message[m.end() :]


# -- csvlog ---------------------------------------------------------------------------------------------------


def _parse_csv(lines: Iterable[str], *, source: str, stats: ParseStats) -> Iterator[Entry]:
    counter = _Counting(lines)
    reader = csv.reader(counter)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            stats.bad_line(start)
            start = counter.n + 1
            continue
        line, start = start, counter.n + 1
        if len(row) < 14 or _TS.match(row[0]) is None:
            if any(cell.strip() for cell in row):
                stats.bad_line(line)
            continue
        if row[11] != "LOG":
            continue
        split = _split_message(row[13])
        if split is None:
            continue
        ms, statement = split
        client = row[4].rsplit(":", 1)[0] if row[4] else None
        entry = _make(
            source=source, line=line, ts=_timestamp(row[0]), ms=ms, statement=statement,
            user=row[1] or None, db=row[2] or None, client=client,
        )
        if len(row) > 14 and row[14].startswith("parameters: "):
            entry.extra["parameters"] = row[14][12:][:EXAMPLE_MAX]
        yield entry
    stats.lines += counter.n


class _Counting:
    """Counts the lines the csv reader pulls, for line numbers of multi-line records."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._it = iter(lines)
        self.n = 0

    def __iter__(self) -> _Counting:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.n += 1
        return line.replace("\0", "")  # csv rejects NUL bytes; they are never meaningful in a log


# -- jsonlog (PostgreSQL 15+) ---------------------------------------------------------------------------------


def _parse_json(lines: Iterable[str], *, source: str, stats: ParseStats) -> Iterator[Entry]:
    lineno = 0
    for line in lines:
        lineno += 1
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            stats.bad_line(lineno)
            continue
        if not isinstance(doc, dict):
            stats.bad_line(lineno)
            continue
        if doc.get("error_severity") != "LOG":
            continue
        message = doc.get("message")
        split = _split_message(message) if isinstance(message, str) else None
        if split is None:
            continue
        ms, statement = split
        ts = doc.get("timestamp")
        entry = _make(
            source=source, line=lineno, ts=_timestamp(ts) if isinstance(ts, str) else None, ms=ms,
            statement=statement, user=_str(doc.get("user")), db=_str(doc.get("dbname")),
            client=_str(doc.get("remote_host")),
        )
        detail = doc.get("detail")
        if isinstance(detail, str) and detail.startswith("parameters: "):
            entry.extra["parameters"] = detail[12:][:EXAMPLE_MAX]
        yield entry
    stats.lines += lineno


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def findings(shapes: Sequence[Shape]) -> list[Finding]:
    """No PostgreSQL-specific codes in the issue; the digest's neutral ones cover it."""
    return []


_CHUNK_START = re.compile(rb"\n(?=\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d|\{\")")


def chunk_start(data: bytes) -> int:
    """Where a new log record starts in ``data`` (cut from the middle of a file), or -1: a line beginning with
    a timestamp (stderr, csvlog) or a JSON object (jsonlog); continuation lines of a statement never do."""
    m = _CHUNK_START.search(data)
    return -1 if m is None else m.start() + 1


def parse_text(
    text: str, *, source: str, stats: ParseStats, fmt: str | None = None, first_line: int = 1
) -> Iterator[Entry]:
    """A chunk of whole records (the worker-process path of the digest)."""
    from casework.diagnostics.slowlog.reader import split_lines

    for entry in parse(split_lines(text), source=source, stats=stats, fmt=fmt):
        if first_line != 1:
            entry.line += first_line - 1
        yield entry
