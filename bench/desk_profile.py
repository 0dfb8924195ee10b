"""In-process CPU per request of the desk's hot URLs (the bench's own URLs and user), for profiling.

    .venv/bin/python bench/desk_profile.py [--backend postgres|sqlite] [--n 150] [--only NAME] [--profile NAME]
                                           [--distribution] [--instructions]

Calls Django's WSGI handler directly (no HTTP server, no client), after ``desk_scale_bench.py`` has filled the
database. Prints, per URL, the Python CPU ms per request of this process and — on PostgreSQL — the CPU of this
connection's backend read from ``/proc`` (PostgreSQL runs on this machine). ``--profile NAME`` writes a cProfile
of that URL to ``/tmp/desk_profile.out`` and prints the top functions; ``--distribution`` the spread of the
per-request times and the garbage collector's passes; ``--instructions`` instructions per request (perf stat, where
the machine supports it). Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import desk_scale_bench as bench  # noqa: E402


def _backend_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _perf_start(pids: list[int]) -> subprocess.Popen[str]:
    """Count instructions of ``pids`` with ``perf stat`` until :func:`_perf_stop` (load-independent, unlike CPU
    time on a shared machine)."""
    proc = subprocess.Popen(["perf", "stat", "-e", "instructions", "-x", ",", "-p", ",".join(map(str, pids))],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)  # perf attaches
    return proc


def _perf_stop(proc: subprocess.Popen[str]) -> float:
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate()
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("instructions"):
            return float(fields[0])
    raise SystemExit(f"perf stat gave no instruction count: {err.strip()}")


class _GcTimer:
    """A ``gc.callbacks`` entry: collections by generation and their total time."""

    def __init__(self) -> None:
        self.passes = [0, 0, 0]
        self.ms = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.passes[info["generation"]] += 1
            self.ms += (time.perf_counter() - self._start) * 1000


def _quantile(sorted_ms: list[float], f: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(f * len(sorted_ms)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--distribution", action="store_true",
                        help="also print the spread of per-request wall times (p50/p95/p99/max) and the GC passes:"
                             " what, besides the mean, makes a load test's p95")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per request with perf stat (Python + PostgreSQL backend)")
    args = parser.parse_args()
    os.environ.update(bench._env(args.backend))
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection


    targets = bench._targets((bench.SQLITE_HOME / f"token_{args.backend}").read_text().strip())
    handler = WSGIHandler()

    def call(path: str, headers: dict[str, str]) -> int:
        url, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": url, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
        }
        for k, v in headers.items():
            environ["HTTP_" + k.upper().replace("-", "_")] = v
        status: list[str] = []
        body = handler(environ, lambda s, h, exc_info=None: status.append(s))
        for _chunk in body:
            pass
        getattr(body, "close", lambda: None)()
        return int(status[0].split()[0])

    for target in targets:
        name = str(target["name"])
        if args.only and args.only not in name:
            continue
        paths: list[str] = list(target["paths"])  # type: ignore[arg-type]
        headers: dict[str, str] = target["headers"]  # type: ignore[assignment]
        for i in range(5):
            code = call(paths[i % len(paths)], headers)
            if code != 200:
                raise SystemExit(f"{name}: {paths[i % len(paths)]} answered {code}")
        pid = None
        if args.backend == "postgres":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
        prof = cProfile.Profile() if args.profile and args.profile in name else None
        perf = _perf_start([os.getpid()] + ([pid] if pid else [])) if args.instructions else None
        pg0, cpu0, wall0 = _backend_cpu(pid), time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        walls: list[float] = []
        gc_timer = _GcTimer()
        if args.distribution:
            gc.callbacks.append(gc_timer)
        for i in range(args.n):
            t0 = time.perf_counter()
            call(paths[i % len(paths)], headers)
            walls.append(time.perf_counter() - t0)
        if args.distribution:
            gc.callbacks.remove(gc_timer)
        if prof:
            prof.disable()
        cpu = (time.process_time() - cpu0) * 1000 / args.n
        pg = (_backend_cpu(pid) - pg0) * 1000 / args.n
        wall = (time.perf_counter() - wall0) * 1000 / args.n
        instr = f"  {_perf_stop(perf) / args.n / 1e6:7.2f} M instructions" if perf else ""
        print(f"{name:32s} python {cpu:6.2f} ms  pg {pg:5.2f} ms  total {cpu + pg:6.2f} ms  wall {wall:6.2f} ms{instr}")
        if args.distribution:
            ms = sorted(w * 1000 for w in walls)
            p50, p95, p99 = (_quantile(ms, f) for f in (0.5, 0.95, 0.99))
            print(f"{'':32s} p50 {p50:6.2f}  p95 {p95:6.2f}  p99 {p99:6.2f}  max {ms[-1]:6.2f} ms;"
                  f" GC passes by generation {gc_timer.passes}, {gc_timer.ms:.1f} ms in all")
        if prof:
            prof.dump_stats("/tmp/desk_profile.out")
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
