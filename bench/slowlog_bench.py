"""Slow-log digest benchmark (SQL): casework vs pt-query-digest (MySQL) and pgbadger -j 2 (PostgreSQL).

Generates ~200 MB logs of each kind (``bench/slowlog_sql_gen.py``: hundreds of shapes, Zipf-like frequencies,
IN lists, multi-row INSERTs, comments, execute + parameters), runs every tool in the same run, measures wall
time (MB/s) and peak RSS, and checks that casework's count and total time per shape equal the generator's truth.

    .venv/bin/python bench/slowlog_bench.py [--mb 200] [--keep DIR] [--skip-peers] [--reference]

Peak RSS: the largest single process (``wait4``'s ``ru_maxrss``) and the whole process tree sampled every
50 ms from /proc (casework's worker processes run side by side).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slowlog_sql_gen as gen  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASEWORK = [str(ROOT / ".venv" / "bin" / "casework")]


@dataclass
class Run:
    tool: str
    seconds: float
    max_rss_mb: float
    tree_rss_mb: float
    stdout: str
    cpu_seconds: float = 0.0  # user + system of the process and its reaped children (worker processes)


def _tree_rss_kb(root: int) -> int:
    """Sum of VmRSS over ``root`` and its descendants."""
    total = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(tool: str, cmd: list[str], *, stdout_path: str | None = None, env: dict[str, str] | None = None) -> Run:
    out = open(stdout_path, "w") if stdout_path else subprocess.PIPE  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env} if env else None)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout = proc.stdout.read() if proc.stdout else ""  # type: ignore[union-attr]
    stderr = proc.stderr.read() if proc.stderr else ""  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if stdout_path:
        out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"{tool} failed ({proc.returncode}): {stderr[-2000:]}")
    return Run(tool, seconds, usage.ru_maxrss / 1024, peak / 1024, stdout, usage.ru_utime + usage.ru_stime)


def check_truth(doc: dict, truth: gen.Truth) -> tuple[bool, str]:  # type: ignore[type-arg]
    """Every generated shape is exactly one casework shape with the generator's count and total."""
    by_token: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for shape in doc["shapes"]:
        for word in shape["fingerprint"].replace("(", " ").replace(",", " ").split():
            if word.startswith("tbl_"):
                by_token.setdefault(word[4:], []).append(shape)
    bad = []
    for tok, count in truth.count.items():
        shapes = by_token.get(tok, [])
        if len(shapes) != 1:
            bad.append(f"tbl_{tok}: {len(shapes)} shapes")
            continue
        s = shapes[0]
        if s["count"] != count or abs(s["total_ms"] - truth.total_us[tok] / 1000) > 1e-3 * max(1, count) ** 0.5:
            bad.append(f"tbl_{tok}: casework {s['count']}/{s['total_ms']} ms, truth {count}/{truth.total_us[tok] / 1000} ms")
    extra = len(doc["shapes"]) - len(truth.count)
    if extra:
        bad.append(f"{extra} shapes more than generated")
    return not bad, "; ".join(bad[:5]) or "all shapes equal"


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    return f"{os.cpu_count()} CPUs ({cpu}), {mem / 1024 / 1024:.1f} GB RAM, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200, help="size of each generated log")
    ap.add_argument("--keep", help="directory to keep the logs in (default: a temporary one)")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--reference", action="store_true",
                    help="also run casework without the chunk fast scan (CASEWORK_SLOWLOG_FAST=0), same logs")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="casework-slowlog-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results = []
    for engine, writer, peer in (
        ("mysql", gen.write_mysql, "pt-query-digest"),
        ("postgres", gen.write_postgres, "pgbadger -j 2"),
    ):
        log = work / f"{engine}-slow.log"
        t = time.perf_counter()
        truth = writer(str(log), target_bytes=args.mb << 20)
        size_mb = log.stat().st_size / (1 << 20)
        print(f"{engine}: generated {size_mb:.0f} MB, {sum(truth.count.values()):,} entries, "
              f"{len(truth.count)} shapes in {time.perf_counter() - t:.1f}s", flush=True)
        ours = measure("casework", [*CASEWORK, "slowlog", str(log), "--format", "json", "--top", "0"])
        ok, why = check_truth(json.loads(ours.stdout), truth)
        print(f"  casework: {ours.seconds:.1f}s = {size_mb / ours.seconds:.1f} MB/s, peak RSS {ours.max_rss_mb:.0f} MB "
              f"(tree {ours.tree_rss_mb:.0f} MB); truth check: {'OK' if ok else 'FAILED'} ({why})", flush=True)
        row = {"engine": engine, "mb": size_mb, "casework": ours, "truth_ok": ok, "truth": why, "peer": None,
               "reference": None}
        if args.reference:
            ref = measure("casework (reference)", [*CASEWORK, "slowlog", str(log), "--format", "json", "--top", "0"],
                          env={"CASEWORK_SLOWLOG_FAST": "0"})
            same = json.loads(ref.stdout)["shapes"] == json.loads(ours.stdout)["shapes"]
            row["reference"] = ref
            print(f"  casework, reference parsers: {ref.seconds:.1f}s = {size_mb / ref.seconds:.1f} MB/s, peak RSS "
                  f"{ref.max_rss_mb:.0f} MB (tree {ref.tree_rss_mb:.0f} MB); fast scan is "
                  f"{ref.seconds / ours.seconds:.2f}x faster; shapes identical: {same}", flush=True)
            print(f"  CPU (user+sys, all processes): fast scan {ours.cpu_seconds:.1f}s, reference "
                  f"{ref.cpu_seconds:.1f}s = {ref.cpu_seconds / max(ours.cpu_seconds, 1e-9):.2f}x less CPU "
                  "(robust to other load, unlike wall time)", flush=True)
            ok = ok and same
            row["truth_ok"] = ok
        if not args.skip_peers:
            if engine == "mysql" and shutil.which("pt-query-digest"):
                theirs = measure(peer, ["pt-query-digest", "--limit", "1000000", "--output", "json", str(log)],
                                 stdout_path=str(work / "pt.json"))
            elif engine == "postgres" and shutil.which("pgbadger"):
                theirs = measure(peer, ["pgbadger", "-j", "2", "-q", "-f", "stderr", "-o", str(work / "pgbadger.html"),
                                        str(log)])
            else:
                theirs = None
            if theirs is not None:
                row["peer"] = theirs
                print(f"  {peer}: CPU {theirs.cpu_seconds:.1f}s (casework {ours.cpu_seconds:.1f}s)", flush=True)
                print(f"  {peer}: {theirs.seconds:.1f}s = {size_mb / theirs.seconds:.1f} MB/s, peak RSS "
                      f"{theirs.max_rss_mb:.0f} MB (tree {theirs.tree_rss_mb:.0f} MB); casework is "
                      f"{theirs.seconds / ours.seconds:.1f}x faster", flush=True)
        results.append((row, peer))
        print(f"  load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print()
    print(f"Machine: {machine()}")
    print("| Log | Size | Tool | Time | MB/s | Peak RSS (largest process / tree) | Speed-up | Per-shape totals = truth |")
    print("|---|---|---|---|---|---|---|---|")
    for row, peer in results:
        ours = row["casework"]
        theirs = row["peer"]
        up = f"{theirs.seconds / ours.seconds:.1f}x" if theirs else "-"
        print(f"| {row['engine']} | {row['mb']:.0f} MB | casework | {ours.seconds:.1f}s | {row['mb'] / ours.seconds:.1f} | "
              f"{ours.max_rss_mb:.0f} / {ours.tree_rss_mb:.0f} MB | {up} | {'yes' if row['truth_ok'] else 'NO: ' + row['truth']} |")
        if row["reference"]:
            ref = row["reference"]
            ref_up = f"{theirs.seconds / ref.seconds:.1f}x" if theirs else "-"
            print(f"| {row['engine']} | {row['mb']:.0f} MB | casework, reference parsers | {ref.seconds:.1f}s | "
                  f"{row['mb'] / ref.seconds:.1f} | {ref.max_rss_mb:.0f} / {ref.tree_rss_mb:.0f} MB | {ref_up} | - |")
        if theirs:
            print(f"| {row['engine']} | {row['mb']:.0f} MB | {peer} | {theirs.seconds:.1f}s | {row['mb'] / theirs.seconds:.1f} | "
                  f"{theirs.max_rss_mb:.0f} / {theirs.tree_rss_mb:.0f} MB | 1.0x | - |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if not all(row["truth_ok"] for row, _ in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
