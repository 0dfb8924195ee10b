"""Chunk-level fast paths for the SQL slow logs: fold a whole chunk of text into a :class:`Partial` without an
:class:`~casework.diagnostics.slowlog.entry.Entry` per row.

The per-engine parsers (``mysql.parse_text``, ``postgres._parse_stderr``) are the reference. Here one compiled
regular expression recognises the common layout of an entry in one call (MySQL: per ``";\\n#"`` piece, the
same cut as the reference; PostgreSQL stderr: ``finditer`` over the chunk), the values become a small row in
the shape's list, folded column-wise at the end of the chunk (``_Agg.add_rows``), and anything the expression does
not recognise — or recognises but a guard doubts (extra ``Schema:``/``Full_scan`` keys, ``\\r``, a second
``duration:`` …) — is handed to the reference parser, in file order, so every variant stays supported and
unparsed lines keep their numbers. ``tests/test_slowlog_fastscan.py`` checks that both paths give identical digests.

With the optional C extension (``speedups.py``) the mechanical steps run in C (the MySQL piece and its guard, the
PostgreSQL framing and prefix split, the statement's operation); each C function returns what the Python code here
returns or declines with None/False, and the Python code then runs (``tests/test_slowlog_speedups.py``). For MySQL
the whole loop body runs in C for runs of pieces whose values are at hand (``mysql_run``); the first piece it does
not take goes through the Python loop, the reference (``tests/test_slowlog_mysql_run.py``).

Only for unfiltered digests (no ``--since/--until/--filter/--exclude-internal``); the pipeline uses the
reference path otherwise.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable
from typing import Any

from casework.diagnostics.slowlog import fingerprint as fp_module
from casework.diagnostics.slowlog import mysql, postgres, speedups
from casework.diagnostics.slowlog.digest import Partial, _Agg
from casework.diagnostics.slowlog.entry import Entry, ParseStats
from casework.diagnostics.slowlog.fingerprint import fingerprint, operation
from casework.diagnostics.slowlog.reader import split_lines

ENGINES = ("mysql", "postgres")


def digest_text(engine: str, text: str, *, source: str, part: Partial, order: int, fmt: str | None = None) -> bool:
    """Fold ``text`` (a chunk of whole entries, line 1 = its first line) into ``part``; False when this engine
    or sub-format has no fast path (the caller then uses the reference parser)."""
    if engine == "mysql":
        scan = _mysql
    elif engine == "postgres":
        sub = fmt
        if sub in (None, "postgres"):
            sub = postgres._sub_format(split_lines(text[: 1 << 16])[:20])
        if sub != "postgres-stderr":
            return False
        scan = _postgres_stderr
    else:
        return False
    # The scan allocates a small tuple per entry and keeps them until the chunk is folded: the cyclic garbage
    # collector would walk all of them again and again while it creates no cycles at all.
    collect = gc.isenabled()
    gc.disable()
    try:
        scan(text, source=source, part=part, order=order)
    finally:
        if collect:
            gc.enable()
    return True


def _fold_entries(part: Partial, entries: Iterable[Entry], order: int, pending: _Pending) -> int:
    """The reference fold (``Partial.add_entries`` without filters) for entries of fallback regions. A shape's
    rows still pending from the fast scan are folded first, so every shape sees its entries in file order."""
    aggs = part.aggs
    n = 0
    for e in entries:
        key = (e.engine, e.fingerprint)
        agg = aggs.get(key)
        if agg is None:
            agg = aggs[key] = _Agg(e, order)
        else:
            rows = pending.rows.pop(e.fingerprint, None) if e.engine == pending.engine else None
            if rows:
                agg.add_rows(rows, pending.source, order)
        agg.add(e, order)
        n += 1
    return n


class _Pending:
    """The fast scan's rows per shape (fingerprint -> rows for ``_Agg.add_rows``), folded at the end of the chunk
    (or before a reference entry of the same shape): one column-wise fold per shape instead of one call per entry."""

    __slots__ = ("engine", "source", "rows")

    def __init__(self, engine: str, source: str) -> None:
        self.engine = engine
        self.source = source
        self.rows: dict[str, list[tuple[Any, ...]]] = {}

    def flush(self, part: Partial, order: int) -> None:
        aggs = part.aggs
        for fp, rows in self.rows.items():
            aggs[(self.engine, fp)].add_rows(rows, self.source, order)
        self.rows.clear()


def _count(part: Partial, engine: str, n: int) -> None:
    for agg in part.aggs.values():  # SQL: namespace == db (add_values leaves namespaces to this)
        if agg.engine == engine:
            agg.sql_namespaces()
    if n:
        part.entries += n
        part.by_engine[engine] += n


# -- MySQL ------------------------------------------------------------------------------------------------------

# One entry piece (after pt's ";\n#" cut, so the piece's leading '#' is already gone) in the layouts MySQL 5.6+,
# MariaDB and Percona write: [Time,] [User@Host,] [Thread_id…,] Query_time…, [more '#' lines,] [use db;,]
# [SET timestamp=N;,] statement. The statement must not start like a header line (the reference's header would
# then take that line too).
_MY_FAST = re.compile(
    r" (?:Time: (?P<time>[-0-9: T.Z]*)\n# )?"
    r"(?:User@Host: (?P<uh>[^\[\n][^\[\n]*\[[^\n]*)\n# )?"
    r"(?:Thread_id: +(?P<thread>\S*)(?: +Schema: +(?P<schema>\S*))?[^\n]*\n# )?"
    r"Query_time: (?P<qt>[0-9]+(?:\.[0-9]+)?) +Lock_time: (?P<lt>[0-9]+(?:\.[0-9]+)?) +Rows_sent: (?P<rs>[0-9]+) "
    r"+Rows_examined: (?P<rx>[0-9]+)[^\n]*\n"
    r"(?:#[^\n]*\n)*"
    r"(?:use (?P<use>[^;\n]+);\n)?"
    r"(?:SET timestamp=(?P<ts>[0-9]+(?:\.[0-9]+)?);\n)?"
    r"(?P<arg>(?!#|use |SET (?:last_insert_id|insert_id|timestamp))(?s:.+))"
)  # (?s:.+), not [\s\S]+: the same characters, but re runs to the end at once instead of testing each one;
# [0-9], not \d: re tests \d with a Unicode table lookup per character; other digits go to the reference.
# Keys the reference's header scan reads anywhere in the header. When the header holds exactly the ones the
# expression captured (User@Host; Thread_id and Schema on their line), the captured values are the reference's;
# otherwise they are read as the reference reads them (first occurrence wins), and a second Time or User@Host
# sends the piece to the reference.
_MY_GUARD = re.compile(r"Full_|Schema:|Thread_id:|# Time:|User@Host:")
_MY_GUARD2 = re.compile(r"# Time:|User@Host:")


def _count_keys_py(s: str, start: int, end: int) -> int:
    return len(_MY_GUARD.findall(s, start, end))


# fingerprint.operation in C for a statement whose first word is ASCII (False otherwise: then the Python one).
_operation: Callable[[str], str | None | bool] | None = speedups.ext.operation if speedups.ext is not None else None
# In C, for the plain pieces: the expression's groups when the guard passes, else None (then the code below runs).
_mysql_piece: Callable[[str], tuple[str | None, ...] | None] | None = (
    speedups.ext.mysql_piece if speedups.ext is not None else None
)
# In C, the loop body below for a run of pieces that take the fast path with their values at hand (cached Time and
# User@Host, a known shape, not the last piece, before the next banner removal; it calls fingerprint() and
# operation() where their C parts decline): (i, line, pos, n folded); the first other piece is left to the loop,
# which is the reference.
_mysql_run: Callable[..., tuple[int, int, int, int]] | None = speedups.ext.mysql_run if speedups.ext is not None else None
# str.count("\n") (memchr in C)
_newlines: Callable[[str], int] = speedups.ext.newlines if speedups.ext is not None else lambda s: s.count("\n")
# The guard's count in C when the extension is in use (a plain scan instead of re's per-character charset test).
_count_keys: Callable[[str, int, int], int] = speedups.ext.count_keys if speedups.ext is not None else _count_keys_py
_MY_PROPS = mysql._FAST_PROPS  # Schema / Thread_id / Full_scan / Full_join, first occurrence wins


def _mysql(text: str, *, source: str, part: Partial, order: int) -> None:
    """``mysql.parse_text`` + fold, with the fast expression tried on each piece first (same loop, same cut)."""
    stats = part.stats
    aggs = part.aggs
    state = mysql._State()
    stats.lines += _newlines(text) + (0 if text.endswith("\n") or not text else 1)
    removed: list[tuple[int, int]] = []
    if any(h in text for h in mysql._BANNER_HINTS):
        text, removed = mysql._strip_banner(text)
    sep = mysql.SEPARATOR
    seplen = len(sep)
    pieces = text.split(sep)
    fast_match = _MY_FAST.fullmatch
    count_keys = _count_keys
    quick_piece = _mysql_piece
    quick_op = _operation
    quick_key, fp_memo = fp_module._quick_key, fp_module._cache
    guard2 = _MY_GUARD2.findall
    props = _MY_PROPS.findall
    pending = _Pending("mysql", source)
    pending_rows = pending.rows
    pending_get = pending_rows.get
    example_max = mysql.EXAMPLE_MAX
    uh_cache: dict[str, tuple[str | None, str | None, str | None]] = {}
    time_cache: dict[str, float | None] = {}
    db_by_thread = state.db_by_thread
    line = 1
    pos = 0
    r = 0
    nremoved = len(removed)
    last = len(pieces) - 1
    i = 0
    fast_n = 0
    slow_n = 0
    run = _mysql_run if quick_piece is not None and quick_key is not None and quick_op is not None else None
    while i <= last:
        if run is not None and i < last:
            i, line, pos, k = run(pieces, i, last, line, pos, removed[r][0] if r < nremoved else -1, seplen, state,
                                  uh_cache, time_cache, fp_memo, pending_rows, aggs, example_max, fingerprint, operation)
            fast_n += k
        piece = pieces[i]
        while r < nremoved and removed[r][0] <= pos:
            line += removed[r][1]
            r += 1
        start_line = line
        line += piece.count("\n") + 1
        pos += len(piece) + seplen
        i += 1
        if i - 1 == last:
            piece = mysql._TRAILER.sub("", piece, count=1)
        p0 = 1 if piece.startswith("#") else 0
        plan = None
        groups = quick_piece(piece) if quick_piece is not None else None  # C: the groups when the guard passes
        if groups is not None:
            tv, uhv, thread, schema, qt, lt, rs, rx, usev, tsv, arg = groups
            fast = True
        else:
            m = fast_match(piece, p0) if "administrator command" not in piece else None
            fast = m is not None
            if m is not None:
                argstart = m.start("arg")
                tv, uhv, thread, schema, qt, lt, rs, rx, usev, tsv, arg = m.groups()
                hits = count_keys(piece, p0, argstart)
                if hits != (uhv is not None) + (thread is not None) + (schema is not None):
                    if len(guard2(piece, p0, argstart)) != (uhv is not None):
                        fast = False
                    else:
                        kv: dict[str, str] = {}
                        for k, v in props(piece, p0, argstart):
                            kv.setdefault(k, v)
                        schema = kv.get("Schema")
                        thread = kv.get("Thread_id")
                        if kv.get("Full_scan") == "Yes":
                            plan = "Full_scan"
                        elif kv.get("Full_join") == "Yes":
                            plan = "Full_join"
        if fast:
            if tsv is not None:
                ts: float | None = float(tsv)
            else:
                ts = None
                if tv is not None:
                    if tv in time_cache:
                        ts = time_cache[tv]
                    else:
                        tm = mysql._TS_LINE.match("# Time: " + tv)
                        ts = time_cache[tv] = mysql._cached_time(tm.group(1)) if tm else None
            if uhv is None:
                user = client = uthread = None
            else:
                uh = uh_cache.get(uhv)
                if uh is None:
                    um = mysql._UH_LINE.match("# User@Host: " + uhv + "\n")
                    uh = uh_cache[uhv] = mysql._user_host(um)[:3] if um else (None, None, None)
                user, client, uthread = uh
            db = usev.strip("`") if usev is not None else None
            if not db:
                if schema and not schema.endswith(":"):
                    db = schema
            thread = uthread or thread
            if db:
                state.db = db
                if thread:
                    db_by_thread[thread] = db
            else:
                db = db_by_thread.get(thread) if thread else state.db
            if ts is None:
                ts = state.ts
            else:
                state.ts = ts
            # fingerprint() inlined for the common case: its memo, keyed by the C literal mask (see cache_key).
            masked = quick_key(arg, False) if quick_key is not None else None
            fp = fp_memo.get(("mysql", masked)) if masked is not None else None
            if fp is None:
                fp = fingerprint(arg, dialect="mysql")
            rows = pending_get(fp)
            example = arg[:example_max]
            if rows is None:
                key = ("mysql", fp)
                if key not in aggs:
                    aggs[key] = _Agg.start("mysql", fp, example, source, start_line, order)
                rows = pending_rows[fp] = []
            op = quick_op(arg) if quick_op is not None else False
            if op is False:
                op = operation(arg)
            rows.append((
                float(qt) * 1000.0, ts, db, user, client, op, int(rx), int(rs), float(lt) * 1000.0,
                plan, example, start_line, None,
            ))
            fast_n += 1
            continue
        # The reference, piece by piece (mysql.parse_text's loop body).
        if not p0:
            piece = "#" + piece
        if not piece.strip("#\n"):
            continue
        entry = mysql._entry(piece, source=source, line=start_line, state=state, arg=None)
        if entry is mysql._NO_ARG and i <= last:
            nxt = pieces[i]
            cut = nxt.find(";\n")
            head = nxt if cut < 0 else nxt[: cut + 2]
            if mysql._NULL_QUERY.match(head):
                arg2 = "/* No query */"
            else:
                arg2 = head[:-2] if head.endswith(";\n") else head
                arg2 = arg2.lstrip()
                rest = "" if cut < 0 else nxt[cut + 2 :]
                line += nxt.count("\n") - rest.count("\n") + (0 if rest else 1)
                pos += len(nxt) - len(rest) + (0 if rest else seplen)
                if rest:
                    pieces[i] = rest
                else:
                    i += 1
            entry = mysql._entry(piece, source=source, line=start_line, state=state, arg=arg2)
        if entry is None or entry is mysql._NO_ARG:
            stats.bad_line(start_line)
        else:
            slow_n += _fold_entries(part, (entry,), order, pending)
    pending.flush(part, order)
    _count(part, "mysql", fast_n + slow_n)


# -- PostgreSQL stderr --------------------------------------------------------------------------------------------

# The start of a ``duration: X ms  statement|execute …`` message, found by its literal start (fast); the line's
# prefix, the statement to the end of the line, its continuation lines (tab or space), an optional
# ``DETAIL:  parameters:`` line and what follows are checked in Python with ``str.find``. Lines with '\r' are left
# to the reference (which strips it).
_PG_FAST = re.compile(r"duration: (?P<ms>[0-9]+(?:\.[0-9]+)?) ms(?:(?!\n)\s)+(?:statement|execute)(?: [^:\n]*)?: ?")
_PARAMS = "DETAIL:  parameters: "
_PG_PID = re.compile(r"\s\[\d+\](?=\s)")
_MISSING: Any = object()


def _postgres_stderr(text: str, *, source: str, part: Partial, order: int) -> None:
    stats = part.stats
    aggs = part.aggs
    stats.lines += _newlines(text) + (0 if text.endswith("\n") or not text else 1)
    example_max = postgres.EXAMPLE_MAX
    timestamp = postgres._timestamp
    quick_key, fp_memo = fp_module._quick_key, fp_module._cache
    fast_n = slow_n = 0
    gap_start = 0  # start of the text not yet folded (a gap for the reference)
    gap_line = 1  # its line number
    cur = 0  # position whose line number is cur_line
    cur_line = 1

    def reference(a: int, b: int, first_line: int) -> int:
        tmp = ParseStats()
        entries = list(postgres._parse_stderr(split_lines(text[a:b]), source=source, stats=tmp))
        for e in entries:
            e.line += first_line - 1
        for n in tmp.unparsed_lines:
            stats.bad_line(n + first_line - 1)
        stats.unparsed += tmp.unparsed - len(tmp.unparsed_lines)
        return _fold_entries(part, entries, order, pending)

    pending = _Pending("postgres", source)
    pending_rows = pending.rows
    pending_get = pending_rows.get
    frame = _pg_frame
    split_prefix = _pg_prefix
    quick_op = _operation
    epoch: dict[tuple[str, str | None], float | None] = {}
    who_cache: dict[str, tuple[str | None, str | None, str | None, str | None]] = {}
    for m in _PG_FAST.finditer(text):
        start = m.start()
        fr = frame(text, start, m.end(), gap_start)
        if fr is None:
            continue
        ls, end, statement, params = fr
        prefix = text[ls:start]
        cur_line += text.count("\n", cur, ls)
        cur = ls
        if gap_start < ls:
            slow_n += reference(gap_start, ls, gap_line)
        gap_start = end
        gap_line = cur_line + text.count("\n", ls, end)
        if not statement.strip():
            continue
        # The timestamp and who from the prefix, memoised: after a leading timestamp and pid (which hold no
        # key=value, no user@db and no " LOG:"), the rest of the prefix decides who exactly as the whole does.
        sp = split_prefix(prefix) if split_prefix is not None else None
        if sp is None:
            sp = _pg_prefix_py(prefix)
        if sp is not None:
            base, frac, zone, rest = sp
            bz = (base, zone)
            ts = epoch.get(bz, _MISSING)
            if ts is _MISSING:
                ts = epoch[bz] = postgres._to_epoch(base, zone)
            if ts is not None and frac:
                ts += float(frac)
            who = who_cache.get(rest)
            if who is None:
                who = who_cache[rest] = postgres.prefix_who(prefix)
                if len(who_cache) > 10_000:
                    who_cache.clear()
        else:
            ts = timestamp(prefix)
            who = postgres.prefix_who(prefix)
        user, db, client, app = who
        query = statement.rstrip().rstrip(";")
        masked = quick_key(query, True) if quick_key is not None else None  # fingerprint() inlined, as for MySQL
        fp = fp_memo.get(("postgres", masked)) if masked is not None else None
        if fp is None:
            fp = fingerprint(query, dialect="postgres")
        rows = pending_get(fp)
        example = statement[:example_max]
        if rows is None:
            key = ("postgres", fp)
            if key not in aggs:
                aggs[key] = _Agg.start("postgres", fp, example, source, cur_line, order)
            rows = pending_rows[fp] = []
        op = quick_op(statement) if quick_op is not None else False
        if op is False:
            op = operation(statement)
        rows.append((
            float(m.group(1)), ts, db, user, client, op, None, None, None, None,
            example, cur_line, _pg_extra(params, app),
        ))
        fast_n += 1
    if gap_start < len(text):
        slow_n += reference(gap_start, len(text), gap_line)
    pending.flush(part, order)
    _count(part, "postgres", fast_n + slow_n)


def _pg_frame_py(text: str, start: int, hend: int, gap_start: int) -> tuple[int, int, str, str | None] | None:
    """Where the entry whose ``duration:`` message starts at ``start`` (its statement at ``hend``) lies: (line start,
    end, statement, parameters), or None when the fast scan leaves it to the reference (not the line's first
    ``duration:``, a continuation line, a '\\r', parameters that go on …). ``_speedups.pg_frame`` is the same in C."""
    n = len(text)
    ls = text.rfind("\n", 0, start) + 1  # the line's start
    if ls < gap_start:
        return None  # inside a DETAIL line already taken
    if ls < start and (text[ls] in "\t " or text.find("duration: ", ls, start) >= 0):
        return None  # a continuation line, or not the line's first "duration: ": the reference decides
    nl = text.find("\n", hend)
    if nl < 0:
        nl = n
    statement = text[hend:nl]
    if "\r" in statement:
        return None
    end = nl + 1 if nl < n else n
    if end < n and text[end] in "\t ":  # continuation lines
        parts = [statement]
        while end < n and text[end] in "\t ":
            nl = text.find("\n", end)
            if nl < 0:
                nl = n
            c = text[end:nl]
            parts.append(c[1:] if c[0] == "\t" else c)
            end = nl + 1 if nl < n else n
        statement = "\n".join(parts)
        if "\r" in statement:
            return None
    params = None
    if end < n:
        nl = text.find("\n", end)
        if nl < 0:
            nl = n
        d = text.find(_PARAMS, end, nl)
        if d >= 0:
            if text[end] in "\t " or text.find("duration: ", end, nl) >= 0:
                return None
            params = text[d + len(_PARAMS) : nl]
            if "\r" in params:
                params = params.rstrip("\r")
            end = nl + 1 if nl < n else n
            if end < n:
                nl = text.find("\n", end)
                if text[end] in "\t " or text.find(_PARAMS, end, n if nl < 0 else nl) >= 0:
                    return None  # the reference would still add to this entry
    return ls, end, statement, params


def _pg_prefix_py(prefix: str) -> tuple[str, str | None, str | None, str] | None:
    """A prefix that starts with a timestamp followed by whitespace: (date and time, fraction, zone, the rest after
    the timestamp and a pid), else None. The rest then decides the prefix's who exactly as the whole prefix does (a
    timestamp and a pid hold no key=value, no user@db and no " LOG:"), so it is the memo key for who."""
    tm = _TS_MATCH(prefix)
    if tm is None:
        return None
    e = tm.end()
    if e >= len(prefix) or not prefix[e].isspace():
        return None
    base, frac, zone = tm.groups()
    rest = prefix[e:]
    pm = _PG_PID.match(rest)
    if pm is not None:
        rest = rest[pm.end() :]
    return base, frac, zone, rest


_TS_MATCH = postgres._TS.match
# In C for the common prefixes (None for the others, which the Python version then reads).
_pg_prefix: Callable[[str], tuple[str, str | None, str | None, str] | None] | None = (
    speedups.ext.pg_prefix if speedups.ext is not None else None
)

# The framing in C when the extension is in use.
_pg_frame: Callable[[str, int, int, int], tuple[int, int, str, str | None] | None] = (
    speedups.ext.pg_frame if speedups.ext is not None else _pg_frame_py
)


def _pg_extra(params: str | None, app: str | None) -> Any:
    if params is None and not app:
        return None

    def make() -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if params is not None:
            extra["parameters"] = params[: postgres.EXAMPLE_MAX]
        if app:
            extra["application"] = app
        return extra

    return make
