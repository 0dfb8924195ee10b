"""One health-check probe, as a load balancer sends it: a TCP connect (L4) or one HTTP request (L7).

The L7 probe behaves like Alibaba Cloud SLB's and most balancers' checks, not like a browser: it sends one
request (HEAD by default), never follows redirects, does not verify the backend's certificate unless a CA
is given (balancers talk to backends by IP), and reads the status line only.
"""

from __future__ import annotations

import errno
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pycurl

from casework.diagnostics.report import InputError

# Probe error codes (the JSON ``probes[].error``); each maps to one finding.
REFUSED = "connection-refused"
TIMEOUT = "timeout"
TLS = "tls-error"
CONNECTION = "connection-error"  # DNS failure, reset, empty or malformed answer
STATUS = "unexpected-status"  # an answer whose status the check does not accept

# libcurl error numbers that mean the TLS layer failed (handshake, certificate, ALPN…).
_CURL_TLS_ERRORS = {35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98}
_CURL_TIMEOUT = 28
_CURL_COULDNT_CONNECT = 7


@dataclass(frozen=True, slots=True)
class Expect:
    """Accepted statuses: whole classes (``2xx``) and/or exact codes (``200``)."""

    classes: frozenset[int]  # 2 for 2xx …
    codes: frozenset[int]

    def accepts(self, status: int) -> bool:
        return status // 100 in self.classes or status in self.codes

    def __str__(self) -> str:
        parts = [f"{c}xx" for c in sorted(self.classes)] + [str(c) for c in sorted(self.codes)]
        return ",".join(parts)


def parse_expect(text: str) -> Expect:
    """``2xx,3xx`` (default), Alibaba's ``http_2xx`` spelling, or exact codes such as ``200,204``."""
    classes: set[int] = set()
    codes: set[int] = set()
    for raw in text.split(","):
        item = raw.strip().lower().removeprefix("http_")
        if len(item) == 3 and item.endswith("xx") and item[0] in "12345":
            classes.add(int(item[0]))
        elif re.fullmatch(r"[1-5][0-9][0-9]", item):  # ASCII digits only ("¹".isdigit() is True)
            codes.add(int(item))
        else:
            raise InputError(f"not a status class or code: {raw.strip()!r} (use e.g. 2xx,3xx or 200)",
                             source="--expect")
    return Expect(classes=frozenset(classes), codes=frozenset(codes))


@dataclass(slots=True)
class Probe:
    at: str  # ISO 8601, UTC
    ok: bool
    status: int | None
    latency_ms: float | None
    error: str | None  # one of the codes above, None when ok
    message: str | None = None  # what failed, in the words of the OS or libcurl
    location: str | None = None  # Location of a 3xx answer
    method: str | None = None
    state: str = ""  # the balancer's verdict after this probe (filled by the state machine)
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"at": self.at, "ok": self.ok, "status": self.status, "latency_ms": self.latency_ms,
                "error": self.error, "message": self.message, "location": self.location,
                "method": self.method, "state": self.state}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def split_host_port(target: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port``."""
    host, sep, port = target.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        raise InputError(f"expected HOST:PORT, got {target!r}", source="--tcp")
    return host, int(port)


def tcp_probe(host: str, port: int, *, timeout: float) -> Probe:
    """Open and close a TCP connection, as an L4 check does."""
    at = _now()
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except ConnectionRefusedError as exc:
        return Probe(at=at, ok=False, status=None, latency_ms=_ms(start), error=REFUSED, message=exc.strerror)
    except TimeoutError:
        return Probe(at=at, ok=False, status=None, latency_ms=None, error=TIMEOUT,
                     message=f"no answer within {timeout:g} s")
    except OSError as exc:
        return Probe(at=at, ok=False, status=None, latency_ms=None, error=CONNECTION,
                     message=exc.strerror or str(exc))
    return Probe(at=at, ok=True, status=None, latency_ms=_ms(start), error=None)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"expected an http:// or https:// URL, got {url!r}", source="--http")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InputError(f"bad port in {url!r}", source="--http") from None
    return url


def http_probe(url: str, *, method: str, expect: Expect, timeout: float, host_header: str | None = None,
               cafile: str | None = None) -> Probe:
    """One request with the balancer's semantics; ``ok`` when the status is accepted."""
    at = _now()
    curl = pycurl.Curl()
    location: list[str] = []

    def header_line(raw: bytes) -> None:
        name, sep, value = raw.decode("latin-1").partition(":")
        if sep and name.strip().lower() == "location":
            location.append(value.strip())

    try:
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.FOLLOWLOCATION, 0)
        curl.setopt(pycurl.PROXY, "")  # the balancer talks to the backend directly
        curl.setopt(pycurl.TIMEOUT_MS, max(1, int(timeout * 1000)))
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(timeout * 1000)))
        if method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
        elif method != "GET":
            curl.setopt(pycurl.CUSTOMREQUEST, method)
        headers = ["User-Agent: casework-healthcheck"]
        if host_header:
            headers.append(f"Host: {host_header}")
        curl.setopt(pycurl.HTTPHEADER, headers)
        if cafile:
            curl.setopt(pycurl.CAINFO, cafile)
            curl.setopt(pycurl.SSL_VERIFYPEER, 1)
            curl.setopt(pycurl.SSL_VERIFYHOST, 2)
        else:
            curl.setopt(pycurl.SSL_VERIFYPEER, 0)
            curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        curl.setopt(pycurl.HEADERFUNCTION, header_line)
        curl.setopt(pycurl.WRITEFUNCTION, lambda chunk: None)  # the check reads the status only
        try:
            curl.perform()
        except pycurl.error as exc:
            code, message = exc.args[0], str(exc.args[1]) if len(exc.args) > 1 else ""
            if code == _CURL_TIMEOUT:
                error = TIMEOUT
            elif code in _CURL_TLS_ERRORS:
                error = TLS
            elif code == _CURL_COULDNT_CONNECT and (
                    curl.getinfo(pycurl.OS_ERRNO) == errno.ECONNREFUSED or "refused" in message.lower()):
                # libcurl 8 says only "Could not connect to server"; the socket's errno tells refused apart.
                error = REFUSED
            else:
                error = CONNECTION
            latency = None if error == TIMEOUT else round(curl.getinfo(pycurl.TOTAL_TIME) * 1000, 3)
            return Probe(at=at, ok=False, status=None, latency_ms=latency, error=error, message=message,
                         method=method)
        status = int(curl.getinfo(pycurl.RESPONSE_CODE))
        latency = round(curl.getinfo(pycurl.TOTAL_TIME) * 1000, 3)
    finally:
        curl.close()
    ok = expect.accepts(status)
    return Probe(at=at, ok=ok, status=status, latency_ms=latency, error=None if ok else STATUS,
                 location=location[-1] if location and 300 <= status < 400 else None, method=method)
