"""`casework diagnose FILE` picks the analyzer that reads the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "casework.cli", "diagnose", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("path", "kind", "code"), [
    ("mtr/seed_winmtr.txt", "mtr", "mtr.loss-from-hop"),
    ("http/seed_httpstat.txt", "http", "http.slow-tls"),
    ("slowlog/mongodb/seed.tsv", "slowlog", "mongodb.internal-oplog-tailing"),
])
def test_each_seed_artifact_goes_to_its_analyzer(path: str, kind: str, code: str) -> None:
    out = run(str(DATA / path), "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == kind and code in [f["code"] for f in doc["findings"]]


def test_an_unknown_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    out = run(str(notes))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().endswith("not an mtr report, HTTP output or slow log that casework reads")
