"""SQL query fingerprints: the query *shape*, grouped exactly as ``pt-query-digest`` groups them.

The MySQL dialect is a step-by-step port of ``QueryRewriter::fingerprint`` from Percona Toolkit 3.x (the
tool support engineers compare against), so that a shape here holds the same entries, counts and total time
as a class in ``pt-query-digest``. Every step is guarded by a cheap substring test because most queries need
only a few of them; the order of the steps is pt's, since they are not independent (strings are removed before
numbers, whitespace is collapsed before lists are).

The PostgreSQL dialect differs where the language does: ``"..."`` is a quoted *identifier*, not a string, and
``$1`` is a bind parameter that stays a placeholder; numbers embedded in identifiers (``t1``) are kept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Literal

from casework.diagnostics.slowlog import speedups

Dialect = Literal["mysql", "postgres"]

_MYSQLDUMP = "SELECT /*!40001 SQL_NO_CACHE */ * FROM `"
_PT_CHECKSUM = re.compile(r"/\*\w+\.\w+:[0-9]/[0-9]\*/")
_CALL = re.compile(r"\s*(call\s+\S+)\(", re.I)
_MULTI_INSERT = re.compile(r"((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(", re.I | re.S)
_MLC = re.compile(r"/\*[^!].*?\*/", re.S)  # multi-line comments, but not /*!version hints*/
_OLC = re.compile(r"(?:--|#)[^'\"\r\n]*(?=[\r\n]|\Z)")  # one-line comments
_USE = re.compile(r"use \S+\n?\Z", re.I)
_ESCAPED_QUOTE = re.compile(r"\\[\"']")
_DQ_STRING = re.compile(r'".*?"', re.S)
_SQ_STRING = re.compile(r"'.*?'", re.S)
_BOOL = re.compile(r"\bfalse\b|\btrue\b", re.I)
_NUMBER = re.compile(r"[0-9+-][0-9a-f.xb+-]*")
_NUMBER_LEFTOVER = re.compile(r"[xb.+-]\?")
_LEADING_WS = re.compile(r"\A\s+")
_WS = re.compile(r"[ \n\t\r\f]+")
_NULL = re.compile(r"\bnull\b")
_IN_LIST = re.compile(r"\b(in|values?)(?:[\s,]*\([\s?,]*\))+")
_UNION = re.compile(r"\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+")
_LIMIT = re.compile(r"\blimit \?(?:, ?\?| offset \?)?")
_ORDER_BY = re.compile(r"\border by ", re.I)
_ASC = re.compile(r"(.+?)\s+asc", re.I)

# PostgreSQL: keep $n bind parameters and digits inside identifiers; "..." is an identifier.
_PG_NUMBER = re.compile(r"(?<![$\w])[0-9+-][0-9a-f.xb+-]*")
_PG_IN_LIST = re.compile(r"\b(in|values?)(?:[\s,]*\((?:[\s?,]|\$\d+)*\))+")
_PG_SQ_STRING = re.compile(r"'(?:[^']|'')*'")  # standard_conforming_strings: '' escapes a quote

# Literal-masking keys (see :func:`fingerprint`): one pass that replaces exactly what the string and number steps
# of the full fingerprint replace, on queries where that single pass provably equals those steps.
_KEY_MYSQL = re.compile(r"'.*?'|[0-9+-][0-9a-f.xb+-]*", re.S)
_KEY_PG = re.compile(r"'(?:[^']|'')*'|(?<![$\w])[0-9+-][0-9a-f.xb+-]*")

# The same two passes in C (``_speedups.c``: one pass over the text building the result directly, instead of a
# Python-level piece per literal) when the optional extension is in use; the expressions above are the reference.
_mask_mysql: Callable[[str], str] = functools.partial(_KEY_MYSQL.sub, "?")
_mask_pg: Callable[[str], str] = functools.partial(_KEY_PG.sub, "?")
# And, in C, the whole key for the common query that none of the steps before the masking changes (None otherwise).
_quick_key: Callable[[str, bool], str | None] | None = None
if speedups.ext is not None:
    _mask_mysql = speedups.ext.mask_mysql
    _mask_pg = speedups.ext.mask_pg
    _quick_key = speedups.ext.quick_key

# Fingerprints repeat (Zipf-like traffic): a bounded memo keyed by the literal-masked query pays for itself.
_CACHE_MAX = 50_000
_cache: dict[tuple[str, str], str] = {}
_raw_cache: dict[tuple[str, str], str] = {}


def fingerprint(query: str, *, dialect: Dialect = "mysql") -> str:
    """The normalised shape of one SQL statement (literals -> ``?``, lists collapsed, lower case).

    Memoised by :func:`cache_key`: two queries with the same key have the same fingerprint, so real traffic
    (the same statements with different literals) is fingerprinted once per shape, not once per entry."""
    raw = _raw_cache.get((dialect, query))  # the very same text (prepared statements, constants)
    if raw is not None:
        return raw
    key = cache_key(query, dialect)
    result = _cache.get(key)
    if result is None:
        result = _fingerprint(query, dialect)
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()  # cheaper than LRU bookkeeping; the hot shapes come straight back
        _cache[key] = result
    if len(_raw_cache) >= _CACHE_MAX:
        _raw_cache.clear()
    _raw_cache[(dialect, query)] = result
    return result


def cache_key(query: str, dialect: str = "mysql") -> tuple[str, str]:
    """A memo key with ``key(q1) == key(q2)`` => ``fingerprint(q1) == fingerprint(q2)``.

    The steps of :func:`_fingerprint` before its string pass (the early returns, pt's multi-row INSERT cut,
    comments, escaped quotes) are run as they are, so the key is a function of their result ``h``. Then, when
    ``h`` holds no ``"`` and no ``true``/``false`` (the double-quote and boolean passes would be no-ops), the
    string pass followed by the number pass equals ONE left-to-right pass of the alternation of both patterns
    (neither a number nor ``?`` can hold a quote, so both find the same string spans, and ``?`` is neither a
    number character nor a word character, so the number pass sees the same gaps with the same look-behind);
    the fingerprint is then a function of that pass's result, which is the key. Any other query is its own key
    (the exact text), as before."""
    pg = dialect == "postgres"
    if _quick_key is not None:
        masked = _quick_key(query, pg)
        if masked is not None:
            return (dialect, masked)
    if query.startswith(_MYSQLDUMP) or query.startswith("administrator command: "):
        return ("=" + dialect, query)
    if "/*" in query and _PT_CHECKSUM.search(query):
        return ("=" + dialect, query)
    head = query[:64].lstrip()[:4].lower()
    if head == "call" or head[:3] == "use":
        return ("=" + dialect, query)
    h = query
    if not pg and head in ("inse", "repl") and "," in h:
        m = _MULTI_INSERT.match(h)
        if m:
            h = m.group(1)
    if "/*" in h:
        h = _MLC.sub("", h)
    if "--" in h or "#" in h:
        h = _OLC.sub("", h)
    if not pg:
        if "\\" in h:
            h = _ESCAPED_QUOTE.sub("", h)
        if '"' in h:
            return ("=" + dialect, query)
    lowered = h.lower()
    if "true" in lowered or "false" in lowered:
        return ("=" + dialect, query)
    return (dialect, (_mask_pg if pg else _mask_mysql)(h))


def _fingerprint(query: str, dialect: str) -> str:
    pg = dialect == "postgres"
    if query.startswith(_MYSQLDUMP):
        return "mysqldump"
    if "/*" in query and _PT_CHECKSUM.search(query):
        return "percona-toolkit"
    if query.startswith("administrator command: "):
        return query
    head = query[:64].lstrip()[:4].lower()
    if head == "call":
        m = _CALL.match(query)
        if m:
            return m.group(1).lower()
    # pt cuts a multi-row INSERT after its first row (speed, and mysqldump); that also drops a trailing
    # ON CONFLICT, so PostgreSQL keeps the whole statement and relies on the VALUES collapse below.
    if not pg and head in ("inse", "repl") and "," in query:
        m = _MULTI_INSERT.match(query)
        if m:
            query = m.group(1)  # shorten multi-row INSERT ASAP, as pt does

    if "/*" in query:
        query = _MLC.sub("", query)
    if "--" in query or "#" in query:
        query = _OLC.sub("", query)
    if head[:3] == "use" and _USE.match(query):
        return _USE.sub("use ?", query)

    if pg:
        if "'" in query:
            query = _PG_SQ_STRING.sub("?", query)
    else:
        if "\\" in query:
            query = _ESCAPED_QUOTE.sub("", query)
        if '"' in query:
            query = _DQ_STRING.sub("?", query)
        if "'" in query:
            query = _SQ_STRING.sub("?", query)

    lowered = query.lower()
    if "true" in lowered or "false" in lowered:
        query = _BOOL.sub("?", query)

    query = (_PG_NUMBER if pg else _NUMBER).sub("?", query)
    return _tail(query, pg)


def _tail(query: str, pg: bool) -> str:
    """The steps after literals are masked (a function of the masked text only)."""
    if "?" in query:
        query = _NUMBER_LEFTOVER.sub("?", query)

    query = _LEADING_WS.sub("", query)
    if query.endswith("\n"):  # Perl's chomp: one trailing newline only
        query = query[:-1]
    query = _WS.sub(" ", query).lower()
    if "null" in query:
        query = _NULL.sub("?", query)
    if "in" in query or "value" in query:
        query = (_PG_IN_LIST if pg else _IN_LIST).sub(r"\1(?+)", query)
    if "union" in query:
        query = _UNION.sub(r"\1 /*repeat\2*/", query)
    if "limit ?" in query:
        query = _LIMIT.sub("limit ?", query, count=1)
    if "order by " in query and "asc" in query:
        query = _drop_asc(query)
    return query


def _drop_asc(query: str) -> str:
    """``ORDER BY a ASC`` and ``ORDER BY a`` are the same shape (pt's ``s/\\G(.+?)\\s+ASC/$1/gi``)."""
    m = _ORDER_BY.search(query)
    if m is None:
        return query
    pos = m.end()
    while True:
        mm = _ASC.match(query, pos)
        if mm is None:
            return query
        kept = mm.group(1)
        query = query[: mm.start()] + kept + query[mm.end() :]
        pos = mm.start() + len(kept)


_FIRST_WORD = re.compile(r"[A-Za-z]\S*")
_op_cache: dict[str, str | None] = {}


def operation(query: str) -> str | None:
    """The statement's verb (SELECT, INSERT, …), for display and filtering."""
    m = _FIRST_WORD.match(query)  # the common case: the statement starts with its verb
    if m is not None:
        word = m.group()
        op = _op_cache.get(word)
        if op is None and word not in _op_cache:
            if len(_op_cache) > 10_000:
                _op_cache.clear()
            op = _op_cache[word] = _operation(word)
        return op
    return _operation(query)


def _operation(query: str) -> str | None:
    stripped = query.lstrip(" \t\r\n(")
    while stripped.startswith("/*"):
        end = stripped.find("*/")
        if end < 0:
            return None
        stripped = stripped[end + 2 :].lstrip(" \t\r\n(")
    words = stripped.split(None, 1)  # empty when only (Unicode) whitespace is left
    word = words[0] if words else ""
    word = word.rstrip(";").upper()
    return word if word.isalpha() else None
