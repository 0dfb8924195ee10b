"""Shared helpers of the SQL slow-log tests: digest a file with the real pipeline, run pt-query-digest."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from casework.diagnostics.slowlog.digest import Options
from casework.diagnostics.slowlog.pipeline import digest_inputs

BENCH = Path(__file__).parent.parent / "bench"


def generated_logs(directory: Path, *, target_bytes: int) -> dict[str, str]:
    """A MySQL and a PostgreSQL log from the benchmark's generator (``bench/slowlog_sql_gen.py``), by engine."""
    sys.path.insert(0, str(BENCH))
    try:
        import slowlog_sql_gen as gen
    finally:
        sys.path.remove(str(BENCH))
    gen.write_mysql(str(directory / "my.log"), target_bytes=target_bytes)
    gen.write_postgres(str(directory / "pg.log"), target_bytes=target_bytes)
    return {"mysql": (directory / "my.log").read_text(), "postgres": (directory / "pg.log").read_text()}


def digest_all(*paths: Path | str, **kw):  # type: ignore[no-untyped-def]
    return digest_inputs([str(p) for p in paths], options=Options(top=0), workers=1, **kw)


def casework_groups(path: Path | str) -> dict[str, tuple[int, float]]:
    """fingerprint -> (count, total seconds) as casework groups the file."""
    d = digest_all(path)
    return {s.fingerprint: (s.count, s.total_ms / 1000) for s in d.shapes}


def pt_groups(binary: str, path: Path | str) -> dict[str, tuple[int, float]]:
    """fingerprint -> (count, total seconds) as pt-query-digest groups the file."""
    out = subprocess.run(
        [binary, "--output", "json", "--limit", "1000000", str(path)],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    doc = json.loads(out) if out.strip() else {"classes": []}
    groups: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    for c in doc["classes"]:
        qt = c["metrics"].get("Query_time", {})
        groups[c["fingerprint"]] = (int(c["query_count"]), float(qt.get("sum", 0)))
    return dict(groups)
