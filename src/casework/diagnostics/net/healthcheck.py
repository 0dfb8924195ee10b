"""``casework healthcheck``: reproduce a load balancer's health check and say why it fails.

Probes come from :mod:`healthcheck_probe`; this module runs them on the balancer's schedule, folds them
through the balancer's rise/fall state machine and turns the failures into findings. The seed case
(F41GF828): the L7 check failed while the L4 check passed, because the check sends HEAD and the backend
answers 405 to HEAD — ``--both`` shows exactly that difference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from casework.diagnostics.net.healthcheck_probe import (
    CONNECTION,
    REFUSED,
    STATUS,
    TIMEOUT,
    TLS,
    Expect,
    Probe,
    check_url,
    http_probe,
    parse_expect,
    split_host_port,
    tcp_probe,
)
from casework.diagnostics.report import Finding, InputError, Report, Severity
from casework.i18n import gettext as _
from casework.i18n import gettext_noop

HEALTHY = gettext_noop("healthy")  # marked for makemessages: reports show the state translated
UNHEALTHY = gettext_noop("unhealthy")
METHODS = ("HEAD", "GET")


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """The balancer's knobs (defaults: Alibaba Cloud SLB's)."""

    method: str = "HEAD"
    host_header: str | None = None
    expect: Expect = parse_expect("2xx,3xx")
    timeout: float = 5.0
    interval: float = 2.0
    rise: int = 3
    fall: int = 3
    count: int = 3
    # A backend just added to a balancer is not sent traffic until it has passed `rise` checks.
    initial: str = UNHEALTHY
    cafile: str | None = None

    def validate(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"method must be HEAD or GET, got {self.method!r}", source="--method")
        for name in ("rise", "fall", "count"):
            if getattr(self, name) < 1:
                raise InputError(f"must be at least 1, got {getattr(self, name)}", source=f"--{name}")
        if self.timeout <= 0:
            raise InputError("must be positive", source="--timeout")
        if self.interval < 0:
            raise InputError("must not be negative", source="--interval")
        if self.initial not in (HEALTHY, UNHEALTHY):
            raise InputError("must be healthy or unhealthy", source="--initial-state")


def apply_state_machine(probes: list[Probe], *, rise: int, fall: int, initial: str) -> str:
    """Fill each probe's ``state`` as the balancer computes it; return the final state.

    Healthy after ``rise`` consecutive successes, unhealthy after ``fall`` consecutive failures; anything
    shorter leaves the state where it was (that is what makes a flapping backend keep its state).
    """
    state = initial
    ok_streak = fail_streak = 0
    for probe in probes:
        if probe.ok:
            ok_streak, fail_streak = ok_streak + 1, 0
            if state == UNHEALTHY and ok_streak >= rise:
                state = HEALTHY
        else:
            ok_streak, fail_streak = 0, fail_streak + 1
            if state == HEALTHY and fail_streak >= fall:
                state = UNHEALTHY
        probe.state = state
    return state


def _run(probe_once, config: CheckConfig) -> list[Probe]:  # type: ignore[no-untyped-def]
    probes = []
    for i in range(config.count):
        if i:
            time.sleep(config.interval)
        probes.append(probe_once())
    return probes


def check_tcp(target: str, config: CheckConfig) -> Report:
    config.validate()
    host, port = split_host_port(target)
    probes = _run(lambda: tcp_probe(host, port, timeout=config.timeout), config)
    return _report("tcp", target, probes, config)


def check_http(url: str, config: CheckConfig, *, tcp: Report | None = None) -> Report:
    """The L7 check; ``tcp`` is the L4 report of the same backend when ``--both`` compares them."""
    config.validate()
    check_url(url)
    probes = _run(lambda: http_probe(url, method=config.method, expect=config.expect, timeout=config.timeout,
                                     host_header=config.host_header, cafile=config.cafile), config)
    get_probe = None
    if config.method == "HEAD" and any(p.status in (405, 501) for p in probes):
        # The one question that decides the advice: does the page work with GET?
        get_probe = http_probe(url, method="GET", expect=config.expect, timeout=config.timeout,
                               host_header=config.host_header, cafile=config.cafile)
    return _report("http", url, probes, config, get_probe=get_probe, tcp=tcp)


def check_both(url: str, config: CheckConfig, *, tcp_target: str | None = None) -> list[Report]:
    """The L4 and the L7 check of one backend, the L7 report explaining any difference."""
    check_url(url)
    if tcp_target is None:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        tcp_target = f"{host}:{port}"
    tcp = check_tcp(tcp_target, config)
    return [tcp, check_http(url, config, tcp=tcp)]


# --- the report ------------------------------------------------------------------------------------------


def _report(check: str, target: str, probes: list[Probe], config: CheckConfig, *,
            get_probe: Probe | None = None, tcp: Report | None = None) -> Report:
    state = apply_state_machine(probes, rise=config.rise, fall=config.fall, initial=config.initial)
    label = _("TCP (L4) health check of {target}") if check == "tcp" else _("HTTP (L7) health check of {target}")
    report = Report(kind="healthcheck", title=label.format(target=target) + f": {_(state)}")
    data: dict[str, object] = {
        "check": check,
        "target": target,
        "state": state,
        "config": {
            "method": config.method if check == "http" else None,
            "host_header": config.host_header,
            "expect": str(config.expect) if check == "http" else None,
            "timeout_s": config.timeout,
            "interval_s": config.interval,
            "rise": config.rise,
            "fall": config.fall,
            "count": config.count,
            "initial_state": config.initial,
        },
        "probes": [p.to_dict() for p in probes],
    }
    if get_probe is not None:
        data["get_probe"] = get_probe.to_dict()
    tcp_state = tcp.data.get("state") if tcp is not None else None
    if tcp is not None:
        data["compared_with"] = {"check": "tcp", "target": tcp.data.get("target"), "state": tcp_state}
    report.data = data
    for finding in _findings(check, target, probes, config, state=state, get_probe=get_probe):
        if tcp_state == HEALTHY and state == UNHEALTHY:
            finding.detail += " " + _(
                "The TCP (L4) check of {tcp} passes, so the backend is up and listening: the difference is "
                "in the answer to the HTTP request, not in the network."
            ).format(tcp=tcp.data.get("target"))  # type: ignore[union-attr]
            finding.evidence["tcp_state"] = tcp_state
        report.add(finding)
    return report


def _severity(state: str) -> Severity:
    # A failure that made the balancer take the backend out is high; one it rode out is a warning of flapping.
    return Severity.HIGH if state == UNHEALTHY else Severity.MEDIUM


def _findings(check: str, target: str, probes: list[Probe], config: CheckConfig, *, state: str,
              get_probe: Probe | None) -> list[Finding]:
    out: list[Finding] = []
    numbered = list(enumerate(probes, 1))
    sev = _severity(state)
    n = len(probes)

    def ev(selected: list[int], **more: object) -> dict[str, object]:
        return {"target": target, "check": check, "probes": selected, "failed": len(selected), "count": n, **more}

    rejected = [i for i, p in numbered if p.error == STATUS and p.status in (405, 501) and p.method == "HEAD"]
    if rejected:
        status = probes[rejected[0] - 1].status
        get_ok = bool(get_probe and get_probe.ok)
        get_status = get_probe.status if get_probe else None
        if get_ok:
            verdict = _("A GET of the same URL answers {get_status}, which the check accepts.").format(
                get_status=get_status)
            advice = _(
                "Switch the health check method to GET, or allow HEAD on this path in the application (a HEAD "
                "must answer like GET, without the body)."
            )
        else:
            verdict = _("A GET of the same URL fails too ({get}).").format(
                get=get_status if get_status is not None else (get_probe.error if get_probe else "?"))
            advice = _("Fix the check page first (it must answer {expect} to GET), then allow HEAD or switch the "
                       "check to GET.").format(expect=config.expect)
        out.append(Finding(
            code="healthcheck.method-not-allowed",
            severity=sev,
            title=_("The backend answers {status} to the check's HEAD request").format(status=status),
            detail=_(
                "The health check sends HEAD and the backend answers {status} (method not allowed), which is "
                "not in {expect}: the balancer marks the backend unhealthy although the page may work in a "
                "browser. {verdict}"
            ).format(status=status, expect=config.expect, verdict=verdict),
            advice=advice,
            evidence=ev(rejected, status=status, method="HEAD", get_status=get_status, get_ok=get_ok),
        ))

    redirects = [i for i, p in numbered if p.status is not None and 300 <= p.status < 400]
    if redirects:
        first = probes[redirects[0] - 1]
        accepted = first.ok
        out.append(Finding(
            code="healthcheck.redirect",
            severity=Severity.LOW if accepted else sev,
            title=_("The check page redirects ({status} to {location})").format(
                status=first.status, location=first.location or "?"),
            detail=(_(
                "The backend answers {status} with Location {location}; the balancer does not follow it and "
                "counts the check as passed because 3xx is expected, so the check proves only that the "
                "redirect works, not the application behind it."
            ) if accepted else _(
                "The backend answers {status} with Location {location}; the balancer does not follow redirects "
                "and {status} is not in {expect}, so the check fails."
            )).format(status=first.status, location=first.location or "?", expect=config.expect),
            advice=_(
                "Point the check at a page that answers 200 without a login (e.g. /health), or expect 3xx only "
                "if the redirect itself is what should be checked."
            ),
            evidence=ev(redirects, status=first.status, location=first.location, accepted=accepted),
        ))

    other = [i for i, p in numbered if p.error == STATUS and i not in rejected
             and not (p.status is not None and 300 <= p.status < 400)]
    if other:
        statuses = sorted({probes[i - 1].status for i in other if probes[i - 1].status is not None})
        status = statuses[0]
        if status == 404:
            why = _("The check path does not exist on the backend (with a Host header or a virtual host, the "
                    "default server may not know it).")
        elif status >= 500:
            why = _("The application fails while answering the check page.")
        else:
            why = _("The status is not one the check accepts.")
        out.append(Finding(
            code="healthcheck.unexpected-status",
            severity=sev,
            title=_("The backend answers {statuses} to the health check").format(
                statuses=", ".join(map(str, statuses))),
            detail=_("The check expects {expect} and got {statuses}. {why}").format(
                expect=config.expect, statuses=", ".join(map(str, statuses)), why=why),
            advice=_("Check the path, the Host header (--host-header) and the application log of the backend for "
                     "these requests; the check page should answer 200 without a login."),
            evidence=ev(other, statuses=statuses),
        ))

    texts = {
        REFUSED: (
            "healthcheck.connection-refused",
            gettext_noop("The backend refuses the connection"),
            gettext_noop("Connecting to {target} was refused: nothing listens on that port (the service is down "
                         "or listens on another port or address)."),
            gettext_noop("Start the service, or make it listen on this port on an address the balancer "
                         "reaches (not only 127.0.0.1); check the backend port in the listener configuration."),
        ),
        TIMEOUT: (
            "healthcheck.timeout",
            gettext_noop("The health check times out"),
            gettext_noop("No answer from {target} within {timeout} s: the backend is overloaded or hangs on the "
                         "check page, or a firewall (security group, iptables) silently drops the balancer's "
                         "packets."),
            gettext_noop("Allow the balancer's addresses in the security group, check the backend's load, and "
                         "make the check page cheap (no database call) or raise the timeout."),
        ),
        TLS: (
            "healthcheck.tls-error",
            gettext_noop("The TLS handshake with the backend fails"),
            gettext_noop("The check could not establish TLS with {target}: the port speaks plain HTTP, or the "
                         "certificate or TLS versions do not match ({message})."),
            gettext_noop("Use an HTTP check for a plain-HTTP backend port, or fix the backend's TLS "
                         "configuration."),
        ),
        CONNECTION: (
            "healthcheck.connection-error",
            gettext_noop("The connection to the backend fails"),
            gettext_noop("The check could not get an answer from {target}: {message}."),
            gettext_noop("Check the address, DNS and that the backend speaks HTTP on this port."),
        ),
    }
    for error, (code, title, detail, advice) in texts.items():
        failed = [i for i, p in numbered if p.error == error]
        if not failed:
            continue
        message = next((probes[i - 1].message for i in failed if probes[i - 1].message), "") or ""
        out.append(Finding(
            code=code,
            severity=sev,
            title=_(title),
            detail=_(detail).format(target=target, timeout=f"{config.timeout:g}", message=message),
            advice=_(advice),
            evidence=ev(failed, message=message),
        ))
    return out


# --- renderers -------------------------------------------------------------------------------------------


def _probe_rows(report: Report) -> list[list[str]]:
    rows = []
    for i, p in enumerate(report.data.get("probes", []), 1):
        result = _("ok") if p["ok"] else _("failed")
        rows.append([
            str(i), p["at"][11:23], result, str(p["status"]) if p["status"] is not None else "-",
            f"{p['latency_ms']:.1f}" if p["latency_ms"] is not None else "-",
            p["error"] or "", _(p["state"]),
        ])
    return rows


def _headers() -> list[str]:
    return ["#", _("Time (UTC)"), _("Result"), _("HTTP status"), _("Latency ms"), _("Error"), _("State")]


def _summary(report: Report) -> str:
    cfg = report.data.get("config", {})
    return _("State: {state} (rise {rise}, fall {fall}, starting {initial})").format(
        state=_(report.data.get("state", "")), rise=cfg.get("rise"), fall=cfg.get("fall"),
        initial=_(cfg.get("initial_state", "")))


def terminal_section(report: Report) -> list[object]:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="bold")
    for i, header in enumerate(_headers()):
        table.add_column(header, justify="right" if i in (0, 3, 4) else "left")
    for row in _probe_rows(report):
        table.add_row(*row, style=None if row[2] == _("ok") else "red")
    state = report.data.get("state")
    return [table, Text(_summary(report), style="green" if state == HEALTHY else "bold red")]


def markdown_section(report: Report) -> str:
    from casework.diagnostics.render.markdown import markdown_table

    return _summary(report) + "\n\n" + markdown_table(_headers(), _probe_rows(report))


def register_renderers() -> None:
    from casework.diagnostics.render import register_markdown_section, register_terminal_section

    register_terminal_section("healthcheck", terminal_section)
    register_markdown_section("healthcheck", markdown_section)


register_renderers()
