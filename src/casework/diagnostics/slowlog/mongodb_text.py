"""mongod ≤ 4.2 text logs: one slow operation per line, e.g.

``2020-03-07T12:50:31.430+0000 I COMMAND  [conn4] command mtools.test appName: "MongoDB Shell" command: find
{ find: "test", filter: { name: "name123" }, $db: "mtools" } planSummary: COLLSCAN keysExamined:0
docsExamined:100000 cursorExhausted:1 numYields:781 nreturned:1 reslen:161 locks:{ ... } protocol:op_msg 26ms``

The embedded documents use the shell's syntax (bare keys, ``ObjectId('…')``, ``Timestamp(1, 2)``, ``/re/i``),
so they are rewritten to JSON with a few C-level regex passes and read with orjson; a document that still
does not parse falls back to a text shape (values blanked by regex), so a line never fails on its document.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

# Operations that a slow-op line names right after the thread context.
_OPS = frozenset({"command", "query", "update", "remove", "getmore", "insert", "killcursors", "delete"})

_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
# Every string in one left-to-right pass; "$field" references (aggregation expressions) are part of the
# shape and survive: they come out as "$field""?" and the doubled quote is folded back below.
_VALUE_STRING_RE = re.compile(r'("\$(?:[^"\\]|\\.)*")|"(?:[^"\\]|\\.)*"')
# Values written as constructor calls or literals the shell prints (before keys are quoted).
_CTOR_RE = re.compile(
    r"(?:new )?(?:[A-Z][A-Za-z]*\([^()]*\)|Timestamp \d+\|\d+|MinKey|MaxKey|undefined)"
    r"|(?<=[:\[,] )/(?:[^/\\\n]|\\.)*/[imxsu]*"
)
_KEY_RE = re.compile(r"(?<=[{,] )([^\s\"{}\[\],:]+):")
_NUMBER_RE = re.compile(r"(?<![\w$.])-?(?:\d+\.?\d*(?:e[+-]?\d+)?|inf|nan)(?![\w.])", re.IGNORECASE)
_BAD_NUMBER_RE = re.compile(r"(?<=[:\[,] )(?:-?inf|-?nan|-?Infinity|NaN)(?=[ ,\]}])", re.IGNORECASE)
_STATS_RE = re.compile(r" (\w+):(-?\d+)(?= )")
_ACQUIRE_RE = re.compile(r"timeAcquiringMicros: \{ ([^}]*) \}")
_PLAN_RE = re.compile(r" planSummary: (.*?)(?= \w+:\S| \d+ms$|$)")
_USER_RE = re.compile(r"Successfully authenticated as principal (\S+)")

_CTIME_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def shell_to_python(text: str) -> Any:
    """Read one shell-syntax document (``{ a: 1.0, b: "x", c: ObjectId('…') }``) into Python; None if not.

    Strings and constructor values become ``"?"`` (they are values — the shape replaces them anyway);
    numbers stay numbers so sort directions survive.
    """
    text = _VALUE_STRING_RE.sub(r'\1"?"', text).replace('""?"', '"')
    text = _CTOR_RE.sub('"?"', text)
    text = _BAD_NUMBER_RE.sub('"?"', text)
    text = _KEY_RE.sub(r'"\1":', text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def text_shape(text: str) -> str:
    """Fallback shape of a document orjson could not read: values blanked, whitespace collapsed."""
    text = _STRING_RE.sub("?", text)
    text = _CTOR_RE.sub("?", text)
    text = _NUMBER_RE.sub("?", text)
    text = re.sub(r"\[\s*\?(?:\s*,\s*\?)*\s*\]", "[?]", text)
    return " ".join(text.split())


# Where the document of a slow-op line ends: the first of the counters mongod writes after it. A string value
# containing such text only makes the fast cut fail (the document then does not end in "}"), never wrong.
_TAIL_RE = re.compile(
    r" (?:originatingCommand: \{|planSummary: |(?:keysExamined|docsExamined|cursorid|numYields|nreturned|ninserted"
    r"|nMatched|nModified|ndeleted|ntoreturn|ntoskip|nscanned|nscannedObjects|keyUpdates|reslen|writeConflicts"
    r"|exception|exceptionCode|ok|errMsg|errName|errCode|protocol|cursorExhausted|upsert|keysInserted"
    r"|keysDeleted|numIndexesAffected|hasSortStage|usedDisk|fromMultiPlanner|replanned|queryHash"
    r"|planCacheKey):|locks(?:\(micros\))?:? |\d+ms$)"
)
# The cache key of a document: every value blanked with C-level substitutions only (no per-match Python).
# Literal-prefixed patterns (no look-behind, no group references): sre scans for the prefix in C.
_PAREN_RE = re.compile(r"\([^()]*\)")
_SKEL_NUM_RES = tuple(
    (re.compile(prefix + r"(?!-?1(?:\.0)?[ ,\]}])-?\d[\w.+-]*"), prefix.replace("\\", "") + "0")
    for prefix in (": ", ", ", "\\[ ")
)
_SKEL_LIST_RE = re.compile(
    r'\[ (?:(?:"\?"|0|-?1(?:\.0)?|true|false|null), )*(?:"\?"|0|-?1(?:\.0)?|true|false|null) \]'
)
_DOLLAR_STR_RE = re.compile(r'"\$[^"]*"')


def skeleton(text: str) -> str:
    """``text`` with values blanked: equal for two documents of one shape, cheap to compute."""
    out = _STRING_RE.sub('"?"', text)
    out = _PAREN_RE.sub("()", out)  # ObjectId('…'), new Date(…), UUID("…"): keep the type, drop the value
    for regex, repl in _SKEL_NUM_RES:
        out = regex.sub(repl, out)
    out = _SKEL_LIST_RE.sub("[ 0 ]", out)
    if '"$' in text:  # "$field" references are part of an aggregation's shape
        out += "\x00" + "".join(_DOLLAR_STR_RE.findall(text))
    return out


def match_braces(line: str, start: int) -> int:
    """Index just past the ``}`` closing the ``{`` at ``start`` (string-aware); -1 when unbalanced."""
    depth = 0
    i = start
    n = len(line)
    find = line.find
    while i < n:
        # Jump to the next interesting character instead of walking every one.
        nb = find("{", i)
        ne = find("}", i)
        nq = find('"', i)
        candidates = [p for p in (nb, ne, nq) if p >= 0]
        if not candidates:
            return -1
        i = min(candidates)
        ch = line[i]
        if ch == '"':
            j = i + 1
            while True:
                j = find('"', j)
                if j < 0:
                    return -1
                k = j - 1
                backslashes = 0
                while line[k] == "\\":
                    backslashes += 1
                    k -= 1
                if backslashes % 2 == 0:
                    break
                j += 1
            i = j + 1
            continue
        depth += 1 if ch == "{" else -1
        i += 1
        if depth == 0:
            return i
    return -1


def parse_ts(head: str) -> float | None:
    """ISO-8601 (``2020-03-07T12:50:31.430+0000``) or ctime (no year: None) timestamp → epoch seconds."""
    if head[:1].isdigit():
        try:
            return datetime.fromisoformat(head).timestamp()
        except ValueError:
            return None
    return None


class LegacyLine:
    """The fields of one slow-operation line, or ``ok = False`` when the line is not one."""

    __slots__ = (
        "ok", "ts", "ctx", "op", "ns", "doc_text", "orig_text", "plan", "stats", "duration_ms", "lock_ms",
        "app",
    )  # fmt: skip

    def __init__(self) -> None:
        self.ok = False


def split_line(line: str) -> LegacyLine | None:
    """Split a ≤4.2 log line into its parts; None when it is no slow-operation line (most lines)."""
    out = LegacyLine()
    stripped = line.rstrip()
    if not stripped.endswith("ms"):
        return None
    lb = stripped.find(" [")
    rb = stripped.find("] ", lb + 2) if lb >= 0 else -1
    if rb < 0:
        return None
    rest = stripped[rb + 2 :]
    sp = rest.find(" ")
    op = rest[:sp]
    if op not in _OPS:
        return None
    sp2 = rest.find(" ", sp + 1)
    if sp2 < 0:
        return None
    ns = rest[sp + 1 : sp2]
    # Duration is the last token: "26ms".
    last_sp = rest.rfind(" ")
    try:
        out.duration_ms = float(rest[last_sp + 1 : -2])
    except ValueError:
        return None
    head = stripped[:lb]
    first_sp = head.find(" ")
    out.ts = parse_ts(head[:first_sp] if first_sp > 0 else head) if head[:1].isdigit() else None
    out.ctx = stripped[lb + 2 : rb]
    out.op = op
    out.ns = ns
    body = rest[sp2:]
    app = None
    if body.startswith(' appName: "'):
        end = body.find('"', 11)
        app = body[11:end] if end > 0 else None
    out.app = app
    # The document: after " command: <name> " (commands) or " query: " (legacy ops).
    doc_text = ""
    tail_from = 0
    # 3.6-4.2 log writes as "update ns command: { q: …, u: … }"; ≤ 3.4 as "update ns query: {…} update: {…}".
    marker = body.find(" command: ")
    if marker < 0 and op != "command":
        marker = body.find(" query: ")
    if marker >= 0:
        brace = body.find("{", marker)
        if brace >= 0:
            # Usually the document is followed by originatingCommand or planSummary: two C-level finds.
            end = -1
            for marker_text in (" originatingCommand: {", " planSummary: "):
                pos = body.find(marker_text, brace)
                if pos > 0 and body[pos - 1] == "}" and (end < 0 or pos < end):
                    end = pos
            if end < 0:
                cut = _TAIL_RE.search(body, brace)
                end = cut.start() if cut else -1
            if (
                end < 0
                or body[end - 1] != "}"
                or (op == "update" and body.find(" update: {", brace, end) >= 0)
            ):
                end = match_braces(body, brace)
            if end > 0:
                doc_text = body[brace:end]
                tail_from = end
    if op == "update":
        upd = body.find(" update: {", tail_from)
        if upd >= 0:
            end = match_braces(body, upd + 9)
            if end > 0:
                doc_text = "{ q: " + (doc_text or "{}") + ", u: " + body[upd + 9 : end] + " }"
                tail_from = end
    out.doc_text = doc_text
    orig_text = ""
    ori = body.find(" originatingCommand: {", tail_from)
    if ori >= 0:
        end = match_braces(body, ori + 21)
        if end > 0:
            orig_text = body[ori + 21 : end]
            tail_from = end
    out.orig_text = orig_text
    tail = body[tail_from:]
    pm = _PLAN_RE.search(tail)
    out.plan = pm.group(1) if pm else None
    locks_at = tail.find(" locks:")
    out.stats = {k: int(v) for k, v in _STATS_RE.findall(tail if locks_at < 0 else tail[:locks_at] + " ")}
    lock_us = 0
    for m in _ACQUIRE_RE.finditer(tail):
        for part in m.group(1).split(","):
            _, _, num = part.partition(":")
            try:
                lock_us += int(num.strip())
            except ValueError:
                pass
    out.lock_ms = lock_us / 1000.0 if lock_us else None
    out.ok = True
    return out
