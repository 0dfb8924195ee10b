"""Golden test on a real PostgreSQL log: one session with ``log_min_duration_statement=0`` runs a known
workload (simple statements, extended-protocol executes with parameters, multi-line statements) and casework
must count every shape exactly; plus pgBadger's own test logs."""

from __future__ import annotations

import os
import random
import time
import uuid
from pathlib import Path

import pytest

from conftest import DATA
from services import POSTGRES_URL, require_port, unavailable
from slowlog_sql_helpers import digest_all

pytestmark = pytest.mark.postgres

WORKLOAD = {"cw_pk": 21, "cw_param": 15, "cw_inlist": 12, "cw_multi": 8, "cw_lines": 6}


def _server_log(conn) -> Path:  # type: ignore[no-untyped-def]
    """The file the server writes its log to: the collector's file, or Debian's stderr log."""
    current = conn.execute("SELECT pg_current_logfile()").fetchone()[0]
    if current:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
        path = Path(current) if current.startswith("/") else Path(data_dir) / current
    else:
        version = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
        cluster = conn.execute("SHOW cluster_name").fetchone()[0] or f"{version}/main"
        path = Path("/var/log/postgresql") / f"postgresql-{cluster.replace('/', '-')}.log"
    if not path.is_file() or not os.access(path, os.R_OK):
        unavailable(f"PostgreSQL's log file {path} is not readable")
    return path


@pytest.fixture(scope="module")
def postgres_log(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    require_port("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    marker = f"cw_end_{uuid.uuid4().hex}"
    rng = random.Random(11)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        log = _server_log(conn)
        start = log.stat().st_size
        schema = f"cw_slowlog_{uuid.uuid4().hex[:8]}"
        conn.execute(f"CREATE SCHEMA {schema}")
        try:
            conn.execute(f"SET search_path = {schema}")
            for table in WORKLOAD:
                conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text)")
            # Session-level: only this connection logs every statement; nothing global changes.
            conn.execute("SET log_min_duration_statement = 0")
            for _ in range(WORKLOAD["cw_pk"]):
                conn.execute(f"SELECT id, name FROM cw_pk WHERE id = {rng.randint(1, 10**6)}".encode())
            for _ in range(WORKLOAD["cw_param"]):
                conn.execute("SELECT name FROM cw_param WHERE id = %s AND name <> %s",
                             (rng.randint(1, 10**6), f"n{rng.randint(0, 9)}"))
            for _ in range(WORKLOAD["cw_inlist"]):
                ids = ", ".join(str(rng.randint(1, 999)) for _ in range(rng.randint(1, 25)))
                conn.execute(f"SELECT * FROM cw_inlist WHERE id IN ({ids})".encode())
            for _ in range(WORKLOAD["cw_multi"]):
                rows = ", ".join(f"({rng.randint(1, 10**12)}, 'n{rng.randint(0, 99)}')" for _ in range(rng.randint(1, 6)))
                conn.execute(f"INSERT INTO cw_multi (id, name) VALUES {rows} ON CONFLICT DO NOTHING".encode())
            for _ in range(WORKLOAD["cw_lines"]):
                conn.execute(
                    f"SELECT a.id,\n       a.name\n  FROM cw_lines a\n WHERE a.name LIKE 'n{rng.randint(0, 9)}%'\n"
                    " ORDER BY a.id".encode()
                )
            conn.execute(f"SELECT '{marker}'".encode())
        finally:
            conn.execute("RESET log_min_duration_statement")
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    deadline = time.monotonic() + 10
    while True:
        with open(log, "rb") as fh:
            fh.seek(start)
            data = fh.read()
        if marker.encode() in data or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    dest = tmp_path_factory.mktemp("postgres") / "postgresql.log"
    dest.write_bytes(data)
    return dest


def test_counts_per_shape_equal_the_workload(postgres_log: Path) -> None:
    digest = digest_all(postgres_log)
    for table, expected in WORKLOAD.items():
        shapes = [s for s in digest.shapes if f" {table} " in f" {s.fingerprint} " and not s.fingerprint.startswith("create")]
        assert len(shapes) == 1, (table, [s.fingerprint for s in shapes])
        shape = shapes[0]
        assert shape.count == expected, table
        assert shape.engine == "postgres"
        assert shape.users == {"postgres": expected}
        assert shape.namespace == "test"
        assert shape.min_ms <= shape.p50_ms <= shape.p95_ms <= shape.max_ms
    param = next(s for s in digest.shapes if " cw_param " in f" {s.fingerprint} ")
    assert "$1" in param.fingerprint and "$2" in param.fingerprint  # bind parameters stay placeholders
    assert "parameters" in param.extra
    lines = next(s for s in digest.shapes if " cw_lines " in f" {s.fingerprint} ")
    assert "\n" in lines.example and "\n" not in lines.fingerprint


def test_pgbadger_sample_logs() -> None:
    light = digest_all(DATA / "slowlog" / "postgres" / "pgbadger" / "light.postgres.log.bz2")
    # pgBadger's own test expects this log to hold pgbench's statements; every duration line is an entry.
    import bz2

    raw = bz2.open(DATA / "slowlog" / "postgres" / "pgbadger" / "light.postgres.log.bz2", "rt").read()
    assert light.summary["entries"] == raw.count("LOG:  duration: ")
    assert light.summary["unparsed"] == 0
    assert any(s.fingerprint.startswith("update pgbench_accounts set abalance") for s in light.shapes)
    assert sum(s.total_ms for s in light.shapes) == pytest.approx(
        sum(float(line.split("duration: ")[1].split(" ms")[0]) for line in raw.splitlines() if "duration: " in line)
    )
    queryid = digest_all(DATA / "slowlog" / "postgres" / "pgbadger" / "queryid.log.gz")
    assert queryid.summary["unparsed"] == 0
    assert any("\n" in s.example for s in queryid.shapes)  # multi-line statements kept whole
    rds = digest_all(DATA / "slowlog" / "postgres" / "pgbadger" / "pg-timezones.log")
    assert {s.users.get("user") for s in rds.shapes} == {1}
