"""MySQL / MariaDB / Percona Server slow query log.

Entries are cut the way ``pt-query-digest``'s ``SlowLogParser`` cuts them — on ``";\\n#"``, a statement's
closing semicolon followed by the next header — so that an entry here is an event there, multi-line
statements and ``# comment`` lines inside them included. Header lines (``# Time``, ``# User@Host``,
``# Query_time …``, MariaDB's ``# Thread_id``/``Schema``/``QC_hit``/``Rows_affected``/``Full_scan`` and
Percona's extended lines), ``use db;``, ``SET timestamp=…;`` and ``# administrator command:`` are read into the
entry; the server's start-up banner (``mysqld, Version: … started with:`` / ``Tcp port`` / ``Time Id Command``)
is dropped wherever it appears, as pt does.

For speed the module works on blocks of text (``parse_text``): the digest hands it whole chunks of a file, and
:func:`parse` (the line interface of ``entry.py``) only batches lines into such blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from casework.diagnostics.report import Finding
from casework.diagnostics.slowlog.entry import Entry, ParseStats, Shape
from casework.diagnostics.slowlog.fingerprint import fingerprint, operation

ENGINE = "mysql"
FORMATS = ("mysql",)
SEPARATOR = ";\n#"  # pt's $INPUT_RECORD_SEPARATOR: the boundary between two entries
EXAMPLE_MAX = 2000

_TS_LINE = re.compile(r"# Time: ((?:[0-9: ]{15})|(?:[-0-9: T]{19}))")
_UH_LINE = re.compile(r"# User@Host: ([^\[]+|\[[^\[]+\]).*?@ (\S*) \[(.*?)\]\s*(?:Id:\s*(\d+))?")
_BANNER = re.compile(
    r"^(?:T[cC][pP]\s[pP]ort:\s+\d+|[/A-Z].*mysqld,\sVersion.*(?:started\swith:|embedded\slibrary)|Time\s+Id\s+Command).*\n",
    re.M,
)
_BANNER_HINTS = ("Version", "port:", "Port:", "Id Command")
_PROPS_LINE = re.compile(r"# +[A-Z][A-Za-z_]+: \S+")
_PROPS = re.compile(r"(\w+):\s+(\S+|\Z)")
_EMPTY_SCHEMA = re.compile(r"Schema:\s+(?=\w+: )")
_SET_META = ("SET last_insert_id", "SET insert_id", "SET timestamp")
_SET = re.compile(r"SET\s+([^;]*)")
_USE = re.compile(r"use ([^;]+)")
_SNIFF = re.compile(r"^# (?:Query_time: [\d.]+\s+Lock_time:|User@Host: )", re.M)
_INTERNAL_ADMIN = ("Binlog Dump", "Register Slave", "Daemon")


def sniff(head: str) -> int:
    """A slow log has ``# Query_time:`` / ``# User@Host:`` header lines; the banner alone is a weak hint."""
    hits = len(_SNIFF.findall(head))
    if hits >= 2:
        return 95
    if hits == 1:
        return 80
    if "mysqld, Version:" in head or "mariadbd, Version:" in head:
        return 40
    return 0


def parse(
    lines: Iterable[str], *, source: str, stats: ParseStats, fmt: str | None = None
) -> Iterator[Entry]:
    """The ``entry.py`` interface: batch lines into blocks that end on an entry boundary, parse each block."""
    state = _State()
    buf: list[str] = []
    size = 0
    first = 1
    prev_ends_stmt = False
    lineno = 0
    for line in lines:
        lineno += 1
        # A block may end only where pt would cut: before a '#' line that follows a line ending in ';'.
        if size >= 1 << 20 and prev_ends_stmt and line.startswith("#"):
            yield from parse_text("".join(buf), source=source, stats=stats, first_line=first, state=state)
            buf, size, first = [], 0, lineno
        buf.append(line)
        size += len(line)
        prev_ends_stmt = line.rstrip("\r\n").endswith(";")
    if buf:
        yield from parse_text("".join(buf), source=source, stats=stats, first_line=first, state=state)


class _State:
    """What carries over from one entry to the next: MariaDB omits ``# Time`` within a second and MySQL
    writes ``use db;`` only when a connection's database changes."""

    __slots__ = ("ts", "db", "db_by_thread")

    def __init__(self) -> None:
        self.ts: float | None = None
        self.db: str | None = None
        self.db_by_thread: dict[str, str] = {}


def parse_text(
    text: str,
    *,
    source: str,
    stats: ParseStats,
    fmt: str | None = None,
    first_line: int = 1,
    state: _State | None = None,
) -> Iterator[Entry]:
    """Parse a block of whole entries (the first starting at ``first_line``); counts lines into ``stats``."""
    state = state or _State()
    stats.lines += text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    removed: list[tuple[int, int]] = []
    if any(h in text for h in _BANNER_HINTS):
        text, removed = _strip_banner(text)
    pieces = text.split(SEPARATOR)
    line = first_line
    pos = 0  # of the current piece in the banner-free text
    r = 0  # removals (banner lines) already accounted for
    last = len(pieces) - 1
    i = 0
    while i <= last:
        piece = pieces[i]
        while r < len(removed) and removed[r][0] <= pos:
            line += removed[r][1]
            r += 1
        start_line = line
        line += piece.count("\n") + 1
        pos += len(piece) + len(SEPARATOR)
        i += 1
        if not piece.startswith("#"):
            piece = "#" + piece
        if i - 1 == last:
            piece = _TRAILER.sub("", piece, count=1)
        if not piece.strip("#\n"):
            continue
        entry = _entry(piece, source=source, line=start_line, state=state, arg=None)
        if entry is _NO_ARG and i <= last:
            # pt's special case: a header with no statement; the statement is the next ';'-terminated line
            # (an administrator command written without its '#'), or there was none at all.
            nxt = pieces[i]
            cut = nxt.find(";\n")
            head = nxt if cut < 0 else nxt[: cut + 2]
            if _NULL_QUERY.match(head):
                arg = "/* No query */"
            else:
                arg = head[:-2] if head.endswith(";\n") else head
                arg = arg.lstrip()
                rest = "" if cut < 0 else nxt[cut + 2 :]
                line += nxt.count("\n") - rest.count("\n") + (0 if rest else 1)
                pos += len(nxt) - len(rest) + (0 if rest else len(SEPARATOR))
                if rest:
                    pieces[i] = rest
                else:
                    i += 1
            entry = _entry(piece, source=source, line=start_line, state=state, arg=arg)
        if entry is None or entry is _NO_ARG:
            stats.bad_line(start_line)
        else:
            yield entry


def _strip_banner(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Drop the server's start-up banner lines; return where (in the new text) and how many lines went.

    Banner lines are rare, so find candidates with ``str.find`` and run the (backtracking) regex on those
    lines only — running it over every line of a large block costs more than parsing the block."""
    spans: set[tuple[int, int]] = set()
    for needle in _BANNER_HINTS:
        i = text.find(needle)
        while i >= 0:
            start = text.rfind("\n", 0, i) + 1
            m = _BANNER.match(text, start)
            if m is not None:
                spans.add((m.start(), m.end()))
            nl = text.find("\n", i)
            if nl < 0:
                break
            i = text.find(needle, nl)
    if not spans:
        return text, []
    out: list[str] = []
    removed: list[tuple[int, int]] = []
    prev = size = 0
    for a, b in sorted(spans):
        if a < prev:
            continue
        out.append(text[prev:a])
        size += a - prev
        removed.append((size, 1))
        prev = b
    out.append(text[prev:])
    return "".join(out), removed


class _NoArg:
    """Sentinel: the header was complete but no statement followed it in the same piece."""


_NO_ARG: Any = _NoArg()
_TRAILER = re.compile(r";\n#?(?=\n?\Z)")  # pt's s/;\n#?\Z//
_NULL_QUERY = re.compile(r"\s*[A-Z][a-z_]+: ")


_HEADER = re.compile(r"(?:(?:#|use |SET (?:last_insert_id|insert_id|timestamp))[^\n]*(?:\n|\Z))*")
_FAST_PROPS = re.compile(r"(Schema|Thread_id|Full_scan|Full_join): +(\S*)")
_QT_LINE = re.compile(r"^# Query_time: (\S+) +Lock_time: (\S+) +Rows_sent: (\d+) +Rows_examined: (\d+)", re.M)
_SET_TS = re.compile(r"^SET timestamp=(\d+(?:\.\d+)?)", re.M)
_USE_DB = re.compile(r"^use ([^;\n]+)", re.M)


def _entry(stmt: str, *, source: str, line: int, state: _State, arg: str | None) -> Entry | None:
    """Fast path for the common shape of an entry (header lines, then the statement); anything unusual —
    an administrator command, a header-only piece, several Time lines — goes through pt's line-by-line rules."""
    if arg is None and "administrator command" not in stmt:
        m = _HEADER.match(stmt)
        end = m.end() if m else 0
        if 0 < end < len(stmt) and stmt.count("# Time:", 0, end) <= 1:
            header = stmt[:end]
            qt = _QT_LINE.search(header)
            if qt is not None:
                props = {"Query_time": qt.group(1), "Lock_time": qt.group(2), "Rows_sent": qt.group(3),
                         "Rows_examined": qt.group(4)}
                if "Schema:" in header or "Thread_id:" in header or "Full_" in header:
                    for key, value in _FAST_PROPS.findall(header):
                        props.setdefault(key, value)
                return _fast_entry(stmt[end:], header, props, source=source, line=line, state=state)
    return _slow_entry(stmt, source=source, line=line, state=state, arg=arg)


_time_cache: dict[str, float | None] = {}


def _cached_time(value: str) -> float | None:
    ts = _time_cache.get(value)
    if ts is None and value not in _time_cache:
        if len(_time_cache) > 10_000:
            _time_cache.clear()
        ts = _time_cache[value] = _parse_time(value)
    return ts


def _fast_entry(arg: str, header: str, props: dict[str, str], *, source: str, line: int, state: _State) -> Entry | None:
    ts = None
    if "SET timestamp=" in header:
        m = _SET_TS.search(header)
        if m:
            ts = float(m.group(1))
    if ts is None and "# Time:" in header:
        m = _TS_LINE.search(header)
        if m:
            ts = _cached_time(m.group(1))
    user = client = thread = None
    if "User@Host:" in header:
        uh = _UH_LINE.search(header)
        if uh:
            user, client, thread, _ = _user_host(uh)
    db = None
    if "\nuse " in header or header.startswith("use "):
        m = _USE_DB.search(header)
        if m:
            db = m.group(1).strip("`")
    if not db:
        schema = props.get("Schema")
        if schema and not schema.endswith(":"):
            db = schema
    return _build(arg, props, ts=ts, user=user, client=client, thread=thread or props.get("Thread_id"), db=db,
                  admin=False, source=source, line=line, state=state)


def _slow_entry(stmt: str, *, source: str, line: int, state: _State, arg: str | None) -> Entry | None:
    props: dict[str, str] = {}
    ts = None
    user = client = thread = db = None
    got_ts = got_uh = got_db = got_set = False
    admin = arg is not None and arg != "/* No query */"
    pos = 0
    n = len(stmt)
    while pos < n:
        nl = stmt.find("\n", pos)
        end = n if nl < 0 else nl
        text = stmt[pos:end]
        if text.startswith("#"):
            if not got_ts and text.startswith("# Time:"):
                m = _TS_LINE.match(text)
                if m:
                    ts = _parse_time(m.group(1))
                    got_ts = True
                uh = None if got_uh else _UH_LINE.search(text)
                if uh:
                    user, client, thread, got_uh = _user_host(uh)
            elif not got_uh and text.startswith("# User@Host:"):
                uh = _UH_LINE.search(text)
                if uh:
                    user, client, thread, got_uh = _user_host(uh)
            elif arg is None and text.startswith("# administrator command:"):
                arg = text[2:].lstrip()
                admin = True
            elif _PROPS_LINE.match(text):
                if "Schema:" in text:
                    text = _EMPTY_SCHEMA.sub("", text)
                props.update(_PROPS.findall(text))
        elif text.startswith("use "):
            if not got_db:
                m = _USE.match(text)
                if m:
                    db = m.group(1).strip("`")
                    got_db = True
        elif text.startswith(_SET_META):
            if not got_set:
                m = _SET.match(text)
                if m and m.group(1).startswith("timestamp"):
                    try:
                        ts = float(m.group(1).split("=", 1)[1])
                    except (IndexError, ValueError):
                        pass
                got_set = True
        else:  # the statement: the rest of the piece (it overrides an admin command, as in pt)
            arg = stmt[pos:]
            admin = False
            break
        pos = end + 1
    if arg is None:
        return _NO_ARG
    # pt counts any event with a statement; we also want some header, so that stray text is "unparsed".
    if not arg or not (props or got_uh or got_ts or admin):
        return None
    schema = props.get("Schema")
    if schema and not db:
        db = schema
    return _build(arg, props, ts=ts, user=user, client=client, thread=thread or props.get("Thread_id"), db=db,
                  admin=admin, source=source, line=line, state=state)


def _build(arg: str, props: dict[str, str], *, ts: float | None, user: str | None, client: str | None,
           thread: str | None, db: str | None, admin: bool, source: str, line: int, state: _State) -> Entry | None:
    try:
        duration_ms = float(props.get("Query_time", 0) or 0) * 1000.0
        lock_ms = float(props.get("Lock_time", 0) or 0) * 1000.0
    except ValueError:
        return None
    if db:
        state.db = db
        if thread:
            state.db_by_thread[thread] = db
    else:
        db = state.db_by_thread.get(thread) if thread else state.db
    if ts is None:
        ts = state.ts
    else:
        state.ts = ts
    plan = None
    if props.get("Full_scan") == "Yes":
        plan = "Full_scan"
    elif props.get("Full_join") == "Yes":
        plan = "Full_join"
    internal = admin and any(arg.startswith("administrator command: " + a) for a in _INTERNAL_ADMIN)
    return Entry(
        engine=ENGINE,
        source=source,
        line=line,
        ts=ts,
        duration_ms=duration_ms,
        fingerprint=fingerprint(arg, dialect="mysql"),
        example=arg[:EXAMPLE_MAX],
        namespace=db,
        db=db,
        user=user,
        client=client,
        operation="ADMIN" if admin else operation(arg),
        examined=_int(props.get("Rows_examined")),
        returned=_int(props.get("Rows_sent")),
        lock_ms=lock_ms,
        plan=plan,
        internal=internal,
        internal_reason="replication" if internal else None,
    )


def _user_host(m: re.Match[str]) -> tuple[str | None, str | None, str | None, bool]:
    user = m.group(1).strip()
    if user.startswith("[") and user.endswith("]"):
        user = user[1:-1]
    return user or None, (m.group(3) or m.group(2) or None), m.group(4), True


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _parse_time(value: str) -> float | None:
    value = value.strip()
    try:
        if "-" in value:  # MySQL 5.7+: 2016-07-20T18:13:25.698433Z
            return datetime.fromisoformat(value.replace("T", " ")[:19]).replace(tzinfo=UTC).timestamp()
        # MariaDB / MySQL 5.6: 071218 11:48:27 (server local time; we have nothing better than UTC)
        day, clock = value.split(None, 1)
        return datetime.strptime(f"{day} {clock.strip()}", "%y%m%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def findings(shapes: Sequence[Shape]) -> list[Finding]:
    """MySQL has no engine-specific codes in the issue; the digest's neutral ones cover it."""
    return []


def chunk_start(data: bytes) -> int:
    """Where the first whole entry starts in ``data`` (cut from the middle of a file), or -1: after pt's
    record separator, so a chunk starts exactly where pt-query-digest would start an event."""
    i = data.find(b";\n#")
    return -1 if i < 0 else i + 2
