"""The one-pass shape renderer (``shape_text``) must give exactly the text of the reference pair
``render(_shape(…))`` on any document: the fingerprints — and so the digest — must not move. Both the pure-Python
one (``_shape_text_py``) and the one in use (the C one with the extension, ``test_slowlog_mongodb_speedups.py``)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.diagnostics.slowlog.mongodb_shape import (
    _shape,
    _shape_text_py,
    render,
    shape_text,
)
from slowlog_mongo_helpers import DOCS, KEYS

PARENTS = st.one_of(st.none(), KEYS)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=DOCS, parent=PARENTS)
def test_shape_text_equals_the_reference(doc, parent) -> None:
    # The pure-Python one-pass renderer, and shape_text (the C one when the extension is in use).
    assert _shape_text_py(doc, parent) == render(_shape(doc, parent))
    assert shape_text(doc, parent) == render(_shape(doc, parent))


def test_repeated_sub_documents_collapse_as_the_reference_does() -> None:
    # Two branches with the same keys in another order are one shape for _shape (dict equality); the text
    # renderer must not keep both.
    doc = {"$or": [{"a": 1, "b": 2}, {"b": 3, "a": 4}, {"a": 5, "b": 6}]}
    assert shape_text(doc) == _shape_text_py(doc) == render(_shape(doc)) == "{$or: [{a: ?, b: ?}]}"
    assert shape_text([{"sort": 1}], "sort") == render(_shape([{"sort": 1}], "sort"))
    # Kept sort directions and field references, placeholders for values and extended-JSON wrappers.
    doc = {"x": {"$date": "2024-01-01"}, "y": ["$f", 1], "sort": {"a": -1.0, "b": 0.5}, "from": "orders"}
    assert shape_text(doc, "sort") == "{x: ?, y: [$f], sort: {a: -1, b: 0.5}, from: orders}"
