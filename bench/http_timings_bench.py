"""Do ``casework http``'s phase timings agree with ``curl -w '%{json}'`` on the same local server?

For each scenario the same URL is fetched N times by casework's probe (pycurl, in-process) and by the system
``curl`` binary, interleaved so both see the same machine load. Each tool's per-phase median is compared with
httpstat's arithmetic applied to curl's marks. A phase agrees when the medians differ by at most 2 ms or 10 %.

Scenarios use real servers on 127.0.0.1 (tests/localservers.py): a quick HTTPS page reached by name (DNS via
/etc/hosts), and pages that think before answering and dribble their body, so the server and transfer phases
are tens of milliseconds rather than noise.

    .venv/bin/python bench/http_timings_bench.py [-n 30] [--mode process|inprocess]

``--mode process`` (the default) runs casework the way an engineer does and the way curl runs: one fresh
``casework http URL --format json`` process per request. ``--mode inprocess`` calls the probe repeatedly in
this one process; its TLS phase then skips the TLS library's once-per-process set-up (configuration, providers,
first CA parse), which a fresh curl process pays on every request, so it reads a few ms shorter than curl's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import pycurl  # noqa: E402

from casework.diagnostics.net.http import ProbeOptions, probe_once  # noqa: E402
from casework.diagnostics.net.httpmodel import PHASES, PhaseTimings  # noqa: E402
from localservers import BaseHandler, OkHandler, serve  # noqa: E402

ABS_MS = 2.0
REL = 0.10


class ThinkThenDribble(BaseHandler):
    """50 ms of "processing", then the body in two halves 30 ms apart."""

    def answer(self) -> None:
        time.sleep(0.05)
        body = b"x" * 20000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:10000])
        self.wfile.flush()
        time.sleep(0.03)
        self.wfile.write(body[10000:])


def curl_once(curl: str, url: str, ca_file: str | None, insecure: bool) -> PhaseTimings:
    args = [curl, "-s", "-o", "/dev/null", "--compressed", "-w", "%{json}", url]
    if insecure:
        args[1:1] = ["--insecure"]
    elif ca_file:
        args[1:1] = ["--cacert", ca_file]
    out = json.loads(subprocess.run(args, capture_output=True, text=True, check=True, timeout=30).stdout)
    return PhaseTimings.from_cumulative(
        namelookup=out["time_namelookup"] * 1000,
        connect=out["time_connect"] * 1000,
        pretransfer=out["time_pretransfer"] * 1000,
        starttransfer=out["time_starttransfer"] * 1000,
        total=out["time_total"] * 1000,
        tls=url.startswith("https"),
    )


def casework_process_once(url: str, ca_file: str | None, insecure: bool) -> PhaseTimings:
    """One ``casework http`` run in a fresh process, read back from its stable JSON."""
    args = [sys.executable, "-m", "casework.cli", "http", url, "--format", "json"]
    if insecure:
        args.append("--insecure")
    elif ca_file:
        args += ["--cacert", ca_file]
    out = json.loads(subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout)
    return PhaseTimings(**out["timings_ms"])


def median(runs: list[PhaseTimings], phase: str) -> float | None:
    values = [v for r in runs if (v := r.phase(phase)) is not None]
    return statistics.median(values) if values else None


def scenario(name: str, url: str, ca_file: str | None, n: int, curl: str, *, insecure: bool = False,
             mode: str = "process") -> list[list[str]]:
    ours, theirs = [], []
    options = ProbeOptions(ca_file=ca_file, insecure=insecure)
    for _ in range(n):
        if mode == "process":
            ours.append(casework_process_once(url, ca_file, insecure))
        else:
            obs = probe_once(url, options)
            assert obs.error is None, obs.error
            ours.append(obs.timings)
        theirs.append(curl_once(curl, url, ca_file, insecure))
    rows = []
    for phase in (*PHASES, "total"):
        a, b = median(ours, phase), median(theirs, phase)
        if a is None or b is None:
            continue
        diff = abs(a - b)
        ok = diff <= ABS_MS or diff <= REL * b
        rows.append([name, phase, f"{a:.2f}", f"{b:.2f}", f"{diff:.2f}", "yes" if ok else "NO"])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="requests per tool per scenario")
    parser.add_argument("--mode", choices=("process", "inprocess"), default="process",
                        help="a fresh casework process per request, like curl (default), or repeated in-process probes")
    args = parser.parse_args()
    curl = shutil.which("curl")
    if curl is None:
        print("curl is not installed: apt-get install curl", file=sys.stderr)
        return 2
    curl_version = subprocess.run([curl, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    rows: list[list[str]] = []
    with serve(OkHandler, tls=True) as quick, serve(ThinkThenDribble, tls=True) as slow_tls, \
            serve(ThinkThenDribble) as slow_plain:
        m = args.mode
        rows += scenario("https quick (localhost)", f"https://localhost:{quick.port}/", quick.ca_file, args.n, curl,
                         mode=m)
        rows += scenario("https think+dribble", f"{slow_tls.base_url}/", slow_tls.ca_file, args.n, curl, mode=m)
        # Without verification neither tool loads a CA file: isolates the handshake itself (see RESULTS.md).
        rows += scenario("https think+dribble -k", f"{slow_tls.base_url}/", None, args.n, curl, insecure=True, mode=m)
        rows += scenario("http think+dribble", f"{slow_plain.base_url}/", None, args.n, curl, mode=m)
    print(f"mode: {args.mode}")
    print(f"casework (pycurl): {pycurl.version}")
    print(f"curl: {curl_version}")
    print(f"requests per tool per scenario: {args.n}; agreement: |median diff| <= {ABS_MS:g} ms or <= {REL:.0%}")
    print()
    print("| scenario | phase | casework median ms | curl -w median ms | diff ms | agrees |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    bad = [r for r in rows if r[-1] != "yes"]
    print()
    print(f"{len(rows) - len(bad)}/{len(rows)} phases agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
