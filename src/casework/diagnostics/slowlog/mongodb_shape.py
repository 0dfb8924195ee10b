"""MongoDB query shapes: the operation, the namespace and the filter/sort/projection/pipeline with field names
and operators kept and values replaced by ``?`` (as mtools' ``mloginfo --queries`` and Keyhole group queries).

A shape is built from a parsed command document (a dict, from a 4.4+ JSON log, a profile document or an
export row; legacy text logs are converted to a dict first by :mod:`mongodb_text`). Only the parts that
define what the server has to do are kept — ``lsid``, ``$clusterTime``, ``$db``, cursor ids, batch sizes,
read/write concerns are noise that would split one shape into thousands.

Rendered shapes read like ``find shop.orders filter={status: ?, created: {$gte: ?}} sort={created: -1}``;
:func:`filter_fields` reads the field names back out of that text so findings can name them even when the
digest aggregated entries in another process.
"""

from __future__ import annotations

import re
from typing import Any

from casework.diagnostics.slowlog import speedups

PLACEHOLDER = "?"

# Extended-JSON type wrappers (canonical and relaxed): one value, never a sub-document to keep.
_EXT_TYPES = frozenset(
    {
        "$numberLong", "$numberInt", "$numberDouble", "$numberDecimal", "$date", "$oid", "$timestamp",
        "$binary", "$uuid", "$regularExpression", "$minKey", "$maxKey", "$undefined", "$symbol", "$code",
        "$dbPointer", "$ref",
    }
)  # fmt: skip

# Keys whose numeric values are part of the shape (sort direction, projection inclusion, index spec).
_KEEP_NUMBERS = frozenset(
    {"sort", "$sort", "projection", "fields", "$project", "orderby", "$orderby", "hint", "key"}
)

# Keys whose string values name collections or fields rather than carrying data.
_KEEP_STRINGS = frozenset(
    {"from", "localField", "foreignField", "as", "path", "includeArrayIndex", "coll", "into",
     "connectFromField", "connectToField", "distinctKey"}
)  # fmt: skip

# What each command contributes to its shape, in the order it is rendered.
_COMMAND_PARTS: dict[str, tuple[str, ...]] = {
    "find": ("filter", "sort", "projection", "hint"),
    "aggregate": ("pipeline", "hint"),
    "count": ("query", "hint"),
    "distinct": ("key", "query"),
    "findandmodify": ("query", "sort", "update", "remove", "upsert", "fields"),
    "mapreduce": ("query", "sort"),
    "geonear": ("query", "near"),
    "update": ("q", "u", "multi", "upsert"),  # 4.4+ write log / profile "command" of one statement
    "delete": ("q", "limit"),
    "remove": ("q", "limit"),
}
# Flags that tell a tailing cursor (replication, change streams) from a plain one: kept in the shape.
_FLAG_KEYS = ("tailable", "awaitData", "oplogReplay")

# Legacy OP_QUERY wrapper ({query: {...}, orderby: {...}} or {$query: ..., $orderby: ...}).
_LEGACY_QUERY_KEYS = frozenset(
    {"query", "$query", "orderby", "$orderby", "$explain", "$hint", "$readPreference"}
)


def _shape(value: Any, parent: str | None = None) -> Any:
    """Replace values by ``?``; keep field names, operators, sort directions and field references."""
    if isinstance(value, dict):
        if len(value) <= 2 and value and next(iter(value)) in _EXT_TYPES:
            return PLACEHOLDER
        keep_numbers = parent in _KEEP_NUMBERS
        out = {}
        for key, item in value.items():
            if keep_numbers and isinstance(item, int | float) and not isinstance(item, bool):
                out[key] = int(item) if item == int(item) else item
            elif isinstance(item, str) and (key in _KEEP_STRINGS or item.startswith("$")):
                out[key] = item
            elif isinstance(item, dict | list):
                out[key] = _shape(item, key)
            else:
                out[key] = PLACEHOLDER
        return out
    if isinstance(value, list):
        if value and not isinstance(value[0], dict | list) and not isinstance(value[-1], dict | list):
            # A list of values ($in of 500 ids): one placeholder, without visiting every element.
            first = value[0]
            return [first if isinstance(first, str) and first.startswith("$") else PLACEHOLDER]
        items: list[Any] = []
        for item in value:
            shaped = (
                _shape(item, parent)
                if isinstance(item, dict | list)
                else (item if isinstance(item, str) and item.startswith("$") else PLACEHOLDER)
            )
            # Collapse repeats, as IN (...) lists are collapsed for SQL: $in: [?], $or of same branches.
            if shaped not in items:
                items.append(shaped)
        return items
    if isinstance(value, str) and value.startswith("$"):
        return value
    return PLACEHOLDER


def render(value: Any) -> str:
    """Compact, stable text for a shaped value: ``{a: ?, b: {$in: [?]}}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, str):
        return value
    return str(value)


def _render_shape(value: Any, parent: str | None = None) -> str:
    return render(_shape(value, parent))


def _shape_text_py(value: Any, parent: str | None = None) -> str:
    """``render(_shape(value, parent))`` in one pass, without building the shaped copy (the hot path of every
    4.4+ JSON log line). Exactly equal by construction — each branch mirrors :func:`_shape` then
    :func:`render` for one node — and where the two cannot be mirrored cheaply (a list with sub-documents that
    may be equal once shaped, whose repeats :func:`_shape` collapses by *structural* equality, which rendered
    text does not capture: ``{a, b}`` equals ``{b, a}``), it calls them. ``tests/test_slowlog_mongodb_shape.py``
    checks the equality on arbitrary documents. This is the reference of the C ``shape_text`` (``_speedups.c``),
    which is used instead when the extension is in use (``tests/test_slowlog_mongodb_speedups.py``)."""
    cls = type(value)
    if cls is dict:
        if len(value) <= 2 and value and next(iter(value)) in _EXT_TYPES:
            return PLACEHOLDER
        keep_numbers = parent in _KEEP_NUMBERS
        parts = []
        for key, item in value.items():
            t = type(item)
            if t is str:
                text = item if key in _KEEP_STRINGS or item.startswith("$") else PLACEHOLDER
            elif t is dict or t is list:
                text = _shape_text_py(item, key)
            elif t is int or t is float:
                text = str(int(item) if item == int(item) else item) if keep_numbers else PLACEHOLDER
            elif t is bool or item is None:
                text = PLACEHOLDER
            elif keep_numbers and isinstance(item, int | float) and not isinstance(item, bool):
                text = str(int(item) if item == int(item) else item)  # not a JSON type: _shape's own tests
            elif isinstance(item, str) and (key in _KEEP_STRINGS or item.startswith("$")):
                text = item
            elif isinstance(item, dict | list):
                text = _shape_text_py(item, key)
            else:
                text = PLACEHOLDER
            parts.append(f"{key}: {text}")
        return "{" + ", ".join(parts) + "}"
    if cls is list:
        if not value:
            return "[]"
        first = value[0]
        last = value[-1]
        tf = type(first)
        tl = type(last)
        if tf is not dict and tf is not list and tl is not dict and tl is not list:
            if tf is str or tf is int or tf is float or tf is bool or first is None:
                if tl is str or tl is int or tl is float or tl is bool or last is None:
                    return "[" + (first if tf is str and first.startswith("$") else PLACEHOLDER) + "]"
            return _render_shape(value, parent)
        # _shape collapses repeats by equality of the shaped items. Shaped scalars (and extended-JSON values) are
        # strings, equal exactly when their text is; a shaped sub-document keeps its keys, so sub-documents
        # with different key sets are never equal (nor equal to a string or a list). Only when two may be
        # equal (same key set in any order, or two lists) does the reference decide.
        texts: list[str] = []
        key_sets: list[frozenset[Any]] = []
        lists = 0
        for item in value:
            t = type(item)
            if t is dict:
                if len(item) <= 2 and item and next(iter(item)) in _EXT_TYPES:
                    text = PLACEHOLDER
                else:
                    keys = frozenset(item)
                    if keys in key_sets:
                        return _render_shape(value, parent)
                    key_sets.append(keys)
                    texts.append(_shape_text_py(item, parent))
                    continue
            elif t is list:
                lists += 1
                if lists > 1:
                    return _render_shape(value, parent)
                texts.append(_shape_text_py(item, parent))
                continue
            elif t is str:
                text = item if item.startswith("$") else PLACEHOLDER
            elif t is int or t is float or t is bool or item is None:
                text = PLACEHOLDER
            else:
                return _render_shape(value, parent)
            if text not in texts:
                texts.append(text)
        return "[" + ", ".join(texts) + "]"
    if cls is str:
        return value if value.startswith("$") else PLACEHOLDER
    if cls is int or cls is float or cls is bool or value is None:
        return PLACEHOLDER
    return _render_shape(value, parent)


# The same in C when the extension is in use; it calls back into _shape_text_py / _render_shape for what it does
# not mirror (non-str keys, subclasses, non-JSON types; the reference's own fallbacks).
shape_text = _shape_text_py
if speedups.ext is not None:
    speedups.ext.shape_setup(_EXT_TYPES, _KEEP_NUMBERS, _KEEP_STRINGS, _shape_text_py, _render_shape)
    shape_text = speedups.ext.shape_text


def _unwrap_legacy_query(query: dict[str, Any]) -> tuple[Any, Any]:
    """``{query: {...}, orderby: {...}}`` (OP_QUERY with modifiers) → (filter, sort); else (query, None)."""
    if ("query" in query or "$query" in query) and set(query) <= _LEGACY_QUERY_KEYS:
        return query.get("query", query.get("$query")), query.get("orderby", query.get("$orderby"))
    return query, None


def _command_shape_py(command: dict[str, Any], *, op: str | None = None) -> tuple[str, str]:
    """The operation name and the rendered shape text of one command document.

    ``op`` is the operation the log names (``query``, ``update``, ``getmore``…) when the document is not a
    command (legacy query documents, 4.4 ``"type":"update"`` statements).
    """
    if not command:
        return (op or "command"), ""
    first = next(iter(command))
    name = first.lower()
    parts: tuple[str, ...] | None = _COMMAND_PARTS.get(name)
    if parts is None and op in ("update", "remove", "delete") and ("q" in command or "u" in command):
        name, parts = (
            ("update" if op == "update" else "remove"),
            _COMMAND_PARTS[op if op != "delete" else "remove"],
        )
    if parts is None and op == "query":
        filt, sort = _unwrap_legacy_query(command)
        out = [f"filter={shape_text(filt)}"]
        if sort is not None:
            out.append(f"sort={shape_text(sort, 'sort')}")
        return "find", " ".join(out)
    if name == "update" and "updates" in command:
        return "update", " ".join(_statement_shapes(command["updates"], ("q", "u", "multi", "upsert")))
    if name == "delete" and "deletes" in command:
        return "remove", " ".join(_statement_shapes(command["deletes"], ("q", "limit")))
    if name == "getmore":
        return "getmore", ""  # the caller adds the originating command's shape
    if parts is None:
        # insert, createIndexes, isMaster …: the command name alone is the shape (documents are data).
        return first, ""
    out = []
    for part in parts:
        if part in command:
            value = command[part]
            if part == "u" and isinstance(value, dict) and not any(k.startswith("$") for k in value):
                out.append("u=<replacement>")  # a whole replacement document: its fields are data
                continue
            shaped = shape_text(value, part) if isinstance(value, dict | list) else PLACEHOLDER
            out.append(f"{part}={shaped}")
    flags = [k for k in _FLAG_KEYS if command.get(k) is True]
    if flags:
        out.append(" ".join(flags))
    return name, " ".join(out)


def _statement_shapes(statements: Any, parts: tuple[str, ...]) -> list[str]:
    if not isinstance(statements, list) or not statements or not isinstance(statements[0], dict):
        return []
    seen: list[str] = []
    for stmt in statements[:16]:  # a bulk of 1000 same-shaped statements needs no 1000 renders
        if isinstance(stmt, dict):
            _, text = command_shape(stmt, op="update" if "u" in stmt else "remove")
            if text not in seen:
                seen.append(text)
    return seen


command_shape = _command_shape_py
if speedups.ext is not None:
    speedups.ext.command_setup(_COMMAND_PARTS, _FLAG_KEYS, _command_shape_py)
    command_shape = speedups.ext.command_shape


def fingerprint(*, op: str, ns: str | None, shape: str) -> str:
    return f"{op} {ns or '?'} {shape}".rstrip()


# --- reading field names back from a rendered fingerprint ---------------------------------------------------

_KEY_RE = re.compile(r"([^\s{}\[\],:]+): ")
_SEGMENT_RE = re.compile(r"(?:^| )(filter|query|q|pipeline|sort)=")


def _segment(fp: str, name: str) -> str | None:
    """The balanced ``{...}``/``[...]`` text after ``name=`` in a fingerprint."""
    for m in _SEGMENT_RE.finditer(fp):
        if m.group(1) != name:
            continue
        start = m.end()
        depth = 0
        for i in range(start, len(fp)):
            ch = fp[i]
            if ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
                if depth == 0:
                    return fp[start : i + 1]
        return fp[start:]
    return None


def filter_fields(fp: str) -> dict[str, list[str]]:
    """Fields of the filter (``equality`` / ``range``) and of the sort, read from a rendered fingerprint.

    Used to name the index a COLLSCAN needs, in the ESR order (equality, sort, range) MongoDB recommends.
    """
    text = _segment(fp, "filter") or _segment(fp, "query") or _segment(fp, "q")
    if text is None:
        pipeline = _segment(fp, "pipeline")
        if pipeline and "{$match: " in pipeline:
            text = pipeline[pipeline.index("{$match: ") + 9 :]
    equality: list[str] = []
    range_: list[str] = []
    if text:
        for m in _KEY_RE.finditer(text):
            key = m.group(1)
            if key.startswith("$"):
                continue
            rest = text[m.end() : m.end() + 2]
            target = range_ if rest.startswith("{$") else equality
            if key not in equality and key not in range_:
                target.append(key)
    sort_fields: list[str] = []
    sort_text = _segment(fp, "sort")
    if sort_text:
        sort_fields = [m.group(1) for m in _KEY_RE.finditer(sort_text) if not m.group(1).startswith("$")]
    return {"equality": equality, "sort": sort_fields, "range": range_}


def suggested_index(fields: dict[str, list[str]], fp: str = "") -> str | None:
    """An index spec in ESR order, e.g. ``{status: 1, created: -1, total: 1}``; None without fields."""
    sort_dirs = {}
    sort_text = _segment(fp, "sort") if fp else None
    if sort_text:
        for m in re.finditer(r"([^\s{}\[\],:]+): (-?1)\b", sort_text):
            sort_dirs[m.group(1)] = m.group(2)
    keys: list[str] = []
    for name in fields["equality"] + fields["sort"] + fields["range"]:
        if name not in keys:
            keys.append(name)
    if not keys:
        return None
    return "{" + ", ".join(f"{k}: {sort_dirs.get(k, '1')}" for k in keys[:6]) + "}"
