"""MongoDB slow-log digest benchmark: casework vs ``mloginfo --queries`` (mtools), one command.

    .venv/bin/python bench/slowlog_mongodb_bench.py [--size-mb 200] [--mloginfo PATH] [--write-results]
        [--formats json,text] [--repeat N] [--reuse]

Generates a ~200 MB mongod 4.4+ JSON log and a ~200 MB ≤ 4.2 text log (bench/slowlog_mongodb_gen.py:
hundreds of shapes, Zipf-like frequencies, $in lists of varying length, oplog tailing, sessions, TTL),
runs ``casework slowlog FILE --format json --top 0`` on each and ``mloginfo --queries`` on the text log
(mloginfo cannot read 4.4+ JSON logs), measures wall time, CPU seconds (user + sys, all processes), MB/s
and peak RSS (``/usr/bin/time -v``) of each (the fastest of ``--repeat`` runs), and checks that casework's count and total per shape equal the generator's truth. Targets (issue 3):
casework ≥ 20× mloginfo on the text log, ≥ 60 MB/s on the JSON log.

mloginfo comes from PyPI's mtools (the ``bench`` extra): ``python3 -m venv /tmp/mtools-venv &&
/tmp/mtools-venv/bin/pip install mtools python-dateutil``. It refuses to run unless stdin is a terminal,
so it runs with a pseudo-terminal as stdin.

``--reuse`` keeps generated logs (and their truth, in a ``.truth.json`` beside them) between runs; ``--formats``
picks the logs. On a shared machine, compare CPU seconds rather than wall time (two runs in a row, or an A/B
with ``PYTHONPATH=<other checkout>/src``, which the casework subprocess inherits).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from slowlog_mongodb_gen import generate  # noqa: E402

SECTION = "## Slow-log digest (MongoDB)"


def timed(cmd: list[str], *, tty_stdin: bool = False) -> tuple[float, float, str, float]:
    """(seconds, peak RSS MB, stdout, CPU seconds user + sys) of ``cmd`` run under /usr/bin/time -v."""
    stdin = None
    if tty_stdin:
        _master, slave = os.openpty()
        stdin = slave
    with tempfile.NamedTemporaryFile("w+", suffix=".time") as tf:
        start = time.perf_counter()
        out = subprocess.run(
            ["/usr/bin/time", "-v", "-o", tf.name, *cmd],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        report = Path(tf.name).read_text()
    if out.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({out.returncode}): {out.stderr[-2000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", report))
    return elapsed, (int(m.group(1)) / 1024 if m else float("nan")), out.stdout, cpu


def best_of(n: int, cmd: list[str], **kwargs) -> tuple[float, float, str, float]:
    """The fastest (wall) of ``n`` runs, with the fewest CPU seconds seen (both vary with the machine's load)."""
    runs = [timed(cmd, **kwargs) for _ in range(max(1, n))]
    fastest = min(runs, key=lambda r: r[0])
    return fastest[0], fastest[1], fastest[2], min(r[3] for r in runs)


def generated(path: Path, *, fmt: str, size_mb: float, reuse: bool) -> dict:
    """The generator's truth for ``path``, writing the log unless ``reuse`` finds it (and its truth) there."""
    truth_path = path.with_suffix(path.suffix + ".truth.json")
    if reuse and path.exists() and truth_path.exists():
        meta = json.loads(truth_path.read_text())
        if meta.get("size_mb") == size_mb:
            return meta["truth"]
    truth = generate(path, fmt=fmt, size_mb=size_mb, seed=42, templates=600)
    truth_path.write_text(json.dumps({"size_mb": size_mb, "truth": truth}))
    return truth


def check_truth(doc: dict, truth: dict) -> tuple[int, list[str]]:
    shapes = {s["fingerprint"]: s for s in doc["shapes"] if s["engine"] == "mongodb"}
    problems = []
    for fp, t in truth.items():
        s = shapes.get(fp)
        if s is None:
            problems.append(f"missing shape {fp}")
        elif s["count"] != t["count"] or abs(s["total_ms"] - t["total_ms"]) > 1e-6 * max(1, t["total_ms"]):
            problems.append(
                f"{fp}: casework {s['count']}/{s['total_ms']} vs truth {t['count']}/{t['total_ms']}"
            )
    problems += [f"unexpected shape {fp}" for fp in shapes if fp not in truth]
    return len(shapes), problems


def mloginfo_total(stdout: str) -> int:
    """Sum of mloginfo's per-pattern counts (its QUERIES table)."""
    total = 0
    for line in stdout.splitlines():
        cols = re.split(r"\s{2,}", line.strip())
        if len(cols) >= 8 and cols[2].startswith("{") and cols[3].isdigit():
            total += int(cols[3])
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=200.0)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "casework-mongo-bench")
    ap.add_argument("--mloginfo", default=shutil.which("mloginfo") or "/tmp/mtools-venv/bin/mloginfo")
    ap.add_argument(
        "--write-results", action="store_true", help=f"replace the '{SECTION}' section of RESULTS.md"
    )
    ap.add_argument("--formats", default="json,text", help="logs to measure: json, text or both (default)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each tool; the fastest is reported")
    ap.add_argument("--reuse", action="store_true", help="keep generated logs between runs")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    casework = str(ROOT / ".venv" / "bin" / "casework")
    rows = []
    ok = True
    for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
        if fmt not in ("json", "text"):
            raise SystemExit(f"--formats: unknown log {fmt!r} (json, text)")
        path = args.workdir / f"mongod.{fmt}.log"
        t0 = time.perf_counter()
        truth = generated(path, fmt=fmt, size_mb=args.size_mb, reuse=args.reuse)
        size = path.stat().st_size / 1e6
        entries = sum(t["count"] for t in truth.values())
        print(
            f"generated {path} {size:.0f} MB, {entries} slow entries, {len(truth)} shapes "
            f"in {time.perf_counter() - t0:.0f}s",
            file=sys.stderr,
        )
        secs, rss, out, cpu = best_of(
            args.repeat, [casework, "slowlog", str(path), "--format", "json", "--top", "0"]
        )
        doc = json.loads(out)
        n_shapes, problems = check_truth(doc, truth)
        ok &= not problems
        for p in problems[:10]:
            print("  TRUTH MISMATCH:", p, file=sys.stderr)
        rows.append(
            {
                "tool": "casework slowlog",
                "log": "4.4+ JSON" if fmt == "json" else "≤4.2 text",
                "mb": size,
                "secs": secs,
                "cpu": cpu,
                "rss": rss,
                "shapes": n_shapes,
                "entries": doc["summary"]["entries"],
                "truth": "equal" if not problems else f"{len(problems)} mismatches",
            }
        )
        print(
            f"casework {fmt}: {size / secs:.1f} MB/s, {cpu:.1f} CPU s, {rss:.0f} MB RSS, truth {rows[-1]['truth']}",
            file=sys.stderr,
        )
        if fmt == "text":
            if not Path(args.mloginfo).exists():
                print(f"mloginfo not found at {args.mloginfo}: skipping the peer", file=sys.stderr)
                continue
            secs, rss, out, cpu = best_of(
                args.repeat, [args.mloginfo, "--queries", str(path)], tty_stdin=True
            )
            rows.append(
                {
                    "tool": "mloginfo --queries (mtools 1.7.2)",
                    "log": "≤4.2 text",
                    "mb": size,
                    "secs": secs,
                    "cpu": cpu,
                    "rss": rss,
                    "shapes": sum(1 for line in out.splitlines() if "{" in line),
                    "entries": mloginfo_total(out),
                    "truth": "-",
                }
            )
            print(f"mloginfo: {size / secs:.2f} MB/s, {rss:.0f} MB RSS", file=sys.stderr)
    table = [
        "| tool | log | size MB | seconds | CPU s | MB/s | peak RSS MB | shapes | entries | per-shape totals vs truth |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        table.append(
            f"| {r['tool']} | {r['log']} | {r['mb']:.0f} | {r['secs']:.1f} | {r['cpu']:.1f} | {r['mb'] / r['secs']:.1f} | "
            f"{r['rss']:.0f} | {r['shapes']} | {r['entries']} | {r['truth']} |"
        )
    text_cw = next((r for r in rows if r["tool"].startswith("casework") and r["log"] != "4.4+ JSON"), None)
    peer = next((r for r in rows if r["tool"].startswith("mloginfo")), None)
    json_cw = next((r for r in rows if r["log"] == "4.4+ JSON"), None)
    lines = [
        "\n".join(table),
        f"- load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
    ]
    if text_cw and peer:
        lines.append(
            f"- text log: casework {text_cw['mb'] / text_cw['secs']:.1f} MB/s vs mloginfo "
            f"{peer['mb'] / peer['secs']:.2f} MB/s = **{peer['secs'] / text_cw['secs']:.0f}×** (target ≥ 20×)"
        )
    if json_cw:
        lines.append(
            f"- JSON log: casework **{json_cw['mb'] / json_cw['secs']:.1f} MB/s** (target ≥ 60 MB/s); "
            "mloginfo cannot read 4.4+ JSON logs"
        )
    print("\n".join(lines))
    if args.write_results:
        results = HERE / "RESULTS.md"
        body = (
            f"{SECTION}\n\nMeasured by `bench/slowlog_mongodb_bench.py --size-mb {args.size_mb:g}` on this "
            f"machine (2 cores), {time.strftime('%Y-%m-%d')}.\n\n" + "\n".join(lines) + "\n"
        )
        old = results.read_text() if results.exists() else "# Benchmark results\n"
        if SECTION in old:
            start = old.index(SECTION)
            nxt = old.find("\n## ", start + len(SECTION))
            new = old[:start] + body + (old[nxt + 1 :] if nxt >= 0 else "")
        else:
            new = old.rstrip("\n") + "\n\n" + body
        results.write_text(new)
    if not ok:
        raise SystemExit("casework's per-shape totals differ from the generator's truth")


if __name__ == "__main__":
    main()
