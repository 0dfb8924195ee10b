"""``casework mtr``: where does the loss really start?

The verdicts follow how experienced network engineers read an mtr table — by what *persists to the
destination*, because every probe to hop N+1 also crosses hop N:

- loss at one hop that later hops do not show is the router rate-limiting the ICMP answers it generates
  itself (control plane), not loss of the traffic it forwards (``mtr.icmp-rate-limit``);
- loss that starts at hop N and continues on every later hop to the destination is real, located at N
  (``mtr.loss-from-hop``);
- a latency rise that no later hop comes back down from is real (``mtr.latency-jump``); a one-hop spike
  is the router answering slowly, not a slow path;
- a destination that never answers while earlier hops do is filtering or a blackhole
  (``mtr.destination-no-reply``); silent hops in the middle of the path are harmless (``mtr.no-reply-hop``).

Thresholds are module constants, documented in ``docs/mtr.md``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from casework.diagnostics.net.mtr_formats import Hop, Trace, parse_text
from casework.diagnostics.net.netowners import Owner, lookup
from casework.diagnostics.report import Finding, InputError, Report, Severity
from casework.i18n import gettext as _
from casework.i18n import gettext_noop

# A hop "loses" packets from this loss percentage on (below it: a lost probe or two is noise).
LOSS_PCT = 2.0
# Destination loss from which the loss finding is critical rather than high.
CRITICAL_LOSS_PCT = 20.0
# A latency rise counts when the floor of the remaining path rises by this many ms *and* by this fraction
# of the latency before it (30 ms is a lot after 5 ms, noise after 200 ms of trans-Pacific path).
JUMP_MS = 30.0
JUMP_RATIO = 0.5


class MtrNotInstalled(InputError):
    """``--run`` without the system mtr binary."""


@dataclass(slots=True)
class HopView:
    """A hop with what the analysis concluded about it (the JSON ``hops`` entries)."""

    hop: Hop
    owner: Owner | None
    notes: list[str]

    def to_dict(self) -> dict[str, object]:
        d = self.hop.to_dict()
        d["network"] = self.owner.to_dict() if self.owner else None
        d["notes"] = self.notes
        return d


# --- analysis --------------------------------------------------------------------------------------------


def _fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _where(hop: Hop, owner: Owner | None) -> str:
    host = hop.host or "???"
    return f"{host}, {owner.label()}" if owner else host


def _pct(value: float) -> str:
    return f"{value:g}%"


def analyze_trace(trace: Trace) -> Report:
    """The report for one mtr/WinMTR table."""
    hops = trace.hops
    views = [HopView(hop=h, owner=lookup(h.host), notes=[]) for h in hops]
    by_hop = {id(v.hop): v for v in views}
    responders = [h for h in hops if h.replied]
    dest = hops[-1]
    target = trace.target or dest.host or (responders[-1].host if responders else None)

    report = Report(kind="mtr", title=_("mtr to {target}").format(target=target or "?"))
    findings: list[Finding] = []

    run = _persistent_loss_run(responders) if dest.replied else []
    if run:
        findings.append(_loss_finding(run, dest, by_hop, responders))
        for h in run:
            by_hop[id(h)].notes.append("loss")
        by_hop[id(run[0])].notes.insert(0, "loss-start")

    if not dest.replied:
        findings.append(_no_reply_destination(hops, responders, target))

    for jump in _latency_jumps(responders):
        findings.append(_jump_finding(jump, by_hop))

    run_ids = {id(h) for h in run}
    for i, h in enumerate(responders):
        if h.loss_pct < LOSS_PCT or id(h) in run_ids:
            continue
        later_clean = next((x for x in responders[i + 1:] if x.loss_pct < LOSS_PCT), None)
        if later_clean is not None:
            by_hop[id(h)].notes.append("rate-limit")
            findings.append(_rate_limit_finding(h, later_clean, by_hop))

    last_responder = responders[-1].hop if responders else 0
    for group in _silent_groups(hops, before=last_responder):
        for h in group:
            by_hop[id(h)].notes.append("no-reply")
        findings.append(_silent_finding(group, hops))
    if not dest.replied:
        for h in hops:
            if h.hop > last_responder:
                by_hop[id(h)].notes.append("no-reply")

    for f in findings:
        report.add(f)
    report.data = {
        "source": trace.source,
        "format": trace.format,
        "target": target,
        "origin": trace.origin,
        "started": trace.started,
        "summary": {
            "hops": len(hops),
            "reached": dest.replied,
            "destination_loss_pct": dest.loss_pct if dest.replied else 100.0,
            "destination_avg_ms": dest.avg_ms if dest.replied else None,
        },
        "hops": [v.to_dict() for v in views],
    }
    return report


def _persistent_loss_run(responders: list[Hop]) -> list[Hop]:
    """The responding hops, ending at the destination, that all lose packets (empty if the destination doesn't)."""
    run: list[Hop] = []
    for h in reversed(responders):
        if h.loss_pct < LOSS_PCT:
            break
        run.append(h)
    return list(reversed(run))


def _context_owner(start: Hop, responders: list[Hop], by_hop: dict[int, HopView]) -> tuple[Hop, Owner] | None:
    """The nearest later hop whose network is known, to say where an unknown router sits."""
    for h in responders:
        if h.hop > start.hop and by_hop[id(h)].owner is not None:
            return h, by_hop[id(h)].owner  # type: ignore[return-value]
    return None


def _loss_finding(run: list[Hop], dest: Hop, by_hop: dict[int, HopView], responders: list[Hop]) -> Finding:
    start = run[0]
    owner = by_hop[id(start)].owner
    where = _where(start, owner)
    evidence: dict[str, object] = {
        "hop": start.hop,
        "host": start.host,
        "network": owner.to_dict() if owner else None,
        "loss_pct": start.loss_pct,
        "destination_hop": dest.hop,
        "destination": dest.host,
        "destination_loss_pct": dest.loss_pct,
        "lossy_hops": [h.hop for h in run],
    }
    context = ""
    if owner is None and (ctx := _context_owner(start, responders, by_hop)) is not None:
        nxt, nxt_owner = ctx
        evidence["next_known_hop"] = {"hop": nxt.hop, "host": nxt.host, "network": nxt_owner.to_dict()}
        context = " " + _("The next identified hop, {hop} ({host}), belongs to {network}.").format(
            hop=nxt.hop, host=nxt.host, network=nxt_owner.label())
    if start is dest:
        title = _("Packet loss at the destination {host} only").format(host=where)
        detail = _(
            "The destination loses {loss} of the probes while every hop before it answers without loss: "
            "the destination host itself (or its firewall) drops or rate-limits the probes."
        ).format(loss=_pct(dest.loss_pct))
        advice = _(
            "Check the destination's load and firewall (ICMP rate limits), and confirm with a TCP test "
            "(mtr --tcp --port PORT) to the service port."
        )
    else:
        title = _("Packet loss starts at hop {hop} ({host}) and persists to the destination").format(
            hop=start.hop, host=where)
        detail = _(
            "Hop {hop} ({host}) loses {loss} of the probes and every later hop keeps losing them, up to the "
            "destination {dest} ({dest_loss}): this is real loss on the path, located at hop {hop} or on the "
            "link into it."
        ).format(hop=start.hop, host=where, loss=_pct(start.loss_pct), dest=dest.host,
                 dest_loss=_pct(dest.loss_pct)) + context
        advice = _(
            "Send this mtr to the operator of hop {hop}, together with an mtr in the reverse direction (from "
            "the server to the client, routes are often asymmetric); if the destination is a DDoS-protected "
            "IP, check whether it is being scrubbed or blackholed; a different line (e.g. CN2 or a region "
            "closer to the users) avoids the lossy segment."
        ).format(hop=start.hop)
    severity = Severity.CRITICAL if dest.loss_pct >= CRITICAL_LOSS_PCT else Severity.HIGH
    return Finding(code="mtr.loss-from-hop", severity=severity, title=title, detail=detail, advice=advice,
                   evidence=evidence)


def _rate_limit_finding(h: Hop, later: Hop, by_hop: dict[int, HopView]) -> Finding:
    where = _where(h, by_hop[id(h)].owner)
    return Finding(
        code="mtr.icmp-rate-limit",
        severity=Severity.INFO,
        title=_("Loss at hop {hop} ({host}) is ICMP rate limiting, not packet loss").format(hop=h.hop, host=where),
        detail=_(
            "Hop {hop} shows {loss} loss, but hop {later} ({later_host}) after it shows {later_loss}: the "
            "router limits the ICMP answers it sends itself, while the traffic it forwards goes through."
        ).format(hop=h.hop, loss=_pct(h.loss_pct), later=later.hop, later_host=later.host,
                 later_loss=_pct(later.loss_pct)),
        advice=_("Nothing to do: judge loss by the destination and the hops that lead to it."),
        evidence={"hop": h.hop, "host": h.host, "loss_pct": h.loss_pct, "later_hop": later.hop,
                  "later_loss_pct": later.loss_pct,
                  "network": by_hop[id(h)].owner.to_dict() if by_hop[id(h)].owner else None},
    )


@dataclass(slots=True)
class _Jump:
    hop: Hop
    before: Hop
    before_ms: float
    after_ms: float


def _latency_jumps(responders: list[Hop]) -> list[_Jump]:
    """Rises of the latency floor (the lowest average from a hop to the end) that pass the thresholds.

    The floor ignores one-hop spikes by construction: a slow hop followed by faster hops does not raise it.
    """
    timed = [h for h in responders if h.avg_ms is not None]
    floors: list[float] = []
    low = float("inf")
    for h in reversed(timed):
        low = min(low, h.avg_ms)  # type: ignore[type-var]
        floors.append(low)
    floors.reverse()
    jumps = []
    for i in range(1, len(timed)):
        before, after = floors[i - 1], floors[i]
        if after - before >= max(JUMP_MS, JUMP_RATIO * before):
            jumps.append(_Jump(hop=timed[i], before=timed[i - 1], before_ms=before, after_ms=after))
    return jumps


def _jump_finding(jump: _Jump, by_hop: dict[int, HopView]) -> Finding:
    owner = by_hop[id(jump.hop)].owner
    by_hop[id(jump.hop)].notes.append("latency-jump")
    delta = round(jump.after_ms - jump.before_ms, 1)
    where = _where(jump.hop, owner)
    return Finding(
        code="mtr.latency-jump",
        severity=Severity.MEDIUM,
        title=_("Latency rises at hop {hop} ({host}) and stays high to the destination").format(
            hop=jump.hop.hop, host=where),
        detail=_(
            "Latency goes from {before} ms up to hop {prev} to {after} ms from hop {hop} on (+{delta} ms), and no "
            "later hop comes back below {after} ms: the delay is added on the link into hop {hop}."
        ).format(before=_fmt_ms(jump.before_ms), prev=jump.before.hop, after=_fmt_ms(jump.after_ms),
                 hop=jump.hop.hop, delta=_fmt_ms(delta)),
        advice=_(
            "If this link leaves the country or crosses an ocean, the rise is distance and expected; otherwise "
            "it is congestion: compare with an mtr at another time of day and report it to the operator of hop "
            "{hop}."
        ).format(hop=jump.hop.hop),
        evidence={"hop": jump.hop.hop, "host": jump.hop.host, "network": owner.to_dict() if owner else None,
                  "from_hop": jump.before.hop, "before_ms": jump.before_ms, "after_ms": jump.after_ms,
                  "delta_ms": delta},
    )


def _no_reply_destination(hops: list[Hop], responders: list[Hop], target: str | None) -> Finding:
    silent = [h.hop for h in hops if not responders or h.hop > responders[-1].hop]
    if not responders:
        return Finding(
            code="mtr.destination-no-reply",
            severity=Severity.HIGH,
            title=_("No hop answers at all"),
            detail=_("None of the {n} hops answered: the probes are dropped close to where mtr runs.").format(
                n=len(hops)),
            advice=_("Check the local firewall and that ICMP (or the TCP port with --tcp) may leave this network."),
            evidence={"hop": hops[0].hop, "target": target, "silent_hops": silent, "last_responder_hop": None},
        )
    last = responders[-1]
    return Finding(
        code="mtr.destination-no-reply",
        severity=Severity.HIGH,
        title=_("The destination {target} does not answer").format(target=target or "?"),
        detail=_(
            "Hops up to {last} ({host}) answer, but hop {first} and everything after it never do: the "
            "destination, or a firewall in front of it, drops the probes (filtering, a security group, or an "
            "IP blackholed by DDoS protection)."
        ).format(last=last.hop, host=_where(last, lookup(last.host)), first=silent[0]),
        advice=_(
            "Test the service port with mtr --tcp --port PORT; check the security group or firewall, and whether "
            "the IP is blackholed by DDoS protection."
        ),
        evidence={"hop": silent[0], "target": target, "silent_hops": silent, "last_responder_hop": last.hop,
                  "last_responder": last.host},
    )


def _silent_groups(hops: list[Hop], *, before: int) -> list[list[Hop]]:
    """Runs of consecutive non-answering hops before the last hop that answers."""
    groups: list[list[Hop]] = []
    for h in hops:
        if h.hop >= before or h.replied:
            continue
        if groups and groups[-1][-1].hop == h.hop - 1:
            groups[-1].append(h)
        else:
            groups.append([h])
    return groups


def _silent_finding(group: list[Hop], hops: list[Hop]) -> Finding:
    first, last = group[0].hop, group[-1].hop
    after = next((h for h in hops if h.hop > last and h.replied), None)
    fields = {"hop": first, "first": first, "last": last, "after": after.hop if after else "?",
              "after_host": (after.host if after else None) or "?"}
    if first == last:
        title = _("Hop {hop} does not answer (harmless)").format(**fields)
        detail = _(
            "Hop {hop} sends no answers, but hop {after} ({after_host}) after it does, so traffic passes "
            "through it: many routers never answer probes addressed to them."
        ).format(**fields)
    else:
        title = _("Hops {first}–{last} do not answer (harmless)").format(**fields)
        detail = _(
            "Hops {first}–{last} send no answers, but hop {after} ({after_host}) after them does, so traffic "
            "passes through them: many routers never answer probes addressed to them."
        ).format(**fields)
    return Finding(
        code="mtr.no-reply-hop",
        severity=Severity.INFO,
        title=title,
        detail=detail,
        advice=_("Nothing to do: a silent hop in the middle of the path is not a fault."),
        evidence={"hop": first, "hops": [h.hop for h in group]},
    )


# --- inputs ----------------------------------------------------------------------------------------------


def analyze_file(path: str, *, fmt: str | None = None) -> Report:
    """Read a file (``-`` for stdin) and analyse it."""
    import sys

    if path == "-":
        text, source = sys.stdin.read(), "<stdin>"
    else:
        text, source = Path(path).read_bytes().decode("utf-8", errors="replace"), path
    return analyze_trace(parse_text(text, source=source, fmt=fmt))


def run_mtr(host: str, *, count: int = 10, tcp: bool = False, port: int | None = None,
            interval: float = 1.0, dns: bool = False, max_hops: int = 30,
            gracetime: float | None = None) -> Trace:
    """Run the system mtr (Debian ``mtr-tiny``) in JSON mode and read its output."""
    binary = shutil.which("mtr")
    if binary is None:
        raise MtrNotInstalled("the mtr binary is not installed (Debian/Ubuntu: apt-get install mtr-tiny; "
                              "RHEL: dnf install mtr)", source="--run")
    if host.startswith("-") or not host.strip():
        raise InputError(f"not a host name or address: {host!r}", source="--run")
    cmd = [binary, "--json", "-c", str(count), "-i", f"{interval:g}", "-m", str(max_hops)]
    if not dns:
        cmd.append("-n")
    if gracetime is not None:
        # How long mtr waits for late answers after the last probe (its default, 5 s, dominates short runs).
        cmd += ["-G", f"{gracetime:g}"]
    if tcp:
        cmd.append("--tcp")
    if port is not None:
        cmd += ["--port", str(port)]
    cmd.append(host)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              timeout=count * max(interval, 0.1) * 2 + 60)
    except subprocess.TimeoutExpired:
        raise InputError("mtr did not finish in time", source="--run") from None
    if done.returncode != 0 or not done.stdout.strip():
        message = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise InputError(f"mtr failed: {message}", source="--run")
    return parse_text(done.stdout, source=f"mtr {host}", fmt="mtr-json")


# --- renderers -------------------------------------------------------------------------------------------

# Marked for extraction; translated when rendered.
_NOTE_LABELS = {
    "loss-start": gettext_noop("loss starts"),
    "loss": gettext_noop("loss"),
    "rate-limit": gettext_noop("ICMP rate limit"),
    "latency-jump": gettext_noop("latency jump"),
    "no-reply": gettext_noop("no reply"),
}


def _note_text(notes: list[str]) -> str:
    shown = [n for n in notes if not (n == "loss" and "loss-start" in notes)]
    return ", ".join(_(_NOTE_LABELS.get(n, n)) for n in shown)


def _table_rows(report: Report) -> list[tuple[list[str], bool]]:
    """Each hop as table cells, and whether it is part of a real problem (highlighted)."""
    rows = []
    for h in report.data.get("hops", []):
        net = h.get("network")
        owner = lookup(h["host"]) if net else None
        rows.append(([
            str(h["hop"]), h["host"] or "???", owner.short_label() if owner else "",
            _pct(h["loss_pct"]), str(h["sent"]), str(h["received"]),
            _fmt_ms(h["best_ms"]), _fmt_ms(h["avg_ms"]), _fmt_ms(h["worst_ms"]), _fmt_ms(h["last_ms"]),
            _note_text(h.get("notes", [])),
        ], bool({"loss", "latency-jump"} & set(h.get("notes", [])))))
    return rows


def _headers() -> list[str]:
    return [_("Hop"), _("Host"), _("Network"), _("Loss"), _("Sent"), _("Recv"), _("Best"), _("Avg"),
            _("Worst"), _("Last"), _("Verdict")]


def terminal_section(report: Report) -> list[object]:
    from rich import box
    from rich.table import Table

    # The terminal drops Best and Last (the Markdown reply and JSON keep them) to fit 80-100 columns.
    keep = [0, 1, 2, 3, 4, 5, 7, 8, 10]
    headers = _headers()
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_edge=False,
                  header_style="bold")
    for i in keep:
        if i in (1, 2, 10):
            # Text columns give way to the numbers on a narrow terminal: long router names fold.
            table.add_column(headers[i], overflow="fold", min_width={1: 15, 2: 8, 10: 10}[i],
                             max_width={1: 24, 2: 14, 10: 18}[i])
        else:
            table.add_column(headers[i], justify="right", no_wrap=True)
    for row, bad in _table_rows(report):
        table.add_row(*(row[i] for i in keep), style="red" if bad else None)
    return [table]


def markdown_section(report: Report) -> str:
    from casework.diagnostics.render.markdown import markdown_table

    return markdown_table(_headers(), [row for row, _bad in _table_rows(report)])


def register_renderers() -> None:
    from casework.diagnostics.render import register_markdown_section, register_terminal_section

    register_terminal_section("mtr", terminal_section)
    register_markdown_section("mtr", markdown_section)


register_renderers()
