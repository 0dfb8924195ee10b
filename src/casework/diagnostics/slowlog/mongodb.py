"""MongoDB slow operations: parser (four input formats) and MongoDB-specific findings.

Formats (``FORMATS``; auto-detected from the first non-blank line, ``fmt`` forces one):

- ``mongodb-export`` — the managed service's slow-log export of the seed ticket: tab-separated host, db,
  profile document (extended JSON), duration ms, docs examined, keys examined, returned, start time, user;
- ``mongodb-json`` — mongod 4.4+ structured logs (one JSON object per line, ``"msg":"Slow query"``);
- ``mongodb-text`` — mongod ≤ 4.2 text logs (``… command shop.orders command: find {…} … 123ms``);
- ``mongodb-profile`` — ``system.profile`` documents exported by mongoexport: JSON lines, a JSON array, or
  pretty-printed documents.

``parse`` is a pure function of its lines (no state outside the call but bounded memos of pure helpers, which
never change a result), so the digest may run it over chunks of one file in worker processes — except
pretty-printed/array profile exports, whose documents span lines and which are small anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from casework.diagnostics.report import Finding, Severity
from casework.diagnostics.slowlog import mongodb_text, speedups
from casework.diagnostics.slowlog.entry import Entry, ParseStats, Shape, detect_and_number
from casework.diagnostics.slowlog.mongodb_internal import OPLOG_TAILING, classify
from casework.diagnostics.slowlog.mongodb_shape import (
    command_shape,
    filter_fields,
    fingerprint,
    render,
    suggested_index,
)
from casework.i18n import gettext as _
from casework.i18n import gettext_noop

ENGINE = "mongodb"
FORMATS = ("mongodb-export", "mongodb-json", "mongodb-text", "mongodb-profile")

EXAMPLE_MAX = 2000  # characters of the logged operation kept as the shape's example

_TEXT_LINE_RE = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S*|\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?) "
    r"(?:[FEWID]\d? +[A-Z-]+ +)?\[",
    re.MULTILINE,
)


# --- sniffing ---------------------------------------------------------------------------------------------


def sniff(head: str) -> int:
    """Confidence 0..100 that ``head`` (the first ~64 KiB) is a MongoDB slow log of a supported format."""
    sample = head[:65536]
    if '{"t":{"$date"' in sample:
        return 100 if '"Slow query"' in sample else 90
    if re.search(r'\t\{"op":\s*"', sample):
        return 95
    stripped = sample.lstrip()
    if stripped[:1] in ("{", "[") and re.search(r'"op"\s*:\s*"', sample) and re.search(r'"ns"\s*:', sample):
        return 90 if "millis" in sample else 70
    text_lines = len(_TEXT_LINE_RE.findall(sample))
    if text_lines:
        slow_ops = len(
            re.findall(r"\] (?:command|query|update|remove|getmore|insert) \S+ .*\d+ms$", sample, re.M)
        )
        return 90 if slow_ops else 60
    return 0


def detect_format(line: str) -> str | None:
    """The sub-format a first non-blank line belongs to; None when it is none of ours."""
    s = line.lstrip()
    if s.startswith('{"t":') or s.startswith('{"t" :'):
        return "mongodb-json"
    if s.startswith(("{", "[")):
        return "mongodb-profile"
    if '\t{"op"' in line or '\t{ "op"' in line:
        return "mongodb-export"
    if _TEXT_LINE_RE.match(s):
        return "mongodb-text"
    return None


# --- helpers shared by the formats ------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A number from plain or extended JSON (``{"$numberLong": "5"}``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict) and value:
        inner = next(iter(value.values()))
        try:
            return float(inner)
        except (TypeError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _int(value: Any) -> int | None:
    n = _num(value)
    return int(n) if n is not None else None


def _lock_wait_ms(locks: Any) -> float | None:
    """Sum of ``timeAcquiringMicros`` over every lock resource and mode, in ms."""
    if not isinstance(locks, dict):
        return None
    total = 0.0
    for resource in locks.values():
        if isinstance(resource, dict):
            waits = resource.get("timeAcquiringMicros")
            if isinstance(waits, dict):
                for v in waits.values():
                    total += _num(v) or 0.0
    return total / 1000.0 if total else None


def _date(value: Any) -> float | None:
    """Epoch seconds from ``{"$date": "…"}`` / ``{"$date": {"$numberLong": ms}}`` / an ISO string."""
    if isinstance(value, dict):
        value = value.get("$date")
        if isinstance(value, dict):
            ms = _num(value)
            return ms / 1000.0 if ms is not None else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value / 1000.0
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)  # the export gives no zone: read as UTC (documented)
        return dt.timestamp()
    return None


# mongod's own stamps ("2024-03-11T01:00:00.367+00:00"): the minute's start is computed once (by the same
# fromisoformat as _date) and the seconds added in integer microseconds, then divided as datetime.timestamp()
# divides (exact int / 10**6), so the float is the very one _date returns. Anything else goes to _date.
_LOG_DATE_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}):([0-5][0-9])(?:\.([0-9]{3}|[0-9]{6}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MINUTE_STARTS: dict[str, int] = {}  # a memo of a pure function: results never depend on what is in it


_SECONDS = {f"{i:02d}": i * 1_000_000 for i in range(60)}  # "07" -> µs: ASCII digits only, as fromisoformat
_MILLIS = {f"{i:03d}": i * 1000 for i in range(1000)}


def _log_date_py(value: Any) -> float | None:
    """``_date(value)`` for a 4.4+ log's ``"t"``, from a per-minute cache. The reference of the C ``log_date``
    (``_speedups.c``), used instead when the extension is in use: that one reads cached minutes and calls this
    for the rest."""
    if type(value) is dict:
        text = value.get("$date")
        if type(text) is str:
            n = len(text)
            if (n == 29 or n == 24) and text[16] == ":" and text[19] == ".":
                # "<minute>:SS.mmm<zone>" whose minute and zone the regex below has already read: the same
                # stamp the regex would match, without running it.
                start = _MINUTE_STARTS.get(text[:16] + text[23:])
                sec = _SECONDS.get(text[17:19])
                ms = _MILLIS.get(text[20:23])
                if start is not None and sec is not None and ms is not None:
                    return (start + sec + ms) / 1_000_000
            m = _LOG_DATE_RE.fullmatch(text)
            if m is not None:
                minute, sec_text, frac, zone = m.groups()
                key = minute + zone
                start = _MINUTE_STARTS.get(key)
                if start is None:
                    try:
                        dt = datetime.fromisoformat(minute + ":00" + ("+00:00" if zone == "Z" else zone))
                    except ValueError:
                        return _date(value)
                    if len(_MINUTE_STARTS) > 10_000:
                        _MINUTE_STARTS.clear()
                    start = _MINUTE_STARTS[key] = (dt - _EPOCH) // _MICROSECOND
                micros = start + int(sec_text) * 1_000_000
                if frac:
                    micros += int(frac) * 1000 if len(frac) == 3 else int(frac)
                return micros / 1_000_000
    return _date(value)


def _tailing(*docs: Any) -> bool:
    return any(isinstance(d, dict) and d.get("tailable") is True and d.get("awaitData") is True for d in docs)


_KNOWN_OPS = frozenset(
    {
        "find",
        "aggregate",
        "count",
        "distinct",
        "findandmodify",
        "mapreduce",
        "update",
        "remove",
        "delete",
        "insert",
        "getmore",
        "geonear",
        "killcursors",
    }
)


def _shape_of_py(op: str | None, ns: str | None, command: Any, orig: Any) -> tuple[str, str]:
    """(operation, fingerprint) of one operation from its command and the getMore's originating command. The
    reference of the C ``shape_of`` (``_speedups.c``), used instead when the extension is in use."""
    if not isinstance(command, dict):
        command = {}
    if (
        op in ("remove", "delete")
        and command
        and "q" not in command
        and next(iter(command)) not in ("delete",)
    ):
        command = {"q": command}  # legacy ops log the bare filter
    name, shape = command_shape(command, op=op)
    # Known operations read lower-case (find, getmore…); other commands keep their own spelling (isMaster).
    lower = name.lower()
    operation = lower if lower in _KNOWN_OPS else name
    if operation == "getmore" or op == "getmore":
        operation = "getmore"
        if isinstance(orig, dict) and orig:
            orig_name, orig_shape = command_shape(orig, op="query")
            shape = f"{orig_name.lower()} {orig_shape}".rstrip()
    elif op == "insert" and not shape:
        operation = "insert"
    return operation, fingerprint(op=operation, ns=ns, shape=shape)


_shape_of = _shape_of_py
_log_date = _log_date_py
if speedups.ext is not None:
    speedups.ext.mongodb_setup(_KNOWN_OPS, _shape_of_py, _MINUTE_STARTS, _log_date_py)
    _shape_of = speedups.ext.shape_of
    _log_date = speedups.ext.log_date


def _client_host(remote: Any) -> str | None:
    if not isinstance(remote, str) or not remote:
        return None
    host, sep, port = remote.rpartition(":")
    return host if sep and port.isdigit() else remote


def _await_not_lock(entry: Entry) -> Entry:
    """On a tailing getMore, mongod reports the awaitData wait for new oplog entries as timeAcquiringMicros
    (the seed: 808.7 ms of 808 ms). That is not lock contention, so it is kept as ``extra["await_ms"]`` (summed
    per shape by the digest) instead of ``lock_ms`` — else lock-wait-dominant would blame locks for it."""
    if entry.internal_reason == OPLOG_TAILING and entry.lock_ms:
        entry.extra["await_ms"] = entry.lock_ms
        entry.lock_ms = None
    return entry


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXAMPLE_MAX else text[:EXAMPLE_MAX] + "…"


# --- the four formats --------------------------------------------------------------------------------------

# Entry's fields in declaration order. The per-line paths build entries positionally: a keyword call of the
# 19-field dataclass costs about three times as much. Should the order ever change, _new_entry maps the values
# by name instead (still right, only slower); tests/test_slowlog_mongodb_json.py checks the order.
ENTRY_FIELDS = (
    "engine", "source", "line", "ts", "duration_ms", "fingerprint", "example", "namespace", "db", "user",
    "client", "operation", "examined", "returned", "lock_ms", "plan", "internal", "internal_reason", "extra",
)  # fmt: skip


def _entry_by_name(*values: Any) -> Entry:
    return Entry(**dict(zip(ENTRY_FIELDS, values, strict=True)))


_new_entry = Entry if tuple(f.name for f in fields(Entry)) == ENTRY_FIELDS else _entry_by_name


_CLASSIFIED: dict[tuple[Any, ...], str | None] = {}  # memo of classify (a pure function of these arguments)
_CLIENT_HOSTS: dict[str, str | None] = {}  # memo of _client_host (a pure function)
_UNSEEN = object()


def _json_attr_py(doc: dict[str, Any], attr: dict[str, Any]) -> tuple[Any, ...]:
    """The per-line reading of a 4.4+ log entry's ``attr`` (and ``ctx``): ``(ns, operation, fingerprint, user, ctx,
    classify's memo key, plan, extra, docs examined, returned)``. The reference of the C ``json_attr``
    (``_speedups.c``), used instead when the extension is in use."""
    get = attr.get
    ns = get("ns")
    ns = ns if isinstance(ns, str) else None
    command = get("command")
    orig = get("originatingCommand")
    op_type = get("type")
    operation, fp = _shape_of(
        op_type if op_type in ("update", "remove", "delete") else None, ns, command, orig
    )
    ctx = doc.get("ctx")
    ctx = ctx if isinstance(ctx, str) else None
    user = get("user")
    user = user if isinstance(user, str) else None
    tailing = (
        isinstance(command, dict) and command.get("tailable") is True and command.get("awaitData") is True
    ) or (isinstance(orig, dict) and orig.get("tailable") is True and orig.get("awaitData") is True)
    # classify reads ctx only for TTLMonitor/Balancer/ChunkSplitter/LogicalSessionCache threads: every other
    # connection ("conn123") classifies as no ctx, so they share one memo entry.
    ckey = (
        ns,
        operation,
        user,
        None if ctx is None or (ctx[:4] == "conn" and "Balancer" not in ctx) else ctx,
        tailing,
    )
    plan = get("planSummary")
    extra: dict[str, Any] = {"format": "mongodb-json"}
    keys = get("keysExamined")
    if type(keys) is not int:
        keys = _int(keys)
    if keys is not None:
        extra["keys_examined"] = keys
    app = get("appName")
    if isinstance(app, str):
        extra["app"] = app
    examined = get("docsExamined")
    if type(examined) is not int:
        examined = _int(examined)
    returned = get("nreturned")
    if type(returned) is not int:
        returned = _int(returned)
    return (ns, operation, fp, user, ctx, ckey, plan if isinstance(plan, str) else None, extra, examined,
            returned)


_json_attr = _json_attr_py
if speedups.ext is not None:
    speedups.ext.json_attr_setup(_json_attr_py, _int)
    _json_attr = speedups.ext.json_attr


def _json_log_entry(line: str, lineno: int, source: str, stats: ParseStats) -> Entry | None:
    # The hot path of 4.4+ logs (once per line): the helpers' common cases are inlined — plain ints and floats
    # (what orjson gives for mongod's counters) skip _num/_int, and the rest goes through the same helpers.
    if '"Slow query"' not in line:
        if not line.lstrip().startswith("{"):
            stats.bad_line(lineno)  # a 4.4+ log is JSON on every line
        return None
    try:
        doc = orjson.loads(line)
        attr = doc["attr"]
        duration = attr["durationMillis"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        stats.bad_line(lineno)
        return None
    if type(duration) is not int and type(duration) is not float:
        duration = _num(duration)
    if duration is None or not isinstance(attr, dict):
        stats.bad_line(lineno)
        return None
    ns, operation, fp, user, ctx, ckey, plan, extra, examined, returned = _json_attr(doc, attr)
    reason = _CLASSIFIED.get(ckey, _UNSEEN)
    if reason is _UNSEEN:
        if len(_CLASSIFIED) > 20_000:
            _CLASSIFIED.clear()
        reason = _CLASSIFIED[ckey] = classify(ns=ns, op=operation, user=user, ctx=ctx, tailing=ckey[4])
    get = attr.get
    # A key is in the decoded document only if its name is in the line, literally or \u-escaped.
    lock_ms = _lock_wait_ms(get("locks")) if "timeAcquiringMicros" in line or "\\u" in line else None
    if reason == OPLOG_TAILING and lock_ms:
        extra["await_ms"] = lock_ms  # see _await_not_lock
        lock_ms = None
    example = line.strip()
    if len(example) > EXAMPLE_MAX:
        example = example[:EXAMPLE_MAX] + "…"
    remote = get("remote")
    if type(remote) is str:  # one connection's address on many lines: its host is read once
        client = _CLIENT_HOSTS.get(remote, _UNSEEN)
        if client is _UNSEEN:
            if len(_CLIENT_HOSTS) > 20_000:
                _CLIENT_HOSTS.clear()
            client = _CLIENT_HOSTS[remote] = _client_host(remote)
    else:
        client = _client_host(remote)
    return _new_entry(
        ENGINE,
        source,
        lineno,
        _log_date(doc.get("t")),
        float(duration),
        fp,
        example,
        ns,
        ns.partition(".")[0] if ns else None,
        user,
        client,
        operation,
        examined,
        returned,
        lock_ms,
        plan,
        reason is not None,
        reason,
        extra,
    )


def _profile_entry(
    doc: Any,
    *,
    lineno: int,
    source: str,
    example: str,
    fmt: str,
    overrides: dict[str, Any] | None = None,
) -> Entry | None:
    """One ``system.profile`` document (also the third column of an export row) → Entry."""
    if not isinstance(doc, dict):
        return None
    o = overrides or {}
    op = doc.get("op") if isinstance(doc.get("op"), str) else None
    ns = doc.get("ns") if isinstance(doc.get("ns"), str) else None
    command = doc.get("command")
    if not isinstance(command, dict):
        command = doc.get("query")  # ≤ 3.4 profiles keep the command (or the filter) in "query"
    if op == "update" and isinstance(doc.get("updateobj"), dict):
        command = {"q": command if isinstance(command, dict) else {}, "u": doc["updateobj"]}
    orig = doc.get("originatingCommand")
    operation, fp = _shape_of(
        op if op in ("query", "update", "remove", "delete", "getmore", "insert") else None, ns, command, orig
    )
    duration = o.get("duration_ms")
    if duration is None:
        duration = _num(doc.get("millis"))
    if duration is None:
        return None
    user = o.get("user") or doc.get("user")
    user = user if isinstance(user, str) and user else None
    if user is None and isinstance(doc.get("allUsers"), list) and doc["allUsers"]:
        first = doc["allUsers"][0]
        if isinstance(first, dict) and isinstance(first.get("user"), str):
            user = first["user"]
    reason = classify(ns=ns, op=operation, user=user, tailing=_tailing(command, orig))
    plan = doc.get("planSummary")
    extra: dict[str, Any] = {"format": fmt}
    keys = o.get("keys_examined", _int(doc.get("keysExamined")))
    if keys is not None:
        extra["keys_examined"] = keys
    ts = o.get("ts")
    if ts is None:
        ts = _date(doc.get("ts"))
    db = o.get("db") or (ns.partition(".")[0] if ns else None)
    return _await_not_lock(
        Entry(
            engine=ENGINE,
            source=source,
            line=lineno,
            ts=ts,
            duration_ms=float(duration),
            fingerprint=fp,
            example=_trim(example),
            namespace=ns,
            db=db,
            user=user,
            client=o.get("client") or _client_host(doc.get("client")),
            operation=operation,
            examined=o.get("examined", _int(doc.get("docsExamined"))),
            returned=o.get("returned", _int(doc.get("nreturned"))),
            lock_ms=_lock_wait_ms(doc.get("locks")),
            plan=plan if isinstance(plan, str) else None,
            internal=reason is not None,
            internal_reason=reason,
            extra=extra,
        )
    )


def _export_entry(line: str, lineno: int, source: str, stats: ParseStats) -> Entry | None:
    cols = line.rstrip("\r\n").split("\t")
    if len(cols) < 3 or not cols[2].lstrip().startswith("{"):
        if line.strip():
            stats.bad_line(lineno)
        return None
    try:
        doc = orjson.loads(cols[2])
    except orjson.JSONDecodeError:
        stats.bad_line(lineno)
        return None

    def col(i: int) -> str | None:
        return cols[i].strip() if len(cols) > i and cols[i].strip() else None

    overrides: dict[str, Any] = {"client": col(0), "db": col(1), "user": col(8)}
    for key, i in (("duration_ms", 3), ("examined", 4), ("keys_examined", 5), ("returned", 6)):
        value = _num(col(i)) if col(i) else None
        if value is not None:
            overrides[key] = float(value) if key == "duration_ms" else int(value)
    if col(7):
        overrides["ts"] = _date(col(7))
    entry = _profile_entry(
        doc, lineno=lineno, source=source, example=cols[2], fmt="mongodb-export", overrides=overrides
    )
    if entry is None:
        stats.bad_line(lineno)
    return entry


def _text_entry(
    line: str, lineno: int, source: str, stats: ParseStats, cache: dict[str, Any]
) -> Entry | None:
    parts = mongodb_text.split_line(line)
    if parts is None:
        if line.strip() and not _TEXT_LINE_RE.match(line):
            stats.bad_line(lineno)
        return None
    key = parts.op + " " + parts.ns + " " + mongodb_text.skeleton(parts.doc_text)
    if parts.orig_text:
        key += "\x00" + mongodb_text.skeleton(parts.orig_text)
    cached = cache.get(key)
    if cached is None:
        command = mongodb_text.shell_to_python(parts.doc_text) if parts.doc_text else {}
        orig = mongodb_text.shell_to_python(parts.orig_text) if parts.orig_text else None
        legacy_op = parts.op if parts.op != "command" else None
        if command is None:  # unreadable document: fall back to a text shape, still one stable fingerprint
            operation = parts.op
            fp = fingerprint(op=operation, ns=parts.ns, shape=mongodb_text.text_shape(parts.doc_text))
            tailing = False
        else:
            operation, fp = _shape_of(legacy_op, parts.ns, command, orig)
            tailing = _tailing(command, orig)
        if len(cache) > 20_000:
            cache.clear()  # bounded: a log of unique documents must not grow memory without end
        cached = cache[key] = (operation, fp, tailing)
    operation, fp, tailing = cached
    reason = classify(ns=parts.ns, op=operation, ctx=parts.ctx, tailing=tailing)
    stats_ = parts.stats
    examined = stats_.get("docsExamined", stats_.get("nscannedObjects", stats_.get("nscanned")))
    extra: dict[str, Any] = {"format": "mongodb-text"}
    if "keysExamined" in stats_:
        extra["keys_examined"] = stats_["keysExamined"]
    if parts.app:
        extra["app"] = parts.app
    return _await_not_lock(
        _new_entry(
            ENGINE,
            source,
            lineno,
            parts.ts,
            parts.duration_ms,
            fp,
            _trim(line),
            parts.ns,
            parts.ns.partition(".")[0],
            None,
            None,
            operation,
            examined,
            stats_.get("nreturned"),
            parts.lock_ms,
            parts.plan,
            reason is not None,
            reason,
            extra,
        )
    )


def _profile_documents(numbered: Iterable[tuple[int, str]], stats: ParseStats) -> Iterator[tuple[int, str]]:
    """Top-level JSON objects from JSON lines, a JSON array or pretty-printed documents, with start lines."""
    buf: list[str] = []
    start = 0
    depth = 0
    in_string = False
    escaped = False
    for lineno, line in numbered:
        if depth == 0 and not buf:
            s = line.strip().rstrip(",")
            if s.startswith("["):
                s = s[1:].lstrip()
            if s.endswith("]") and not s.endswith("}]") and s.count("[") < s.count("]"):
                s = s[:-1].rstrip().rstrip(",")
            if not s:
                continue
            if s.startswith("{") and s.endswith("}"):
                yield lineno, s  # the common case: one document per line
                continue
            if not s.startswith("{"):
                stats.bad_line(lineno)
                continue
            start = lineno
        buf.append(line)
        for ch in line:  # documents spanning lines are rare and small: a plain scan is fine
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth <= 0:
                    text = "".join(buf).strip().lstrip("[").strip().rstrip("]").strip().rstrip(",")
                    yield start, text
                    buf.clear()
                    depth = 0
                    in_string = False
                    break
    if buf:
        stats.bad_line(start)


def parse(
    lines: Iterable[str],
    *,
    source: str,
    stats: ParseStats,
    fmt: str | None = None,
) -> Iterator[Entry]:
    """Entries from MongoDB slow-log lines (line endings kept; numbering starts at 1)."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown MongoDB format {fmt!r} (one of {', '.join(FORMATS)})")
    fmt, numbered = detect_and_number(
        lines, fmt=fmt, detect=lambda line: detect_format(line) or "mongodb-text", stats=stats
    )
    if fmt is None:
        return

    if fmt == "mongodb-profile":
        for lineno, text in _profile_documents(numbered, stats):
            try:
                doc = orjson.loads(text)
            except orjson.JSONDecodeError:
                stats.bad_line(lineno)
                continue
            entry = _profile_entry(doc, lineno=lineno, source=source, example=text, fmt=fmt)
            if entry is None:
                stats.bad_line(lineno)
            else:
                yield entry
        return
    if fmt == "mongodb-json":
        for lineno, line in numbered:
            entry = _json_log_entry(line, lineno, source, stats)
            if entry is not None:
                yield entry
        return
    if fmt == "mongodb-export":
        for lineno, line in numbered:
            entry = _export_entry(line, lineno, source, stats)
            if entry is not None:
                yield entry
        return
    cache: dict[str, Any] = {}
    for lineno, line in numbered:
        entry = _text_entry(line, lineno, source, stats, cache)
        if entry is not None:
            yield entry


# --- chunked digest of large files (pipeline.py) -------------------------------------------------------------

_CHUNKABLE = ("mongodb-json", "mongodb-text", "mongodb-export")


def chunk_format(head: str, fmt: str | None) -> str | None:
    """The sub-format worker processes should parse chunks of this file with, or None when the file must be
    streamed whole: profile exports may be pretty-printed (documents span lines); the other formats are one
    entry per line, so any line boundary is an entry boundary."""
    if fmt is None:
        for line in head.split("\n"):
            if line.strip():
                fmt = detect_format(line) or "mongodb-text"
                break
    return fmt if fmt in _CHUNKABLE else None


def chunk_start(data: bytes) -> int:
    """Where the first whole line starts in ``data`` (cut from the middle of a file), or -1."""
    i = data.find(b"\n")
    return -1 if i < 0 else i + 1


def parse_text(
    text: str, *, source: str, stats: ParseStats, fmt: str | None = None, first_line: int = 1
) -> Iterator[Entry]:
    """A chunk of whole lines (the worker-process path of the digest)."""
    from casework.diagnostics.slowlog.reader import split_lines

    if fmt == "mongodb-json":
        # The same lines as split_lines gives parse (cut on "\n" only, a last line without one kept), without
        # copying each to re-append its "\n" (the entry reads nothing of the line's end but whitespace) and
        # without parse's generator layers: 4.4+ logs are the big ones.
        lines = text.split("\n")
        if not lines[-1]:
            lines.pop()
        offset = first_line - 1
        for lineno, line in enumerate(lines, 1):
            entry = _json_log_entry(line, lineno + offset, source, stats)
            if entry is not None:
                yield entry
        stats.lines += len(lines)
        return
    for entry in parse(split_lines(text), source=source, stats=stats, fmt=fmt):
        if first_line != 1:
            entry.line += first_line - 1
        yield entry


# --- findings ---------------------------------------------------------------------------------------------

_MAXTIME_RE = re.compile(r'maxTimeMS"?\s*:\s*(?:\{\s*"\$numberLong"\s*:\s*")?(\d+)')


def _mark(shape: Shape, code: str) -> None:
    if code not in shape.codes:
        shape.codes.append(code)


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.1f}"


def _top(counter: dict[str, int]) -> str:
    return ", ".join(k for k, _ in sorted(counter.items(), key=lambda kv: -kv[1])[:3]) or "-"


def _oplog_finding(shapes: list[Shape]) -> Finding:
    count = sum(s.count for s in shapes)
    total = sum(s.total_ms for s in shapes)
    worst = max(shapes, key=lambda s: s.max_ms)
    users: dict[str, int] = {}
    clients: dict[str, int] = {}
    for s in shapes:
        for k, v in s.users.items():
            users[k] = users.get(k, 0) + v
        for k, v in s.clients.items():
            clients[k] = clients.get(k, 0) + v
    m = _MAXTIME_RE.search(worst.example)
    max_time = int(m.group(1)) if m else None
    lock = sum(s.lock_ms + float(s.extra.get("await_ms", 0) or 0) for s in shapes)
    detail = _(
        "{count} slow entries ({total} ms in all) are getMore/find on local.oplog.rs by {users}: a secondary "
        "(or a change stream) tailing the primary's oplog to replicate its writes — the server's own work, "
        "not the customer's queries. A tailable awaitData cursor waits on the server for new oplog entries "
        "before it answers, so its duration is mostly waiting, not work: the slowest took {max} ms"
    ).format(count=count, total=_ms(total), users=_top(users), max=_ms(worst.max_ms))
    if max_time:
        detail += _(" while its getMore may wait up to maxTimeMS {max_time} ms").format(max_time=max_time)
    detail += "."
    if lock and total and lock >= 0.5 * total:
        detail += " " + _(
            "The logged lock wait ({lock} ms) is that same wait for new entries, not contention."
        ).format(lock=_ms(lock))
    advice = _(
        "Nothing to fix: tell the customer these entries are replication, and leave them out of the analysis "
        "(--exclude-internal). Only act if secondaries lag (check rs.printSecondaryReplicationInfo())."
    )
    reply = _(
        "The slow entries on local.oplog.rs are getMore commands of the replica set's internal user (__system): "
        "the secondaries read the primary's oplog to stay in sync. Such a read waits for new writes before it "
        "returns, which is why it is logged as slow; it does not come from your application and needs no action."
    )
    for s in shapes:
        _mark(s, "mongodb.internal-oplog-tailing")
    return Finding(
        code="mongodb.internal-oplog-tailing",
        severity=Severity.INFO,
        title=_("Internal replication traffic: oplog tailing"),
        detail=detail,
        advice=advice,
        reply=reply,
        evidence={
            "shapes": [s.fingerprint for s in shapes],
            "entries": count,
            "total_ms": round(total, 3),
            "max_ms": round(worst.max_ms, 3),
            "lock_wait_ms": round(lock, 3),
            "max_time_ms": max_time,
            "users": users,
            "clients": clients,
            "example": f"{worst.example_source}:{worst.example_line}",
        },
    )


_REASON_TEXT = {
    "sessions": gettext_noop("logical sessions / transactions bookkeeping (config.system.sessions)"),
    "ttl-monitor": gettext_noop("the TTL monitor deleting expired documents"),
    "balancer": gettext_noop("the sharding balancer and chunk metadata"),
    "system-user": gettext_noop("the cluster's internal user __system"),
    "admin-namespace": gettext_noop("commands on the admin database (monitoring, replica-set status)"),
    "local-namespace": gettext_noop("the local database (replication state)"),
    "config-namespace": gettext_noop("the config database (sharding metadata)"),
    "system-collection": gettext_noop("system collections (indexes, users, profile)"),
}


def _internal_finding(shapes: list[Shape]) -> Finding:
    by_reason: dict[str, dict[str, float]] = {}
    for s in shapes:
        r = by_reason.setdefault(s.internal_reason or "internal", {"entries": 0, "total_ms": 0.0})
        r["entries"] += s.count
        r["total_ms"] = round(r["total_ms"] + s.total_ms, 3)
        _mark(s, "mongodb.internal-operation")
    count = sum(s.count for s in shapes)
    total = sum(s.total_ms for s in shapes)
    what = "; ".join(
        _(_REASON_TEXT.get(reason, reason)) + f" ({int(v['entries'])})"
        for reason, v in sorted(by_reason.items(), key=lambda kv: -kv[1]["total_ms"])
    )
    return Finding(
        code="mongodb.internal-operation",
        severity=Severity.INFO,
        title=_("Internal server operations in the slow log"),
        detail=_("{count} slow entries ({total} ms in all) are the server's own work: {what}.").format(
            count=count, total=_ms(total), what=what
        ),
        advice=_(
            "Leave them out when judging the customer's queries (--exclude-internal); they matter only if they "
            "are frequent and slow enough to compete with the application (e.g. a TTL index deleting many "
            "documents at once)."
        ),
        evidence={
            "shapes": [s.fingerprint for s in shapes],
            "entries": count,
            "total_ms": round(total, 3),
            "by_reason": by_reason,
        },
    )


def _collscan_finding(shape: Shape, total_all: float) -> Finding:
    fields = filter_fields(shape.fingerprint)
    index = suggested_index(fields, shape.fingerprint)
    per_entry = shape.examined / shape.count if shape.count else 0
    names = fields["equality"] + fields["range"]
    if names:
        detail = _(
            "{ns}: {count} operations read the whole collection (COLLSCAN, {examined} documents examined per "
            "operation, {returned} returned in all) filtering on {fields}; {total} ms in all."
        ).format(
            ns=shape.namespace or "?",
            count=shape.count,
            examined=f"{per_entry:,.0f}",
            returned=f"{shape.returned:,}",
            fields=", ".join(names),
            total=_ms(shape.total_ms),
        )
        advice = _(
            "Create an index that covers the filter (equality fields first, then sort, then range): "
            'db.{coll}.createIndex({index}), then check the plan with explain("executionStats").'
        ).format(coll=(shape.namespace or "?.coll").partition(".")[2] or "coll", index=index)
    else:
        detail = _(
            "{ns}: {count} operations read the whole collection (COLLSCAN) without a filter; {total} ms in all."
        ).format(ns=shape.namespace or "?", count=shape.count, total=_ms(shape.total_ms))
        advice = _(
            "A query without a filter reads every document by design: add a filter and a limit, or run exports "
            "and reports on a secondary (readPreference secondary) outside peak hours."
        )
    share = shape.total_ms / total_all if total_all else 0
    severity = Severity.HIGH if share >= 0.25 or per_entry >= 100_000 else Severity.MEDIUM
    _mark(shape, "collscan")
    return Finding(
        code="collscan",
        severity=severity,
        title=_("Full collection scan on {ns}").format(ns=shape.namespace or "?"),
        detail=detail,
        advice=advice,
        evidence={
            "shapes": [shape.fingerprint],
            "namespace": shape.namespace,
            "entries": shape.count,
            "total_ms": round(shape.total_ms, 3),
            "share": round(share, 4),
            "docs_examined": shape.examined,
            "returned": shape.returned,
            "filter_fields": fields,
            "suggested_index": index,
            "example": f"{shape.example_source}:{shape.example_line}",
        },
    )


COLLSCAN_MAX_FINDINGS = 5  # one finding per shape, the most expensive first; the table shows the rest


def findings(shapes: Sequence[Shape]) -> list[Finding]:
    """MongoDB findings over the digest's shapes (only this engine's shapes are considered)."""
    mine = [s for s in shapes if s.engine == ENGINE]
    out: list[Finding] = []
    oplog = [s for s in mine if s.internal and s.internal_reason == OPLOG_TAILING]
    if oplog:
        out.append(_oplog_finding(oplog))
    other = [s for s in mine if s.internal and s.internal_reason != OPLOG_TAILING]
    if other:
        out.append(_internal_finding(other))
    total_all = sum(s.total_ms for s in mine)
    scans = [s for s in mine if not s.internal and s.plan and "COLLSCAN" in s.plan]
    scans.sort(key=lambda s: -s.total_ms)
    out.extend(_collscan_finding(s, total_all) for s in scans[:COLLSCAN_MAX_FINDINGS])
    return out


__all__ = ["ENGINE", "FORMATS", "sniff", "parse", "findings", "detect_format", "render"]
