"""Helpers of the MongoDB slow-log tests: a tiny aggregation of entries into Shapes (parsers and findings without
the digest), the benchmark's log generator, and hypothesis strategies for MongoDB documents."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from casework.diagnostics.slowlog.entry import Entry, Shape
from casework.diagnostics.slowlog.mongodb_shape import _EXT_TYPES, _KEEP_NUMBERS, _KEEP_STRINGS

BENCH = Path(__file__).parent.parent / "bench"


def mongodb_generator() -> ModuleType:
    """``bench/slowlog_mongodb_gen.py``: realistic logs with their per-shape truth."""
    spec = importlib.util.spec_from_file_location("slowlog_mongodb_gen", BENCH / "slowlog_mongodb_gen.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["slowlog_mongodb_gen"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# --- MongoDB documents for the shape renderer's equality tests ----------------------------------------------
# Keys: a few plain ones (so siblings share or permute them), '$' operators, every key the shaper treats specially
# (numbers kept under sort/projection, strings kept under from/as, extended-JSON wrappers), and non-ASCII ones (the
# C text buffer widens for them; the result must still be the canonical str).
KEYS = st.sampled_from(
    ["a", "b", "c", "$in", "$gte", "$or", "$match", "é", "Ω键", "😀", "", *sorted(_KEEP_NUMBERS), *sorted(_KEEP_STRINGS),
     *sorted(_EXT_TYPES)]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, -1.0, 0.5, 2.0, -0.0, 0.0, 1e300, -1e300, 1e16, 1e-300, 5e-324, 123456789.125]),
    st.sampled_from(["x", "", "?", "$a", "$", "1", "a, b: c", "$é", "$😀", "{a: ?}", "[?]", "é", "😀"]),
    st.text(max_size=4),
)
SIBLING_KEYS = st.lists(st.sampled_from(["a", "b", "$in", "sort", "é"]), min_size=1, max_size=3, unique=True)


def siblings(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """$or branches / pipeline stages: sibling documents over the same few keys, often in another order."""
    return SIBLING_KEYS.flatmap(
        lambda keys: st.lists(
            st.permutations(keys).flatmap(lambda order: st.fixed_dictionaries({k: inner for k in order})),
            min_size=2,
            max_size=4,
        )
    )


EXT_VALUES = st.sampled_from(
    [{"$date": "2024-01-01T00:00:00Z"}, {"$oid": "0" * 24}, {"$numberLong": "5"}, {"$binary": {"base64": "", "subType": "0"}},
     {"$regularExpression": {"pattern": "^a", "options": ""}}, {"$ref": "c", "$id": 1}, {"$date": 1, "x": 2, "y": 3}]
)  # fmt: skip
DOCS = st.recursive(
    st.one_of(SCALARS, EXT_VALUES),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=4), siblings(inner)
    ),
    max_leaves=40,
)


def shapes_from(entries: list[Entry]) -> list[Shape]:
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        groups[e.fingerprint].append(e)
    total_all = sum(e.duration_ms for e in entries) or 1.0
    out = []
    for fp, es in groups.items():
        durations = sorted(e.duration_ms for e in es)
        total = sum(durations)
        plans = Counter(e.plan for e in es if e.plan)
        first = es[0]
        out.append(
            Shape(
                fingerprint=fp,
                engine=first.engine,
                namespace=first.namespace,
                operation=first.operation,
                count=len(es),
                total_ms=total,
                mean_ms=total / len(es),
                min_ms=durations[0],
                max_ms=durations[-1],
                p50_ms=durations[len(durations) // 2],
                p95_ms=durations[int(len(durations) * 0.95)],
                p99_ms=durations[int(len(durations) * 0.99)],
                share=total / total_all,
                examined=sum(e.examined or 0 for e in es),
                returned=sum(e.returned or 0 for e in es),
                lock_ms=sum(e.lock_ms or 0 for e in es),
                plan=plans.most_common(1)[0][0] if plans else None,
                internal=first.internal,
                internal_reason=first.internal_reason,
                first_seen=min((e.ts for e in es if e.ts), default=None),
                last_seen=max((e.ts for e in es if e.ts), default=None),
                dbs=dict(Counter(e.db for e in es if e.db)),
                users=dict(Counter(e.user for e in es if e.user)),
                clients=dict(Counter(e.client for e in es if e.client)),
                example=first.example,
                example_source=first.source,
                example_line=first.line,
                histogram=[len(es)],
            )
        )
    return out
