"""Golden test on a real slow log: the machine's MariaDB writes it while a known workload runs, then casework
must count every shape exactly as the workload ran it — and group the file as pt-query-digest does."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

import pytest

from services import MARIADB, require_binary, require_port
from slowlog_sql_helpers import digest_all, pt_groups

pytestmark = pytest.mark.mariadb

# Table per shape, so a shape is found by its table without trusting the fingerprinter under test.
WORKLOAD = {"cw_pk": 23, "cw_inlist": 17, "cw_multi": 11, "cw_comment": 9, "cw_update": 13, "cw_join": 5}


def _run_workload(cur, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    for _ in range(WORKLOAD["cw_pk"]):
        cur.execute(f"SELECT id, name FROM cw_pk WHERE id = {rng.randint(1, 10**6)}")
    for _ in range(WORKLOAD["cw_inlist"]):
        ids = ", ".join(str(rng.randint(1, 999)) for _ in range(rng.randint(1, 30)))
        cur.execute(f"SELECT * FROM cw_inlist WHERE id IN ({ids})")
    for _ in range(WORKLOAD["cw_multi"]):
        rows = ", ".join(f"({rng.randint(1, 10**9)}, 'n{rng.randint(0, 99)}')" for _ in range(rng.randint(1, 8)))
        cur.execute(f"INSERT IGNORE INTO cw_multi (id, name) VALUES {rows}")
    for i in range(WORKLOAD["cw_comment"]):
        cur.execute(f"/* app:test req:{i} */ SELECT name FROM cw_comment WHERE name = 'x{rng.randint(0, 9)}' -- end")
    for _ in range(WORKLOAD["cw_update"]):
        cur.execute(f"UPDATE cw_update SET name = 'v{rng.randint(0, 99)}' WHERE id = {rng.randint(1, 50)}")
    for _ in range(WORKLOAD["cw_join"]):
        cur.execute(
            "SELECT a.id, b.name\n  FROM cw_join a\n  JOIN cw_pk b ON b.id = a.id\n"
            f" WHERE a.name LIKE 'n{rng.randint(0, 9)}%'\n ORDER BY a.id ASC"
        )


@pytest.fixture(scope="module")
def mariadb_log(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    require_port("MariaDB", MARIADB["host"], MARIADB["port"])
    import pymysql

    log = Path("/tmp") / f"casework-slowlog-{uuid.uuid4().hex}.log"
    conn = pymysql.connect(host=MARIADB["host"], port=MARIADB["port"], user=MARIADB["user"],
                           password=MARIADB["password"], autocommit=True)
    cur = conn.cursor()
    cur.execute("SELECT @@global.slow_query_log, @@global.slow_query_log_file")
    old_on, old_file = cur.fetchone()
    db = f"cw_slowlog_{uuid.uuid4().hex[:8]}"
    try:
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"USE {db}")
        for table in WORKLOAD:
            cur.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(20))")
        cur.execute("INSERT INTO cw_update VALUES " + ", ".join(f"({i}, 'n{i}')" for i in range(1, 51)))
        cur.execute("SET GLOBAL slow_query_log_file = %s", (str(log),))
        cur.execute("SET GLOBAL slow_query_log = 1")
        # MariaDB decides at connect time whether a session logs: the workload gets its own connection, and
        # only it logs every statement (long_query_time=0); the global threshold stays as it was.
        work = pymysql.connect(host=MARIADB["host"], port=MARIADB["port"], user=MARIADB["user"],
                               password=MARIADB["password"], database=db, autocommit=True)
        try:
            wcur = work.cursor()
            wcur.execute("SET SESSION long_query_time = 0")
            _run_workload(wcur, random.Random(7))
        finally:
            work.close()
    finally:
        cur.execute("SET GLOBAL slow_query_log = %s", (old_on,))
        cur.execute("SET GLOBAL slow_query_log_file = %s", (old_file,))
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        conn.close()
    dest = tmp_path_factory.mktemp("mariadb") / "slow.log"
    dest.write_bytes(log.read_bytes())
    os.unlink(log)
    return dest


def _by_table(digest):  # type: ignore[no-untyped-def]
    found: dict[str, list] = {t: [] for t in WORKLOAD}
    for s in digest.shapes:
        for table in WORKLOAD:
            if f" {table} " in f" {s.fingerprint} " and not s.fingerprint.startswith(("create", "insert into cw_update")):
                if table == "cw_pk" and "cw_join" in s.fingerprint:
                    continue
                found[table].append(s)
    return found


def test_counts_per_shape_equal_the_workload(mariadb_log: Path) -> None:
    digest = digest_all(mariadb_log)
    assert digest.summary["unparsed"] == 0
    found = _by_table(digest)
    for table, expected in WORKLOAD.items():
        shapes = found[table]
        assert len(shapes) == 1, (table, [s.fingerprint for s in shapes])
        shape = shapes[0]
        assert shape.count == expected, table
        assert shape.engine == "mysql"
        assert shape.namespace and shape.namespace.startswith("cw_slowlog_")
        assert shape.users == {"root": expected}
        assert shape.first_seen is not None and shape.total_ms > 0
        assert shape.min_ms <= shape.p50_ms <= shape.p95_ms <= shape.max_ms
    assert "app:test" not in found["cw_comment"][0].fingerprint  # comments are not part of the shape
    assert "\n" not in found["cw_join"][0].fingerprint


def test_groups_like_pt_query_digest(mariadb_log: Path) -> None:
    binary = require_binary("pt-query-digest")
    theirs = pt_groups(binary, mariadb_log)
    ours = {s.fingerprint: (s.count, s.total_ms / 1000) for s in digest_all(mariadb_log).shapes}
    assert {k: v[0] for k, v in ours.items()} == {k: v[0] for k, v in theirs.items()}
    for fp, (_, total) in theirs.items():
        assert ours[fp][1] == pytest.approx(total, abs=1e-5)
