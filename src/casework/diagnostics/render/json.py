"""Stable JSON output (documented per kind in ``docs/json.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import orjson

from casework.diagnostics.report import Report


def _default(obj: Any) -> Any:
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def render_json(reports: Sequence[Report]) -> str:
    """One report renders as one JSON object; several (e.g. a file with many responses) as an array."""
    docs = [r.to_dict() for r in reports]
    payload: Any = docs[0] if len(docs) == 1 else docs
    return dumps(payload).decode() + "\n"
