"""Probe a URL with libcurl (pycurl) and split the time into httpstat's phases.

httpstat runs ``curl -w`` and subtracts curl's cumulative marks; we read the very same marks from libcurl's
getinfo (``*_TIME_T``, microseconds) in-process, so the numbers match ``curl -w`` without shelling out.
Every run uses a fresh handle: no connection, TLS session or DNS cache reuse, like a new ``curl``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pycurl

from casework.diagnostics.net.httpmodel import (
    Headers,
    HttpObservation,
    PhaseTimings,
    failed_phase,
    median_timings,
)
from casework.diagnostics.report import InputError

HTTP_VERSIONS = {
    "auto": None,  # libcurl's default: HTTP/2 over TLS when the server offers it by ALPN, else 1.1
    "1.1": pycurl.CURL_HTTP_VERSION_1_1,
    "2": pycurl.CURL_HTTP_VERSION_2_0,
}

_STATUS_LINE = re.compile(r"^HTTP/(?P<version>\d(?:\.\d)?)\s+(?P<status>\d{3})(?:\s+(?P<reason>.*))?$")
_RESOLVE = re.compile(r"^(?P<host>\[[^\]]+\]|[^:\[\]]+):(?P<port>\d{1,5}):(?P<addr>.+)$")


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    method: str = "GET"
    headers: tuple[str, ...] = ()  # "Name: value", as curl -H
    insecure: bool = False
    timeout_s: float = 10.0
    resolve: tuple[str, ...] = ()  # "HOST:PORT:ADDR", as curl --resolve
    http_version: str = "auto"
    ca_file: str | None = None
    user_agent: str = "casework-http/1.0"
    extra: dict[str, object] = field(default_factory=dict)


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or an :class:`InputError` naming ``URL``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"not an http(s) URL: {url!r}", source="URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"bad port in {url!r}", source="URL") from None
    return parts.scheme, parts.hostname, port


def check_resolve(entry: str) -> str:
    """Validate one ``--resolve HOST:PORT:ADDR`` (ADDR may be a comma list, as in curl)."""
    m = _RESOLVE.match(entry.strip())
    if not m or not 0 < int(m["port"]) < 65536:
        raise InputError(f"expected HOST:PORT:ADDR, got {entry!r}", source="--resolve")
    addrs = [resolve_addr(a, field_name="--resolve") for a in m["addr"].split(",")]
    return f"{m['host']}:{m['port']}:{','.join(addrs)}"


def resolve_addr(addr: str, *, field_name: str) -> str:
    """An IP address as CURLOPT_RESOLVE wants it (IPv6 in brackets)."""
    bare = addr.strip().strip("[]")
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        raise InputError(f"not an IP address: {addr!r}", source=field_name) from None
    return f"[{ip}]" if ip.version == 6 else str(ip)


def pin(url: str, addr: str) -> str:
    """The ``--resolve`` entry that sends ``url``'s host to ``addr`` (what ``--compare`` does per address)."""
    _, host, port = check_url(url)
    return f"{host}:{port}:{resolve_addr(addr, field_name='--compare')}"


def _getinfo_ms(curl: pycurl.Curl, name: str) -> float:
    # The *_TIME_T variants are integer microseconds (no float rounding before our subtraction); pycurl
    # builds older than 7.45.3 only have the float seconds.
    info = getattr(pycurl, f"{name}_T", None)
    if info is not None:
        return curl.getinfo(info) / 1000.0
    return curl.getinfo(getattr(pycurl, name)) * 1000.0


class _HeaderCollector:
    """Keeps the headers of the last response only (a 100 Continue precedes the real one)."""

    def __init__(self) -> None:
        self.status_line: str = ""
        self.pairs: list[tuple[str, str]] = []

    def __call__(self, raw: bytes) -> None:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            self.status_line, self.pairs = line, []
        elif ":" in line:
            name, _, value = line.partition(":")
            self.pairs.append((name, value))


def probe_once(url: str, options: ProbeOptions) -> HttpObservation:
    """One request; a transport failure is returned in ``error`` (with the phases that did complete)."""
    scheme, _, _ = check_url(url)
    curl = pycurl.Curl()
    collector = _HeaderCollector()
    body = 0

    def _write(chunk: bytes) -> None:
        nonlocal body
        body += len(chunk)  # discarded, like httpstat: only its transfer time matters

    method = options.method.upper()
    try:
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.HEADERFUNCTION, collector)
        curl.setopt(pycurl.WRITEFUNCTION, _write)
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.TIMEOUT_MS, max(1, int(options.timeout_s * 1000)))
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(options.timeout_s * 1000)))
        curl.setopt(pycurl.USERAGENT, options.user_agent)
        curl.setopt(pycurl.HTTPHEADER, list(options.headers))
        curl.setopt(pycurl.ACCEPT_ENCODING, "")  # what a browser does; the CDN may vary on it
        if options.resolve:
            curl.setopt(pycurl.RESOLVE, list(options.resolve))
        version = HTTP_VERSIONS[options.http_version]
        if version is not None:
            curl.setopt(pycurl.HTTP_VERSION, version)
        if options.ca_file:
            curl.setopt(pycurl.CAINFO, options.ca_file)
        if options.insecure:
            curl.setopt(pycurl.SSL_VERIFYPEER, 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        if method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        elif method != "GET":
            curl.setopt(pycurl.CUSTOMREQUEST, method)
        for opt, value in options.extra.items():
            curl.setopt(getattr(pycurl, opt), value)

        error: str | None = None
        error_code: int | None = None
        try:
            curl.perform()
        except pycurl.error as exc:
            error_code, error = int(exc.args[0]), str(exc.args[1])

        marks = {
            "namelookup": _getinfo_ms(curl, "NAMELOOKUP_TIME"),
            "connect": _getinfo_ms(curl, "CONNECT_TIME"),
            "appconnect": _getinfo_ms(curl, "APPCONNECT_TIME"),
            "pretransfer": _getinfo_ms(curl, "PRETRANSFER_TIME"),
            "starttransfer": _getinfo_ms(curl, "STARTTRANSFER_TIME"),
            "total": _getinfo_ms(curl, "TOTAL_TIME"),
        }
        # Plain HTTP has no TLS phase: httpstat leaves the column out, we leave it None.
        tls = scheme == "https"
        phase = None if error is None else failed_phase(error_code, marks, tls=tls)
        if phase is None:
            timings = PhaseTimings.from_cumulative(
                namelookup=marks["namelookup"],
                connect=marks["connect"],
                pretransfer=marks["pretransfer"],
                starttransfer=marks["starttransfer"],
                total=marks["total"],
                tls=tls,
            )
        else:
            timings = _partial(marks, phase, tls=tls)
        status_match = _STATUS_LINE.match(collector.status_line.strip())
        address = curl.getinfo(pycurl.PRIMARY_IP) or None
        port = curl.getinfo(pycurl.PRIMARY_PORT) or None
        version_code = curl.getinfo(pycurl.INFO_HTTP_VERSION)
    finally:
        curl.close()

    return HttpObservation(
        url=url,
        address=address,
        port=port,
        method=method,
        http_version=_VERSION_NAMES.get(version_code)
        or (status_match["version"] if status_match else None),
        status=int(status_match["status"]) if status_match else None,
        reason=(status_match["reason"] or None) if status_match else None,
        headers=Headers.of(collector.pairs) if status_match else Headers(),
        timings=timings,
        runs=[timings],
        source="probe",
        error=error,
        error_code=error_code,
        failed_phase=phase,
        body_bytes=body if error is None and method != "HEAD" else None,
    )


_VERSION_NAMES = {
    pycurl.CURL_HTTP_VERSION_1_0: "1.0",
    pycurl.CURL_HTTP_VERSION_1_1: "1.1",
    pycurl.CURL_HTTP_VERSION_2_0: "2",
}


def _partial(marks: dict[str, float], phase: str, *, tls: bool) -> PhaseTimings:
    """Phases of a failed request: those completed, then the failed one up to when libcurl gave up."""
    ends = [("dns", "namelookup"), ("connect", "connect")]
    if tls:
        ends.append(("tls", "appconnect"))
    ends += [("server", "starttransfer"), ("transfer", "total")]
    values: dict[str, float | None] = dict.fromkeys(("dns", "connect", "tls", "server", "transfer"))
    previous = 0.0
    for name, mark in ends:
        if name == phase:
            values[name] = max(0.0, marks["total"] - previous)
            break
        values[name] = max(0.0, marks[mark] - previous)
        previous = max(previous, marks[mark])
    return PhaseTimings(**values, total=marks["total"])


def probe(url: str, options: ProbeOptions, *, runs: int = 1) -> HttpObservation:
    """``runs`` requests; the observation keeps the last response and the per-phase median of all runs.

    A run that fails ends the series: repeating a refused connection or a timeout adds nothing.
    """
    if runs < 1:
        raise InputError("must be at least 1", source="-n")
    results: list[HttpObservation] = []
    for _ in range(runs):
        result = probe_once(url, options)
        results.append(result)
        if result.error:
            break
    last = results[-1]
    ok = [r.timings for r in results if not r.error]
    if last.error is None:
        last.runs = ok
        last.timings = median_timings(ok) if len(ok) > 1 else ok[0]
    else:
        last.runs = ok + [last.timings]
    return last


def probe_compare(url: str, options: ProbeOptions, addresses: Sequence[str], *, runs: int = 1) -> list[HttpObservation]:
    """The same request pinned to each address in turn (``--compare``)."""
    _, host, port = check_url(url)
    # Drop the user's own --resolve for this host:port: the pin must be the only answer libcurl has.
    others = tuple(r for r in options.resolve if not r.lower().startswith(f"{host}:{port}:".lower()))
    out = []
    for addr in addresses:
        pinned = ProbeOptions(
            method=options.method,
            headers=options.headers,
            insecure=options.insecure,
            timeout_s=options.timeout_s,
            resolve=(pin(url, addr), *others),
            http_version=options.http_version,
            ca_file=options.ca_file,
            user_agent=options.user_agent,
            extra=options.extra,
        )
        out.append(probe(url, pinned, runs=runs))
    return out
