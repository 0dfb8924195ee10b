"""The data every ``casework http`` input becomes: headers, httpstat phases and one observed response.

A live probe (``http.py``) and a pasted file (``httpfile.py``) both produce :class:`HttpObservation`, so the
CDN verdict and the findings (``httpreport.py``) never care where the response came from.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from math import ceil

# httpstat's phases in the order they happen on the wire; also the order of every table we print.
PHASES: tuple[str, ...] = ("dns", "connect", "tls", "server", "transfer")


@dataclass(frozen=True, slots=True)
class Headers:
    """Response headers in wire order, duplicates kept, looked up case-insensitively (RFC 9110 §5.1)."""

    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        return cls(tuple((n.strip(), v.strip()) for n, v in pairs))

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for n, v in self.items if n.lower() == key]

    def get(self, name: str) -> str | None:
        """All values of ``name`` joined with ``", "`` (how RFC 9110 combines repeated fields), or None."""
        values = self.get_all(name)
        return ", ".join(values) if values else None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self.items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def to_dict(self) -> dict[str, str]:
        """One key per header (first spelling kept), repeated fields joined — the JSON ``headers`` object."""
        out: dict[str, str] = {}
        seen: dict[str, str] = {}
        for name, value in self.items:
            key = seen.setdefault(name.lower(), name)
            out[key] = f"{out[key]}, {value}" if key in out else value
        return out


@dataclass(frozen=True, slots=True)
class PhaseTimings:
    """httpstat's five phases and the total, in milliseconds; None where the input did not say."""

    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    server: float | None = None
    transfer: float | None = None
    total: float | None = None

    @classmethod
    def from_cumulative(
        cls,
        *,
        namelookup: float,
        connect: float,
        pretransfer: float,
        starttransfer: float,
        total: float,
        tls: bool = True,
    ) -> PhaseTimings:
        """httpstat's arithmetic on curl's cumulative times (all in ms, measured from the start).

        Each phase is the difference of two consecutive marks; ``max(0, …)`` because libcurl can report a
        later mark a hair earlier than the previous one on a reused or very fast connection.
        """
        return cls(
            dns=max(0.0, namelookup),
            connect=max(0.0, connect - namelookup),
            tls=max(0.0, pretransfer - connect) if tls else None,
            server=max(0.0, starttransfer - pretransfer),
            transfer=max(0.0, total - starttransfer),
            total=max(0.0, total),
        )

    def phase(self, name: str) -> float | None:
        return getattr(self, name)

    @property
    def known(self) -> bool:
        return any(getattr(self, p) is not None for p in (*PHASES, "total"))

    def to_dict(self) -> dict[str, float | None]:
        return {p: _round(getattr(self, p)) for p in (*PHASES, "total")}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(frozen=True, slots=True)
class PhaseStats:
    """min / median / p95 of one phase over ``-n`` runs."""

    min: float
    median: float
    p95: float

    def to_dict(self) -> dict[str, float]:
        return {"min": round(self.min, 3), "median": round(self.median, 3), "p95": round(self.p95, 3)}


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: always a value that was really measured (no interpolation for small N)."""
    ordered = sorted(values)
    rank = max(1, ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def phase_stats(runs: Sequence[PhaseTimings]) -> dict[str, PhaseStats]:
    out: dict[str, PhaseStats] = {}
    for name in (*PHASES, "total"):
        values = [v for r in runs if (v := r.phase(name)) is not None]
        if values:
            out[name] = PhaseStats(min(values), statistics.median(values), percentile(values, 95))
    return out


def median_timings(runs: Sequence[PhaseTimings]) -> PhaseTimings:
    """The per-phase median, which the findings judge when a URL was probed ``-n`` times."""
    stats = phase_stats(runs)
    return PhaseTimings(**{name: s.median for name, s in stats.items()})


# libcurl error codes (CURLE_*) by the phase they end: the code says where a request died more reliably than
# the marks, which libcurl leaves at 0 or at odd values after a failure.
_FAILED_PHASE = {
    5: "dns",  # COULDNT_RESOLVE_PROXY
    6: "dns",  # COULDNT_RESOLVE_HOST
    7: "connect",  # COULDNT_CONNECT
    35: "tls",  # SSL_CONNECT_ERROR
    51: "tls",  # PEER_FAILED_VERIFICATION (old code)
    53: "tls",  # SSL_ENGINE_NOTFOUND
    58: "tls",  # SSL_CERTPROBLEM
    59: "tls",  # SSL_CIPHER
    60: "tls",  # PEER_FAILED_VERIFICATION
    77: "tls",  # SSL_CACERT_BADFILE
    80: "tls",  # SSL_SHUTDOWN_FAILED
    83: "tls",  # SSL_ISSUER_ERROR
    90: "tls",  # SSL_PINNEDPUBKEYNOTMATCH
    91: "tls",  # SSL_INVALIDCERTSTATUS
    18: "transfer",  # PARTIAL_FILE
    52: "server",  # GOT_NOTHING
    55: "server",  # SEND_ERROR
    56: "server",  # RECV_ERROR
}


def failed_phase(code: int | None, marks: dict[str, float], *, tls: bool) -> str:
    """Which httpstat phase a failed request died in (a timeout, code 28, is placed by the marks reached)."""
    if code in _FAILED_PHASE:
        phase = _FAILED_PHASE[code]  # type: ignore[index]
        return "server" if phase == "tls" and not tls else phase
    if marks.get("connect", 0) <= 0:
        # A timeout before the name resolved is a DNS timeout (an IP literal "resolves" at once).
        return "dns" if code == 28 and marks.get("namelookup", 0) <= 0 else "connect"
    if tls and marks.get("appconnect", 0) <= 0:
        return "tls"
    if marks.get("starttransfer", 0) <= 0:
        return "server"
    return "transfer"


@dataclass(slots=True)
class HttpObservation:
    """One HTTP response and what is known about how it was fetched."""

    url: str | None = None
    address: str | None = None
    port: int | None = None
    method: str | None = None
    http_version: str | None = None
    status: int | None = None
    reason: str | None = None
    headers: Headers = field(default_factory=Headers)
    timings: PhaseTimings = field(default_factory=PhaseTimings)
    # Every run when probed with -n N (``timings`` is then their median).
    runs: list[PhaseTimings] = field(default_factory=list)
    # Where it came from: "probe", or "FILE" / "FILE#2" for the second response of a pasted file.
    source: str = "probe"
    line: int | None = None
    # libcurl's error when the request failed (no status then).
    error: str | None = None
    error_code: int | None = None
    failed_phase: str | None = None  # the httpstat phase the request died in
    body_bytes: int | None = None
