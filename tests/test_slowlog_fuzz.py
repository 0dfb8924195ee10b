"""Fuzzing every parser and the whole pipeline: any input yields entries, counted unparsed lines or a clean
InputError — never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.diagnostics.report import InputError
from casework.diagnostics.slowlog import detect
from casework.diagnostics.slowlog.digest import Options
from casework.diagnostics.slowlog.entry import ParseStats
from casework.diagnostics.slowlog.pipeline import digest_inputs
from conftest import DATA

# Real lines of every format, shuffled and cut, find the corners random text never reaches.
_SEEDS = [
    "# Time: 071218 11:48:27 # User@Host: [SQL_SLAVE] @  []\n", "# User@Host: root[root] @ localhost [127.0.0.1]  Id: 3\n",
    "# Thread_id: 5  Schema:   QC_hit: No\n", "# Query_time: 0.1  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 9\n",
    "# administrator command: Quit;\n", "use db1;\n", "SET timestamp=1197996507;\n", "SELECT * FROM t WHERE a = 'x';\n",
    "/usr/sbin/mysqld, Version: 5.7 started with:\n", "Tcp port: 3306  Unix socket: x\n", "Time Id Command Argument\n",
    "2024-01-01 00:00:00.1 UTC [1] u@d LOG:  duration: 1.5 ms  statement: select 1\n", "\tFROM t\n",
    "2024-01-01 00:00:00 UTC [1] u@d LOG:  duration: 2 ms  execute <unnamed>: select $1\n",
    "2024-01-01 00:00:00 UTC [1] u@d DETAIL:  parameters: $1 = '1'\n",
    '2024-01-01 00:00:00.000 UTC,"u","d",1,"h:1",a,1,"SELECT",2024-01-01,3/4,0,LOG,00000,"duration: 1 ms  statement: select 1",,,,,,,,,"psql"\n',
    '{"timestamp":"2024-01-01 00:00:00 UTC","user":"u","dbname":"d","error_severity":"LOG","message":"duration: 1 ms  statement: x"}\n',
    ";\n#", "\n", "'", '"', "/*", "*/", "-- c\n", "\x00", "\ufffd",
]
lines = st.lists(st.one_of(st.sampled_from(_SEEDS), st.text(max_size=80)), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines, st.sampled_from(sorted(detect.formats())))
def test_every_parser_survives_anything(parts: list[str], fmt: str) -> None:
    module, sub = detect.for_format(fmt)
    stats = ParseStats()
    text = "".join(parts)
    try:
        entries = list(module.parse(text.splitlines(keepends=True), source="fuzz", stats=stats, fmt=sub))
    except InputError:
        return
    for e in entries:
        assert isinstance(e.fingerprint, str)
        assert e.duration_ms == e.duration_ms  # not NaN
        assert e.line >= 1
    assert stats.unparsed >= 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000) | lines.map(lambda p: "".join(p).encode("utf-8", "surrogatepass")))
def test_pipeline_on_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.log"
    path.write_bytes(data)
    try:
        digest = digest_inputs([str(path)], options=Options(top=0), workers=1)
    except InputError as exc:
        assert "fuzz.log" in exc.one_line()
        return
    assert digest.summary["entries"] == sum(s.count for s in digest.shapes)


def test_non_utf8_lines_are_counted(tmp_path: Path) -> None:
    src = (DATA / "slowlog" / "mysql" / "pt" / "slow002.txt").read_bytes()
    gbk = "-- 慢查询 注释\n".encode("gbk")
    data = src.replace(b"BEGIN;\n", b"BEGIN;\n" + gbk, 1)
    path = tmp_path / "gbk.log"
    path.write_bytes(data)
    digest = digest_inputs([str(path)], options=Options(top=0), workers=1)
    assert digest.summary["decode_errors"] == 1
    assert digest.summary["entries"] > 0
