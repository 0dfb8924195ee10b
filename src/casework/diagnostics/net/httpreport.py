"""Findings about one HTTP response — which phase is slow, what the CDN did — and the ``http`` Report.

The slow-phase rule follows how httpstat output is read by hand: a phase matters when it *dominates* the
total (and is long enough to be felt), or when it is long in absolute terms whatever the rest does. The
thresholds are in :data:`SLOW_PHASES` and documented in ``docs/http.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casework.diagnostics.net.cdn import CacheStatus, CdnVerdict, analyse_cdn
from casework.diagnostics.net.httpmodel import PHASES, HttpObservation, phase_stats
from casework.diagnostics.report import Finding, Report, Severity
from casework.i18n import get_language
from casework.i18n import gettext as _


@dataclass(frozen=True, slots=True)
class SlowRule:
    floor_ms: float  # below this a phase is never slow, whatever its share (a 30 ms DNS of a 40 ms total is fine)
    share: float  # ... and above the floor it is slow when it takes at least this part of the total
    ceiling_ms: float  # at or above this it is slow whatever its share


SLOW_PHASES: dict[str, SlowRule] = {
    "dns": SlowRule(floor_ms=100, share=0.40, ceiling_ms=1000),
    "connect": SlowRule(floor_ms=100, share=0.40, ceiling_ms=1000),
    "tls": SlowRule(floor_ms=150, share=0.40, ceiling_ms=1000),
    "server": SlowRule(floor_ms=200, share=0.40, ceiling_ms=2000),
    "transfer": SlowRule(floor_ms=200, share=0.40, ceiling_ms=5000),
}
# A dominating phase at or above this share (or past its ceiling) is HIGH rather than MEDIUM.
HIGH_SHARE = 0.60


def join_sentences(sentences: list[str]) -> str:
    """English sentences take a space between them; Chinese ones end with a full-width stop and take none."""
    return ("" if get_language().startswith("zh") else " ").join(s for s in sentences if s)


def phase_label(phase: str) -> str:
    return {
        "dns": _("DNS lookup"),
        "connect": _("TCP connection"),
        "tls": _("TLS handshake"),
        "server": _("Server processing"),
        "transfer": _("Content transfer"),
        "total": _("Total"),
    }[phase]


def _fmt_ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _slow_finding(phase: str, ms: float, total: float, obs: HttpObservation, cdn: CdnVerdict) -> Finding:
    share = ms / total if total > 0 else 1.0
    rule = SLOW_PHASES[phase]
    severity = Severity.HIGH if share >= HIGH_SHARE or ms >= rule.ceiling_ms else Severity.MEDIUM
    t = obs.timings
    evidence: dict[str, Any] = {
        "phase": phase,
        "ms": round(ms, 3),
        "total_ms": round(total, 3),
        "share": round(share, 3),
        "floor_ms": rule.floor_ms,
        "ceiling_ms": rule.ceiling_ms,
    }
    args = {"ms": _fmt_ms(ms), "total": _fmt_ms(total), "pct": f"{share * 100:.0f}"}
    if phase == "dns":
        title = _("Slow DNS lookup")
        detail = _("DNS resolution took {ms} ms of {total} ms ({pct}%).").format(**args)
        advice = _(
            "Check the resolver the client uses (ISP or public DNS), the TTL of the CNAME chain to the CDN, and "
            "whether the authoritative DNS is reachable from the client's region; repeat with -n to see if it "
            "is only a cold cache."
        )
    elif phase == "connect":
        title = _("Slow TCP connection")
        detail = _(
            "The TCP handshake (one network round trip) took {ms} ms of {total} ms ({pct}%): the client is far "
            "from the node it reached, or the path loses packets."
        ).format(**args)
        advice = _(
            "Check which node the domain resolved to (is it near the client?), then trace the path with mtr; "
            "compare another node or the origin with --compare."
        )
    elif phase == "tls":
        title = _("Slow TLS handshake")
        rtt = t.connect if t.connect else None
        if rtt:
            evidence["round_trips"] = round(ms / rtt, 1)
            detail = _(
                "The TLS handshake took {ms} ms of {total} ms ({pct}%), about {rtts} times the TCP round trip "
                "({rtt} ms); a full handshake needs only one or two round trips."
            ).format(rtts=f"{ms / rtt:.0f}", rtt=_fmt_ms(rtt), **args)
        else:
            detail = _("The TLS handshake took {ms} ms of {total} ms ({pct}%).").format(**args)
        if cdn.vendor_id and cdn.vendor_id != "generic":
            advice = _(
                "The content is not the problem: the time goes into the HTTPS handshake with the {vendor} node. "
                "Check the HTTPS settings of the accelerated domain (TLS 1.3, OCSP stapling, a short "
                "certificate chain, session resumption) and compare other nodes with --resolve or --compare."
            ).format(vendor=cdn.vendor)
        else:
            advice = _(
                "Check the server's TLS settings: TLS 1.3, OCSP stapling, a short certificate chain, session "
                "resumption, and the CPU load of whatever terminates TLS."
            )
    elif phase == "server":
        title = _("Slow server processing")
        detail = _("The server took {ms} ms of {total} ms ({pct}%) to send the first byte.").format(**args)
        if cdn.status in (CacheStatus.MISS, CacheStatus.EXPIRED, CacheStatus.BYPASS, CacheStatus.DYNAMIC):
            advice = _(
                "The CDN did not serve this from cache ({status}), so the time to first byte includes the trip "
                "back to the origin and the origin's own processing: make the content cacheable or speed up "
                "the origin."
            ).format(status=cdn.status.value)
        else:
            advice = _(
                "Time to first byte is the server's work: check the application and its database, or the "
                "origin behind the proxy; bypass the CDN with --resolve HOST:PORT:ORIGIN_IP to compare."
            )
    else:
        title = _("Slow content transfer")
        detail = _("Downloading the body took {ms} ms of {total} ms ({pct}%).").format(**args)
        if obs.body_bytes:
            evidence["body_bytes"] = obs.body_bytes
            evidence["throughput_kib_s"] = round(obs.body_bytes / 1024 / (ms / 1000), 1) if ms else None
        advice = _(
            "Check the size of the response and whether it is compressed, and the bandwidth between client "
            "and node; a large file from a far node needs a nearer node or a range/segmented download."
        )
    return Finding(code=f"http.slow-{phase}", severity=severity, title=title, detail=detail, advice=advice,
                   evidence=evidence)


def slow_findings(obs: HttpObservation, cdn: CdnVerdict) -> list[Finding]:
    t = obs.timings
    phases = {p: v for p in PHASES if (v := t.phase(p)) is not None}
    if not phases or obs.error:
        return []
    total = t.total if t.total else sum(phases.values())
    out = []
    for phase, ms in phases.items():
        rule = SLOW_PHASES[phase]
        share = ms / total if total > 0 else 0.0
        if (ms >= rule.floor_ms and share >= rule.share) or ms >= rule.ceiling_ms:
            out.append(_slow_finding(phase, ms, total, obs, cdn))
    # The phase that takes the most time first: it is the one to fix.
    return sorted(out, key=lambda f: -f.evidence["ms"])


def _node_text(cdn: CdnVerdict) -> str:
    return " → ".join(
        f"{n.name} ({', '.join(x for x in (n.layer, n.result) if x)})" if (n.layer or n.result) else n.name
        for n in cdn.nodes
    )


def cdn_findings(obs: HttpObservation, cdn: CdnVerdict) -> list[Finding]:
    out: list[Finding] = []
    if cdn.vendor_id and cdn.status in (CacheStatus.MISS, CacheStatus.EXPIRED):
        missed = [n for n in cdn.nodes if n.result == "MISS"]
        evidence: dict[str, Any] = {"status": cdn.status.value, "header": cdn.status_header, "vendor": cdn.vendor}
        if missed:
            evidence["missed_nodes"] = [n.name for n in missed]
        if cdn.status is CacheStatus.EXPIRED:
            detail = _(
                "{vendor} had this object but it had expired, so it fetched it from the origin again ({header})."
            ).format(vendor=cdn.vendor, header=cdn.status_header)
        else:
            detail = _("{vendor} did not have this object in cache and fetched it from the origin ({header}).").format(
                vendor=cdn.vendor, header=cdn.status_header
            )
        if cdn.nodes:
            detail = join_sentences([detail, _("Node path: {path}.").format(path=_node_text(cdn))])
        out.append(Finding(
            code="cdn.miss",
            severity=Severity.MEDIUM,
            title=_("CDN cache miss"),
            detail=detail,
            advice=_(
                "A first request after a purge or from a new node always misses; repeat the request (-n 3): if "
                "it keeps missing, check the cache rules (TTL for this path, ignored query strings) and that "
                "the origin allows caching."
            ),
            evidence=evidence,
        ))
    if cdn.uncacheable:
        cached_anyway = cdn.status is CacheStatus.HIT
        reasons = ", ".join(cdn.uncacheable)
        out.append(Finding(
            code="cdn.uncacheable",
            severity=Severity.LOW if cached_anyway else Severity.MEDIUM,
            title=_("Response forbids shared caching"),
            detail=(
                _("The response carries {reasons}; the CDN cached it anyway because of its own cache rule.")
                if cached_anyway
                else _("The response carries {reasons}, so a CDN that honours the origin will not cache it.")
            ).format(reasons=reasons),
            advice=_(
                "If this content is the same for every user, have the origin send Cache-Control: public, "
                "max-age=N without Set-Cookie, or set a cache rule for this path on the CDN."
            ),
            evidence={"reasons": cdn.uncacheable, "cache_control": obs.headers.get("Cache-Control")},
        ))
    return out


def status_finding(obs: HttpObservation, cdn: CdnVerdict) -> Finding | None:
    if obs.status is None or obs.status < 400:
        return None
    server_side = obs.status >= 500
    detail = _("The response status is {status}{reason}.").format(
        status=obs.status, reason=f" {obs.reason}" if obs.reason else ""
    )
    if cdn.request_id:
        detail = join_sentences([detail, _("Request id: {rid}.").format(rid=cdn.request_id)])
    if server_side:
        advice = _(
            "A 5xx comes from the server or, behind a CDN, often from the origin fetch: check the origin's "
            "logs at this time and test the origin directly with --resolve HOST:PORT:ORIGIN_IP."
        )
    else:
        advice = _(
            "A 4xx is the server refusing this request: check the URL, the Host header, authentication and "
            "any access rules (referer, IP allow lists, signed URLs) on the CDN and the origin."
        )
    return Finding(
        code="http.error-status",
        severity=Severity.HIGH if server_side else Severity.MEDIUM,
        title=_("HTTP error status {status}").format(status=obs.status),
        detail=detail,
        advice=advice,
        evidence={"status": obs.status, "request_id": cdn.request_id},
    )


def failure_finding(obs: HttpObservation) -> Finding | None:
    if not obs.error:
        return None
    failed = obs.failed_phase or "server"
    return Finding(
        code="http.request-failed",
        severity=Severity.HIGH,
        title=_("The request failed during: {phase}").format(phase=phase_label(failed)),
        detail=_("libcurl error {code}: {error}").format(code=obs.error_code, error=obs.error),
        advice={
            "dns": _("The name did not resolve: check the DNS records and the resolver."),
            "connect": _(
                "No TCP connection: check that the address is right, that something listens on the port, "
                "and security groups, firewalls or DDoS protection on the way."
            ),
            "tls": _(
                "The TLS handshake failed: check the certificate (name, chain, expiry) and the TLS versions "
                "and ciphers the server accepts; --insecure shows whether it is only verification."
            ),
            "server": _(
                "The connection was made but no complete answer came (timeout or connection closed): check "
                "the server's processing time and its logs, or raise --timeout to see how long it really takes."
            ),
            "transfer": _(
                "The answer started but the body did not arrive completely: check the bandwidth, the size of "
                "the response and whether the server or a proxy cuts long transfers."
            ),
        }[failed],
        evidence={"failed_phase": failed, "curl_code": obs.error_code, "error": obs.error},
    )


def build_report(obs: HttpObservation) -> Report:
    """The ``http`` Report of one observation (probed or pasted)."""
    cdn = analyse_cdn(obs.headers)
    target = obs.url or obs.source
    where = f" ({obs.address})" if obs.address else ""
    if obs.source == "probe":
        title = _("HTTP timings: {target}{where}").format(target=target, where=where)
    else:
        title = _("HTTP response from {source}: {target}{where}").format(source=obs.source, target=target,
                                                                        where=where)
    data: dict[str, Any] = {
        "url": obs.url,
        "address": obs.address,
        "port": obs.port,
        "method": obs.method,
        "http_version": obs.http_version,
        "status": obs.status,
        "reason": obs.reason,
        "source": obs.source,
        "line": obs.line,
        "timings_ms": obs.timings.to_dict(),
        "runs": len(obs.runs),
        "headers": obs.headers.to_dict(),
        "cdn": cdn.to_dict(),
        "error": obs.error,
        "failed_phase": obs.failed_phase,
    }
    if len(obs.runs) > 1:
        data["stats_ms"] = {k: v.to_dict() for k, v in phase_stats(obs.runs).items()}
    if obs.body_bytes is not None:
        data["body_bytes"] = obs.body_bytes
    report = Report(kind="http", title=title, data=data)
    for finding in (failure_finding(obs), status_finding(obs, cdn)):
        if finding is not None:
            report.add(finding)
    for finding in (*slow_findings(obs, cdn), *cdn_findings(obs, cdn)):
        report.add(finding)
    return report
