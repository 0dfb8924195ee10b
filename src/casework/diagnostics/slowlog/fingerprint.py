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

import re
from typing import Literal

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

# Fingerprints repeat (Zipf-like traffic with repeated literals): a bounded memo pays for itself.
_CACHE_MAX = 50_000
_cache: dict[tuple[str, str], str] = {}


def fingerprint(query: str, *, dialect: Dialect = "mysql") -> str:
    """The normalised shape of one SQL statement (literals -> ``?``, lists collapsed, lower case)."""
    key = (dialect, query)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    result = _fingerprint(query, dialect)
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()  # cheaper than LRU bookkeeping; the hot shapes come straight back
    _cache[key] = result
    return result


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


def operation(query: str) -> str | None:
    """The statement's verb (SELECT, INSERT, …), for display and filtering."""
    stripped = query.lstrip(" \t\r\n(")
    while stripped.startswith("/*"):
        end = stripped.find("*/")
        if end < 0:
            return None
        stripped = stripped[end + 2 :].lstrip(" \t\r\n(")
    word = stripped.split(None, 1)[0] if stripped else ""
    word = word.rstrip(";").upper()
    return word if word.isalpha() else None
