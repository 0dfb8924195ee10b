"""Generate realistic MySQL/MariaDB slow logs and PostgreSQL stderr logs with a known truth per query shape.

Hundreds of shapes with Zipf-like frequencies; literals vary on every entry (numbers, strings, IN lists of
varying length, multi-row INSERTs), some statements carry comments or span lines, PostgreSQL uses both simple
``statement:`` and extended-protocol ``execute`` + ``DETAIL: parameters``. Every shape touches a table named
``tbl_<letters>`` unique to it, so the benchmark can find each shape in any tool's output without relying on
the fingerprinter under test. Durations are whole microseconds so totals compare exactly.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

_LETTERS = string.ascii_lowercase


def token(k: int) -> str:
    out = ""
    k += 26 * 26  # at least three letters
    while k:
        k, r = divmod(k, 26)
        out = _LETTERS[r] + out
    return out


@dataclass
class Truth:
    count: dict[str, int] = field(default_factory=dict)  # table token -> entries
    total_us: dict[str, int] = field(default_factory=dict)  # table token -> summed duration, microseconds

    def add(self, tok: str, us: int) -> None:
        self.count[tok] = self.count.get(tok, 0) + 1
        self.total_us[tok] = self.total_us.get(tok, 0) + us


def _ints(rng: random.Random, n: int) -> str:
    return ", ".join(str(rng.randint(1, 10**6)) for _ in range(n))


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(3, 12)))


def mysql_statement(kind: int, tbl: str, rng: random.Random) -> str:
    if kind == 0:
        return f"SELECT id, name, status FROM {tbl} WHERE id = {rng.randint(1, 10**7)}"
    if kind == 1:
        return f"SELECT * FROM {tbl} WHERE user_id IN ({_ints(rng, rng.randint(1, 40))}) AND status = '{_word(rng)}'"
    if kind == 2:
        rows = ", ".join(f"({rng.randint(1, 10**6)}, '{_word(rng)}', {rng.random():.4f})" for _ in range(rng.randint(1, 20)))
        return f"INSERT INTO {tbl} (user_id, note, score) VALUES {rows}"
    if kind == 3:
        return f"UPDATE {tbl} SET status = '{_word(rng)}', updated_at = NOW() WHERE id = {rng.randint(1, 10**7)}"
    if kind == 4:
        return (f"/* app:checkout req:{_word(rng)} */ SELECT o.id, o.total FROM {tbl} o WHERE o.email = "
                f"'{_word(rng)}@example.com' ORDER BY o.created_at DESC LIMIT {rng.randint(1, 50)}")
    if kind == 5:
        return f"DELETE FROM {tbl} WHERE created_at < '2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}' LIMIT 1000"
    return (f"SELECT c.name, SUM(i.amount) AS spent\n  FROM {tbl} c\n  JOIN items i ON i.customer_id = c.id\n"
            f" WHERE c.region = '{_word(rng)}'\n   AND i.amount > {rng.randint(1, 500)}\n GROUP BY c.name")


def postgres_statement(kind: int, tbl: str, rng: random.Random) -> tuple[str, str | None]:
    """(statement, parameters) — parameters set for extended-protocol executes."""
    if kind == 0:
        return f"SELECT id, name, status FROM {tbl} WHERE id = $1", f"$1 = '{rng.randint(1, 10**7)}'"
    if kind == 1:
        return f"SELECT * FROM {tbl} WHERE user_id IN ({_ints(rng, rng.randint(1, 40))}) AND status = '{_word(rng)}'", None
    if kind == 2:
        rows = ", ".join(f"({rng.randint(1, 10**6)}, '{_word(rng)}')" for _ in range(rng.randint(1, 20)))
        return f"INSERT INTO {tbl} (user_id, note) VALUES {rows}", None
    if kind == 3:
        return f"UPDATE {tbl} SET status = $1 WHERE id = $2", f"$1 = '{_word(rng)}', $2 = '{rng.randint(1, 10**6)}'"
    if kind == 4:
        return (f"/* app:checkout */ SELECT o.id, o.total FROM {tbl} o WHERE o.email = '{_word(rng)}@example.com' "
                f"ORDER BY o.created_at DESC LIMIT {rng.randint(1, 50)}"), None
    if kind == 5:
        return f"DELETE FROM {tbl} WHERE created_at < '2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}'", None
    return (f"SELECT c.name, SUM(i.amount) AS spent\n\tFROM {tbl} c\n\tJOIN items i ON i.customer_id = c.id\n"
            f"\tWHERE c.region = '{_word(rng)}' AND i.amount > {rng.randint(1, 500)}\n\tGROUP BY c.name"), None


KINDS = 7


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1.0 / (k + 1) ** s for k in range(n)]


def write_mysql(path: str, *, target_bytes: int, shapes: int = 400, seed: int = 1) -> Truth:
    rng = random.Random(seed)
    truth = Truth()
    weights = _zipf_weights(shapes)
    ts = 1_732_000_000
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write("/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). started with:\n"
                  "Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime\t\t    Id Command\tArgument\n")
        batch: list[str] = []
        while written < target_bytes:
            for k in rng.choices(range(shapes), weights=weights, k=2000):
                tok = token(k)
                stmt = mysql_statement(k % KINDS, f"tbl_{tok}", rng)
                us = int(rng.paretovariate(1.5) * 200)
                truth.add(tok, us)
                ts += rng.random() < 0.3
                examined = rng.randint(0, 100_000)
                head = f"# Time: {_mariadb_time(ts)}\n" if rng.random() < 0.5 else ""
                text = (
                    f"{head}# User@Host: app{k % 7}[app{k % 7}] @ web{k % 5} [10.0.0.{k % 250}]\n"
                    f"# Thread_id: {rng.randint(1, 9999)}  Schema: shop{k % 3}  QC_hit: No\n"
                    f"# Query_time: {us / 1e6:.6f}  Lock_time: {rng.randint(0, us) / 1e6:.6f}  "
                    f"Rows_sent: {rng.randint(0, 100)}  Rows_examined: {examined}\n"
                    f"# Rows_affected: 0  Bytes_sent: {rng.randint(50, 5000)}\n"
                    f"SET timestamp={ts};\n{stmt};\n"
                )
                batch.append(text)
                written += len(text)
            out.write("".join(batch))
            batch.clear()
    return truth


def _mariadb_time(ts: int) -> str:
    import time

    t = time.gmtime(ts)
    return f"{t.tm_year % 100:02d}{t.tm_mon:02d}{t.tm_mday:02d} {t.tm_hour:2d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def write_postgres(path: str, *, target_bytes: int, shapes: int = 400, seed: int = 2) -> Truth:
    import time

    rng = random.Random(seed)
    truth = Truth()
    weights = _zipf_weights(shapes)
    ts = 1_732_000_000.0
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        batch: list[str] = []
        while written < target_bytes:
            for k in rng.choices(range(shapes), weights=weights, k=2000):
                tok = token(k)
                stmt, params = postgres_statement(k % KINDS, f"tbl_{tok}", rng)
                us = int(rng.paretovariate(1.5) * 200)
                truth.add(tok, us)
                ts += rng.random() / 10
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d} UTC"
                pid = rng.randint(1000, 60000)
                prefix = f"{stamp} [{pid}] app{k % 7}@shop{k % 3} "
                if params is not None:
                    text = (f"{prefix}LOG:  duration: {us / 1000:.3f} ms  execute <unnamed>: {stmt}\n"
                            f"{prefix}DETAIL:  parameters: {params}\n")
                else:
                    text = f"{prefix}LOG:  duration: {us / 1000:.3f} ms  statement: {stmt}\n"
                if rng.random() < 0.02:  # other log lines pgBadger and we must skip
                    text += f"{prefix}LOG:  connection authorized: user=app{k % 7} database=shop{k % 3}\n"
                batch.append(text)
                written += len(text)
            out.write("".join(batch))
            batch.clear()
    return truth
