"""Hypothesis fuzzing of the mtr readers: any input gives a report or a clean InputError, never a traceback."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.diagnostics.net.mtr import analyze_trace
from casework.diagnostics.net.mtr_formats import FORMATS, parse_text
from casework.diagnostics.report import InputError, Report
from conftest import DATA

FIXTURES = [p.read_text() for p in sorted((DATA / "mtr").iterdir()) if p.suffix in (".txt", ".json", ".csv")]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(text: str, fmt: str | None = None) -> None:
    try:
        report = analyze_trace(parse_text(text, source="fuzz", fmt=fmt))
    except InputError as exc:
        assert exc.one_line().startswith("fuzz")
        return
    assert isinstance(report, Report)
    report.to_dict()


@FUZZ
@given(st.text(max_size=2000), st.sampled_from([None, *FORMATS]))
def test_any_text(text, fmt):
    _outcome(text, fmt)


@FUZZ
@given(st.sampled_from(FIXTURES), st.data())
def test_mutated_fixtures(text, data):
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "cut", "replace", "insert"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, max(0, len(lines[i]))))]
        elif action == "replace" and lines[i]:
            j = data.draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + data.draw(st.text(min_size=1, max_size=3)) + lines[i][j + 1:]
        else:
            lines.insert(i, data.draw(st.text(max_size=80)))
    _outcome("\n".join(lines))


_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                         st.text(max_size=10))


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["count", "host", "Loss%", "Snt", "Last", "Avg", "Best", "Wrst",
                                                 "StDev", "ASN", "Rcv"]), _json_scalar), max_size=8),
       st.one_of(st.none(), st.text(max_size=8)))
def test_json_structures(hubs, dst):
    _outcome(json.dumps({"report": {"mtr": {"dst": dst, "src": "x"}, "hubs": hubs}}))
