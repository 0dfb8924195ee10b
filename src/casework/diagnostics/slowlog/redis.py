"""Redis ``SLOWLOG GET``: parser (redis-cli text, JSON, live server) and Redis findings.

Formats (``FORMATS``):

- ``redis-cli`` — what ``redis-cli SLOWLOG GET 128`` prints on a terminal (or with ``--no-raw``)::

      1) 1) (integer) 14
         2) (integer) 1309448221
         3) (integer) 15
         4) 1) "ping"
         5) "127.0.0.1:58217"
         6) "worker-123"

- ``redis-json`` — ``redis-cli --json SLOWLOG GET 128`` (nested arrays), or a list of objects with
  ``id``/``start_time``/``duration``/``command`` (or ``args``)/``client_address``/``client_name`` (what
  redis-py's ``slowlog_get`` returns, serialised);
- live: :func:`live_entries` reads ``SLOWLOG GET`` from a running server (``casework slowlog --redis URL``).

Durations in the slow log are microseconds; entries carry milliseconds like every engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from casework.diagnostics.report import Finding, InputError, Severity
from casework.diagnostics.slowlog.entry import Entry, ParseStats, Shape, detect_and_number
from casework.i18n import gettext as _
from casework.i18n import gettext_noop

ENGINE = "redis"
FORMATS = ("redis-cli", "redis-json")

# Redis' default slowlog-log-slower-than is 10 ms: a command above it blocks every other client that long.
BLOCKING_MS = 10.0

# Commands that take no key: the fingerprint is the command (and its sub-command) alone.
_KEYLESS = frozenset(
    {"PING", "ECHO", "INFO", "AUTH", "SELECT", "DBSIZE", "FLUSHALL", "FLUSHDB", "MULTI", "EXEC", "DISCARD",
     "SAVE", "BGSAVE", "BGREWRITEAOF", "LASTSAVE", "TIME", "ROLE", "MONITOR", "QUIT", "HELLO", "RESET", "WAIT",
     "SCAN", "RANDOMKEY", "SWAPDB", "SHUTDOWN", "REPLICAOF", "SLAVEOF", "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE",
     "UNSUBSCRIBE", "PUNSUBSCRIBE", "READONLY", "READWRITE", "FAILOVER", "LOLWUT", "SYNC", "PSYNC"}
)  # fmt: skip
# Container commands whose first argument is a sub-command (CONFIG GET, CLIENT LIST …).
_SUBCOMMAND = frozenset(
    {"CONFIG", "CLIENT", "SLOWLOG", "SCRIPT", "CLUSTER", "COMMAND", "ACL", "DEBUG", "LATENCY", "MEMORY",
     "MODULE", "OBJECT", "XINFO", "XGROUP", "FUNCTION", "PUBSUB", "SENTINEL"}
)  # fmt: skip
# The key after the sub-command (OBJECT ENCODING key, MEMORY USAGE key, XINFO STREAM key).
_SUBCOMMAND_KEY = frozenset({"OBJECT", "MEMORY", "XINFO", "XGROUP"})

# Key segments that are data, not structure: UUIDs, long hex (hashes, ObjectIds), numbers.
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Hex needs a digit and a letter: a long pure number is {n} like any number, a word stays a word.
_HEX_RE = re.compile(
    r"(?<![0-9A-Za-z])(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}(?![0-9A-Za-z])"
)
_NUM_RE = re.compile(r"\d+")

# Commands that always scan or drop the whole keyspace, and those that walk one whole collection.
_ALWAYS_BLOCKING = frozenset({"KEYS", "FLUSHALL", "FLUSHDB"})
_WHOLE_COLLECTION = frozenset(
    {"SMEMBERS", "HGETALL", "HKEYS", "HVALS", "SORT", "SORT_RO", "SUNION", "SINTER", "SDIFF", "SUNIONSTORE",
     "SINTERSTORE", "SDIFFSTORE", "ZUNIONSTORE", "ZINTERSTORE", "ZUNION", "ZINTER", "ZDIFF", "DEL", "UNLINK",
     "EVAL", "EVALSHA", "FCALL", "LREM", "LINSERT", "LPOS", "XRANGE", "XREVRANGE", "MIGRATE", "DUMP", "RESTORE"}
)  # fmt: skip
_FULL_RANGE = frozenset({"LRANGE", "ZRANGE", "ZREVRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX"})


def key_pattern(key: str) -> str:
    """``user:12345:profile`` → ``user:{n}:profile``; UUIDs → ``{uuid}``, long hex → ``{hex}``."""
    out = _UUID_RE.sub("{uuid}", key)
    out = _HEX_RE.sub("{hex}", out)
    return _NUM_RE.sub("{n}", out)


def _is_full_range(args: Sequence[str]) -> bool:
    return len(args) >= 4 and args[2] == "0" and args[3] == "-1"


def fingerprint(args: Sequence[str]) -> tuple[str, str, str | None]:
    """(command, fingerprint, key pattern) of one slow-log argument vector."""
    if not args:
        return "?", "?", None
    cmd = args[0].upper()
    if cmd in _SUBCOMMAND and len(args) > 1:
        name = f"{cmd} {args[1].upper()}"
        key = args[2] if cmd in _SUBCOMMAND_KEY and len(args) > 2 else None
    elif cmd in _KEYLESS:
        name = cmd
        key = None
        if cmd in ("FLUSHALL", "FLUSHDB") and len(args) > 1:
            name = f"{cmd} {args[1].upper()}"  # ASYNC / SYNC changes what it costs
    elif cmd in ("EVAL", "EVALSHA", "FCALL", "FCALL_RO", "EVAL_RO", "EVALSHA_RO"):
        name = cmd
        key = args[3] if len(args) > 3 and args[2].isdigit() and int(args[2]) > 0 else None
    else:
        name = cmd
        key = args[1] if len(args) > 1 else None
    if cmd == "KEYS":
        pattern = key_pattern(args[1]) if len(args) > 1 else "*"
        return cmd, f"KEYS {pattern}", pattern
    pattern = key_pattern(key) if key is not None else None
    fp = name if pattern is None else f"{name} {pattern}"
    if cmd in _FULL_RANGE and len(args) >= 4:
        fp += " 0 -1" if _is_full_range(args) else " ? ?"
    if len(args) > 2 and cmd in ("DEL", "UNLINK", "MGET", "EXISTS", "TOUCH") and key is not None:
        fp += " …"  # several keys: one shape whatever their number
    return name, fp, pattern


def _entry(
    *,
    source: str,
    line: int,
    ts: Any,
    duration_us: Any,
    args: Sequence[Any],
    client: Any,
    client_name: Any,
    slowlog_id: Any,
) -> Entry | None:
    try:
        duration_ms = int(duration_us) / 1000.0
        ts_f = float(ts) if ts is not None else None
    except (TypeError, ValueError):
        return None
    argv = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in args]
    if not argv:
        return None
    name, fp, pattern = fingerprint(argv)
    example = " ".join(argv)
    if isinstance(client, bytes):
        client = client.decode("utf-8", "replace")
    host = None
    if isinstance(client, str) and client:
        host = client.rpartition(":")[0] or client
    extra: dict[str, Any] = {"args": argv[:8], "slowlog_id": slowlog_id}
    if client_name:
        extra["client_name"] = client_name.decode() if isinstance(client_name, bytes) else str(client_name)
    return Entry(
        engine=ENGINE,
        source=source,
        line=line,
        ts=ts_f,
        duration_ms=duration_ms,
        fingerprint=fp,
        example=example[:2000],
        namespace=pattern,
        client=host,
        operation=name,
        extra=extra,
    )


# --- redis-cli text ----------------------------------------------------------------------------------------

# "1) 1) (integer) 14", "   4) 1) \"ping\"", "      2) \"key\"", "   5) \"127.0.0.1:58217\""
_ITEM_RE = re.compile(
    r'^((?:\s*\d+\)\s)+)\s*(?:\(integer\) (-?\d+)|"((?:[^"\\]|\\.)*)"|(\(empty (?:array|list)[^)]*\)|\(nil\)))\s*$'
)
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|.)")


def _unescape(text: str) -> str:
    """redis-cli's quoted strings: ``\\"``, ``\\\\``, ``\\n``, ``\\xHH``."""
    if "\\" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        e = m.group(1)
        if e.startswith("x"):
            return chr(int(e[1:], 16))
        return {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b"}.get(e, e)

    return _ESCAPE_RE.sub(repl, text)


_MARKER_RE = re.compile(r"(\d+)\)")


def _parse_cli(numbered: Iterable[tuple[int, str]], source: str, stats: ParseStats) -> Iterator[Entry]:
    """The tree redis-cli prints. Indices are right-aligned (`` 9)``/``10)``), so a marker's nesting level is
    read from the column of its ``)``: the same column is the same level within one entry."""
    current: dict[int, Any] | None = None
    start = 0
    top_col: int | None = None
    cols: list[int] = []

    def flush() -> Entry | None:
        if current is None:
            return None
        args = current.get(4)
        entry = _entry(
            source=source,
            line=start,
            ts=current.get(2),
            duration_us=current.get(3),
            args=args if isinstance(args, list) else [],
            client=current.get(5),
            client_name=current.get(6),
            slowlog_id=current.get(1),
        )
        if entry is None:
            stats.bad_line(start)
        return entry

    for lineno, line in numbered:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        m = _ITEM_RE.match(text)
        if m is None:
            stats.bad_line(lineno)
            continue
        markers = [(int(x.group(1)), x.end() - 1) for x in _MARKER_RE.finditer(m.group(1))]
        if top_col is None:
            top_col = markers[0][1]
        if markers[0][1] == top_col:
            entry = flush()
            if entry is not None:
                yield entry
            current, start, cols = {}, lineno, []
            level = 0
        elif current is not None and markers[0][1] in cols:
            level = cols.index(markers[0][1])
        elif current is not None and cols and markers[0][1] > cols[-1]:
            level = len(cols)
        else:
            stats.bad_line(lineno)
            continue
        path = []
        for i, (idx, col) in enumerate(markers):
            lvl = level + i
            del cols[lvl:]
            cols.append(col)
            path.append(idx)
        if level > 0:
            path = [None] * level + path  # type: ignore[list-item]
        # Level 1 is the entry's field (1 id, 2 time, 3 µs, 4 args, 5 client, 6 name); level 2 an argument.
        levels = level + len(markers)
        if m.group(2) is not None:
            value: Any = int(m.group(2))
        elif m.group(3) is not None:
            value = _unescape(m.group(3))
        else:
            value = None
        if current is None or levels < 2:
            stats.bad_line(lineno)
            continue
        if levels == 2:
            field = path[1]
            if field == 4:
                current[4] = []  # "4) (empty array)"
            else:
                current[field] = value
        else:
            if levels == 3 and path[1] is not None:
                current_field = path[1]
            else:
                current_field = 4
            if current_field == 4:
                current.setdefault(4, []).append(value if value is not None else "")
    entry = flush()
    if entry is not None:
        yield entry


# --- JSON --------------------------------------------------------------------------------------------------


def _from_json_item(item: Any, source: str, line: int) -> Entry | None:
    if isinstance(item, list) and len(item) >= 4:
        return _entry(
            source=source,
            line=line,
            ts=item[1],
            duration_us=item[2],
            args=item[3] if isinstance(item[3], list) else [],
            client=item[4] if len(item) > 4 else None,
            client_name=item[5] if len(item) > 5 else None,
            slowlog_id=item[0],
        )
    if isinstance(item, dict):
        args = item.get("args", item.get("command"))
        if isinstance(args, str | bytes):
            args = (args.decode("utf-8", "replace") if isinstance(args, bytes) else args).split(" ")
        return _entry(
            source=source,
            line=line,
            ts=item.get("start_time", item.get("timestamp")),
            duration_us=item.get("duration", item.get("duration_us")),
            args=args if isinstance(args, list) else [],
            client=item.get("client_address", item.get("client")),
            client_name=item.get("client_name"),
            slowlog_id=item.get("id"),
        )
    return None


def _parse_json(numbered: Iterable[tuple[int, str]], source: str, stats: ParseStats) -> Iterator[Entry]:
    lines = list(numbered)  # a slow log holds at most slowlog-max-len entries: small
    text = "".join(line for _, line in lines).strip()
    if not text:
        return
    try:
        doc = orjson.loads(text)
        items = doc if isinstance(doc, list) else [doc]
        starts = [lines[0][0]] * len(items)
    except orjson.JSONDecodeError:
        # JSON lines: one entry per line.
        items, starts = [], []
        for lineno, line in lines:
            if not line.strip():
                continue
            try:
                items.append(orjson.loads(line))
                starts.append(lineno)
            except orjson.JSONDecodeError:
                stats.bad_line(lineno)
    for item, lineno in zip(items, starts, strict=True):
        entry = _from_json_item(item, source, lineno)
        if entry is None:
            stats.bad_line(lineno)
        else:
            yield entry


# --- module interface --------------------------------------------------------------------------------------


def sniff(head: str) -> int:
    """Confidence that ``head`` is a Redis slow log (redis-cli text or JSON)."""
    sample = head[:65536]
    if re.search(r"^ *1\) 1\) \(integer\) \d+\s*$", sample, re.M):  # " 1)" when there are 10+ entries
        return 95
    stripped = sample.lstrip()
    if stripped.startswith("[[") and re.match(r"\[\[\s*\d+\s*,\s*\d{9,}\s*,\s*\d+\s*,\s*\[", stripped):
        return 90
    if stripped[:1] in ("[", "{") and '"start_time"' in sample and '"duration"' in sample:
        return 85
    return 0


def detect_format(line: str) -> str:
    return "redis-json" if line.lstrip()[:1] in ("[", "{") else "redis-cli"


def parse(
    lines: Iterable[str],
    *,
    source: str,
    stats: ParseStats,
    fmt: str | None = None,
) -> Iterator[Entry]:
    """Entries from ``SLOWLOG GET`` output (redis-cli text or JSON)."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown Redis format {fmt!r} (one of {', '.join(FORMATS)})")
    fmt, numbered = detect_and_number(lines, fmt=fmt, detect=detect_format, stats=stats)
    if fmt is None:
        return

    if fmt == "redis-json":
        yield from _parse_json(numbered, source, stats)
    else:
        yield from _parse_cli(numbered, source, stats)


def live_entries(url: str, *, stats: ParseStats) -> Iterator[Entry]:
    """``SLOWLOG GET`` from a live server (``redis://host:port/db``), every entry it keeps."""
    import redis  # imported here: only the live path needs the client

    try:
        client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        try:
            count = int(client.config_get("slowlog-max-len").get("slowlog-max-len", 128))
        except redis.ResponseError:
            count = 128  # CONFIG is often disabled on managed services
        # The raw reply keeps argument boundaries (redis-py's parsed form joins them with spaces).
        raw = client.execute_command("SLOWLOG", "GET", count)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise InputError(f"cannot read SLOWLOG: {exc}", source=url) from None
    except (redis.ResponseError, ValueError) as exc:
        raise InputError(f"SLOWLOG GET failed: {exc}", source=url) from None
    finally:
        pass
    source = url.split("@")[-1] if "@" in url else url  # never echo a password
    if "@" in url:
        source = "redis://" + source
    stats.lines += len(raw)
    for n, item in enumerate(raw, 1):
        entry = _from_json_item(list(item) if isinstance(item, list | tuple) else item, source, n)
        if entry is None:
            stats.bad_line(n)
        else:
            yield entry


# --- findings ----------------------------------------------------------------------------------------------


def _blocking_reason(shape: Shape) -> str | None:
    cmd = (shape.operation or shape.fingerprint.split(" ")[0]).upper()
    base = cmd.split(" ")[0]
    if base in _ALWAYS_BLOCKING and not cmd.endswith("ASYNC"):
        return base
    if shape.max_ms < BLOCKING_MS:
        return None
    if base in _WHOLE_COLLECTION:
        return base
    if base in _FULL_RANGE and shape.fingerprint.endswith(" 0 -1"):
        return f"{base} 0 -1"
    return None


# Marked for makemessages (gettext_noop); translated where the finding is written.
_ADVICE = {
    "KEYS": gettext_noop("Replace KEYS with SCAN (cursor, COUNT 100-1000) in the application; rename or disable KEYS "
                         "(rename-command) on production servers."),
    "FLUSHALL": gettext_noop("Use FLUSHALL ASYNC (lazyfree) so the memory is freed in the background."),
    "FLUSHDB": gettext_noop("Use FLUSHDB ASYNC (lazyfree) so the memory is freed in the background."),
    "DEL": gettext_noop("Delete big keys with UNLINK (or enable lazyfree-lazy-user-del) so memory is freed in the "
                        "background."),
    "UNLINK": gettext_noop("Split the big key: even UNLINK walks it when it has few elements and lazyfree is off."),
    "EVAL": gettext_noop("Keep Lua scripts short: the server runs nothing else while a script runs."),
    "EVALSHA": gettext_noop("Keep Lua scripts short: the server runs nothing else while a script runs."),
}
_DEFAULT_ADVICE = gettext_noop(
    "Read big collections in pages (SSCAN/HSCAN/ZSCAN, LRANGE in slices) or split the big key; "
    "find big keys with redis-cli --bigkeys or MEMORY USAGE."
)


def findings(shapes: Sequence[Shape]) -> list[Finding]:
    """``redis.blocking-command`` for commands that hold Redis' single thread for the whole keyspace or a
    whole collection (KEYS, FLUSHALL, SMEMBERS/HGETALL/LRANGE 0 -1 on big keys, SORT, …)."""
    mine = [s for s in shapes if s.engine == ENGINE]
    hits: list[tuple[Shape, str]] = []
    for s in mine:
        reason = _blocking_reason(s)
        if reason is not None:
            hits.append((s, reason))
    if not hits:
        return []
    hits.sort(key=lambda h: -h[0].total_ms)
    worst = max(s.max_ms for s, _r in hits)
    commands = sorted({r for _s, r in hits})
    advice = " ".join(dict.fromkeys(_(_ADVICE.get(r.split(" ")[0], _DEFAULT_ADVICE)) for r in commands))
    rows = []
    for s, reason in hits:
        if "redis.blocking-command" not in s.codes:
            s.codes.append("redis.blocking-command")
        rows.append(
            {
                "fingerprint": s.fingerprint,
                "command": reason,
                "count": s.count,
                "total_ms": round(s.total_ms, 3),
                "max_ms": round(s.max_ms, 3),
                "example": f"{s.example_source}:{s.example_line}",
            }
        )
    severity = Severity.HIGH if worst >= 100 else Severity.MEDIUM if worst >= BLOCKING_MS else Severity.LOW
    detail = _(
        "{n} command shapes ({commands}) walk the whole keyspace or a whole collection; Redis runs one command at a "
        "time, so every other client waited while they ran (slowest {worst} ms)."
    ).format(n=len(hits), commands=", ".join(commands), worst=f"{worst:,.1f}")
    return [
        Finding(
            code="redis.blocking-command",
            severity=severity,
            title=_("Blocking Redis commands"),
            detail=detail,
            advice=advice,
            evidence={"shapes": [r["fingerprint"] for r in rows], "commands": rows},
        )
    ]
