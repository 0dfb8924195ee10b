"""Read what a customer pasted instead of probing: httpstat output, raw response headers, ``curl -v`` /
``curl -I`` output, or ``curl -w '%{json}'`` (optionally with ``%{header_json}``).

Pastes are messy — a Windows prompt before the command, colour codes, a body after the headers, several
responses when ``-L`` followed redirects — so the text formats are read by one tolerant line scanner that
recognises each kind of line wherever it appears, and every response it finds becomes one observation.
Only input that contains no response at all, or JSON that is broken, is an :class:`InputError`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from casework.diagnostics.net.httpmodel import Headers, HttpObservation, PhaseTimings, failed_phase
from casework.diagnostics.report import InputError

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_STATUS = re.compile(r"^HTTP/(?P<version>\d(?:\.\d)?)\s+(?P<status>\d{3})(?:\s+(?P<reason>.*?))?\s*$")
_HEADER = re.compile(r"^(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(?P<value>.*?)\s*$")
_CONNECTED_CURL = re.compile(r"Connected to (?P<host>\S+) \((?P<ip>[^)]+)\) port (?P<port>\d{1,5})")
_CONNECTED_HTTPSTAT = re.compile(r"Connected to (?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+):(?P<port>\d{1,5})\b")
_REQUEST = re.compile(r"^(?P<method>[A-Z]{3,10}) (?P<path>\S+) HTTP/\d(?:\.\d)?$")
_COMMAND = re.compile(r"(?:^|[>$#\s])(?:httpstat|curl)(?:\.exe)?\s+(?P<args>.*)$", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s'\"<>]+", re.IGNORECASE)
_TLS_HINT = re.compile(r"SSL connection using|TLSv1\.[0-3] \(|ALPN[:,]|Server certificate:", re.IGNORECASE)
_ROW = re.compile(r"^\s*\[(?P<cells>[^\]]*\|[^\]]*)\]\s*$")
_CELL = re.compile(r"^\s*(?P<num>\d{1,9}(?:\.\d{1,6})?)\s*(?P<unit>ms|s)?\s*$")
_MARK = re.compile(r"\b(?P<mark>namelookup|connect|pretransfer|starttransfer|total):\s*(?P<num>\d{1,9}(?:\.\d{1,6})?)\s*(?P<unit>ms|s)\b")
# httpstat's column titles, in the order they are printed.
_COLUMNS = (
    ("dns lookup", "dns"),
    ("tcp connection", "connect"),
    ("tls handshake", "tls"),
    ("ssl handshake", "tls"),
    ("server processing", "server"),
    ("content transfer", "transfer"),
)
_CURL_W_TIMES = ("time_namelookup", "time_connect", "time_appconnect", "time_pretransfer", "time_starttransfer", "time_total")


@dataclass(slots=True)
class _Context:
    """What the lines before a response said about the request that produced it."""

    url: str | None = None
    command_url: str | None = None
    address: str | None = None
    port: int | None = None
    method: str | None = None
    path: str | None = None
    host: str | None = None
    tls: bool = False


@dataclass(slots=True)
class _Pending:
    obs: HttpObservation
    pairs: list[tuple[str, str]] = field(default_factory=list)
    row: dict[str, float] | None = None
    marks: dict[str, float] = field(default_factory=dict)
    has_json_times: bool = False
    interim: bool = False


def read_http_file(path: str) -> list[HttpObservation]:
    """Observations from a file, or from stdin when ``path`` is ``-``."""
    if path == "-":
        return parse_http_text(sys.stdin.read(), source="<stdin>")
    data = Path(path).read_bytes()
    return parse_http_text(data.decode("utf-8", errors="replace"), source=path)


def parse_http_text(text: str, *, source: str) -> list[HttpObservation]:
    text = _ANSI.sub("", text.lstrip("\ufeff")).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError("empty input: expected httpstat output, response headers, curl -v/-I or curl -w JSON",
                         source=source)
    if text.lstrip()[0] in "{[":
        found = _parse_json_stream(text, source=source)
    else:
        found = _Scanner(text, source=source).run()
    # A JSON object with none of curl's fields, or a status-less header_json, describes no response.
    found = [o for o in found if o.status is not None or o.error or o.timings.known or len(o.headers)]
    if not found:
        first = next(i for i, line in enumerate(text.split("\n"), 1) if line.strip())
        raise InputError(
            "no HTTP response found (expected httpstat output, response headers, curl -v/-I or curl -w JSON)",
            source=source,
            line=first,
        )
    many = len(found) > 1
    for i, obs in enumerate(found, 1):
        obs.source = f"{source}#{i}" if many else source
    return found


def _ms(num: str, unit: str | None) -> float:
    return float(num) * (1000.0 if unit == "s" else 1.0)


class _Scanner:
    def __init__(self, text: str, *, source: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.source = source
        self.ctx = _Context()
        self.done: list[_Pending] = []
        self.cur: _Pending | None = None
        self.in_headers = False
        self.columns: list[str] | None = None

    def run(self) -> list[HttpObservation]:
        # Line start offsets, to hand an embedded curl -w JSON object to the JSON decoder.
        offsets, pos = [], 0
        for line in self.lines:
            offsets.append(pos)
            pos += len(line) + 1
        i = 0
        while i < len(self.lines):
            raw = self.lines[i]
            if raw.lstrip().startswith("{") and '"' in raw:
                consumed = self._json_at(offsets[i] + (len(raw) - len(raw.lstrip())), i + 1)
                if consumed:
                    i += consumed
                    continue
            self._line(raw, i + 1)
            i += 1
        self._close()
        return [_finish(p) for p in self.done if not p.interim]

    def _json_at(self, offset: int, lineno: int) -> int:
        """Decode a curl -w JSON object starting at ``offset``; return how many lines it covered (0 = not JSON)."""
        try:
            value, end = json.JSONDecoder().raw_decode(self.text, offset)
        except (ValueError, RecursionError):
            return 0
        if not isinstance(value, dict):
            return 0
        if any(k in value for k in _CURL_W_TIMES) or any(k in value for k in ("http_code", "response_code")):
            self._close()
            previous = self.done[-1] if self.done else None
            if previous is not None and not previous.has_json_times and previous.row is None and not previous.marks:
                _merge_curl_json(previous, value, source=self.source, line=lineno)
            else:
                pending = _Pending(HttpObservation(line=lineno))
                _merge_curl_json(pending, value, source=self.source, line=lineno)
                self.done.append(pending)
        elif value and all(isinstance(v, list) for v in value.values()):
            self._close()
            _merge_header_json(self.done, value)
        else:
            return 0
        return self.text.count("\n", offset, end) + 1

    def _close(self) -> None:
        if self.cur is not None:
            self.done.append(self.cur)
            self.cur = None
        self.in_headers = False

    def _target(self) -> _Pending | None:
        """The response that timings printed after it belong to (httpstat prints them last)."""
        return self.cur or (self.done[-1] if self.done else None)

    def _line(self, raw: str, lineno: int) -> None:
        line = raw.rstrip()
        stripped = line.strip()
        # curl -v prefixes: "< " response, "> " request, "* " info, "{ [..] data" / "} [..] data".
        if stripped.startswith(("{ [", "} [")):
            return
        if line.startswith("< ") or line == "<":
            self._response_line(line[2:], lineno)
            return
        if line.startswith("> ") or line == ">":
            self._request_line(line[2:].strip())
            return
        if line.startswith("* "):
            self._info_line(line[2:])
            return
        self._response_line(line, lineno)

    def _response_line(self, line: str, lineno: int) -> None:
        stripped = line.strip()
        status = _STATUS.match(stripped)
        if status:
            self._close()
            self._start(status, lineno)
            return
        if self.in_headers and self.cur is not None:
            if not stripped:
                self.in_headers = False
                return
            if line[:1] in (" ", "\t") and self.cur.pairs:
                name, value = self.cur.pairs[-1]  # obsolete line folding (RFC 9112 §5.2)
                self.cur.pairs[-1] = (name, f"{value} {stripped}")
                return
            header = _HEADER.match(stripped)
            if header:
                self.cur.pairs.append((header["name"], header["value"]))
                return
            self.in_headers = False  # a body or other text right after the headers
        self._other_line(stripped)

    def _start(self, m: re.Match[str], lineno: int) -> None:
        ctx = self.ctx
        url = ctx.url or ctx.command_url
        obs = HttpObservation(
            url=url,
            address=ctx.address,
            port=ctx.port,
            method=ctx.method,
            http_version=m["version"],
            status=int(m["status"]),
            reason=m["reason"] or None,
            line=lineno,
        )
        status = int(m["status"])
        # 1xx are interim answers and "200 Connection established" answers a proxy CONNECT: neither is the
        # response the customer asked about.
        interim = 100 <= status < 200 or (m["reason"] or "").lower() == "connection established"
        self.cur = _Pending(obs, interim=interim)
        self.in_headers = True

    def _request_line(self, line: str) -> None:
        ctx = self.ctx
        req = _REQUEST.match(line)
        if req:
            ctx.method, ctx.path = req["method"], req["path"]
            ctx.url = self._request_url()
            return
        header = _HEADER.match(line)
        if header and header["name"].lower() == "host":
            ctx.host = header["value"]
            ctx.url = self._request_url()

    def _request_url(self) -> str | None:
        ctx = self.ctx
        if not ctx.host or not ctx.path:
            return ctx.command_url
        if ctx.path.startswith(("http://", "https://")):
            return ctx.path  # an absolute-form request through a proxy
        scheme = "https" if ctx.tls or ctx.port == 443 else "http"
        if ctx.command_url:
            parts = urlsplit(ctx.command_url)
            if (parts.netloc or "").lower() == ctx.host.lower():
                scheme = parts.scheme
        return f"{scheme}://{ctx.host}{ctx.path}"

    def _info_line(self, line: str) -> None:
        ctx = self.ctx
        conn = _CONNECTED_CURL.search(line)
        if conn:
            ctx.address, ctx.port = conn["ip"], _port(conn["port"])
            return
        trying = re.search(r"Trying (?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+|[0-9A-Fa-f:]+):(?P<port>\d{1,5})", line)
        if trying:
            ctx.address, ctx.port = trying["ip"].strip("[]"), _port(trying["port"])
            return
        if _TLS_HINT.search(line):
            ctx.tls = True
            return
        # curl 8 prints the HTTP/2 pseudo-headers of the request: "[HTTP/2] [1] [:authority: example.com]".
        pseudo = re.search(r"\[:(?P<name>method|authority|path|scheme): (?P<value>[^\]]*)\]", line)
        if pseudo:
            name, value = pseudo["name"], pseudo["value"].strip()
            if name == "method":
                ctx.method = value
            elif name == "authority":
                ctx.host = value
            elif name == "path":
                ctx.path = value
            elif name == "scheme":
                ctx.tls = value == "https"
            ctx.url = self._request_url()

    def _other_line(self, stripped: str) -> None:
        ctx = self.ctx
        if not stripped:
            return
        conn = _CONNECTED_HTTPSTAT.search(stripped) or _CONNECTED_CURL.search(stripped)
        if conn:
            ctx.address, ctx.port = conn["ip"].strip("[]"), _port(conn["port"])
            return
        command = _COMMAND.search(stripped)
        if command and self.cur is None:
            url = _URL.search(command["args"])
            if url:
                ctx.command_url = url.group(0)
                ctx.url = None
                if ctx.command_url.lower().startswith("https://"):
                    ctx.tls = True
            return
        lower = stripped.lower()
        if "dns lookup" in lower and "|" not in lower:
            found = sorted((lower.index(title), key) for title, key in _COLUMNS if title in lower)
            self.columns = [key for _, key in found]
            return
        row = _ROW.match(stripped)
        if row:
            self._timing_row(row["cells"])
            return
        for mark in _MARK.finditer(stripped):
            target = self._target()
            if target is not None:
                target.marks[mark["mark"]] = _ms(mark["num"], mark["unit"])

    def _timing_row(self, cells_text: str) -> None:
        cells = [_CELL.match(c) for c in cells_text.split("|")]
        if not all(cells) or len(cells) not in (4, 5):
            return
        columns = self.columns
        if columns is None or len(columns) != len(cells):
            # No title line: httpstat prints 5 columns for HTTPS and 4 (no TLS) for plain HTTP.
            columns = ["dns", "connect", "tls", "server", "transfer"] if len(cells) == 5 else [
                "dns", "connect", "server", "transfer"]
        target = self._target()
        if target is not None:
            target.row = {key: _ms(c["num"], c["unit"]) for key, c in zip(columns, cells, strict=True) if c}


def _port(text: str) -> int | None:
    port = int(text)
    return port if 0 < port < 65536 else None


def _finish(p: _Pending) -> HttpObservation:
    obs = p.obs
    if p.pairs:
        obs.headers = Headers.of(p.pairs)
    if p.row is not None:
        total = p.marks.get("total", sum(p.row.values()))
        obs.timings = PhaseTimings(
            dns=p.row.get("dns"),
            connect=p.row.get("connect"),
            tls=p.row.get("tls"),
            server=p.row.get("server"),
            transfer=p.row.get("transfer"),
            total=total,
        )
    elif {"namelookup", "connect", "starttransfer", "total"} <= p.marks.keys():
        tls = "pretransfer" in p.marks
        obs.timings = PhaseTimings.from_cumulative(
            namelookup=p.marks["namelookup"],
            connect=p.marks["connect"],
            pretransfer=p.marks.get("pretransfer", p.marks["connect"]),
            starttransfer=p.marks["starttransfer"],
            total=p.marks["total"],
            tls=tls,
        )
    elif "total" in p.marks:
        obs.timings = PhaseTimings(total=p.marks["total"])
    if obs.timings.known:
        obs.runs = [obs.timings]
    return obs


# ---- curl -w JSON -------------------------------------------------------------------------------------------


def _parse_json_stream(text: str, *, source: str) -> list[HttpObservation]:
    """One or more JSON values (objects, or arrays of objects) one after another, as ``curl -w`` writes them."""
    decoder = json.JSONDecoder()
    pending: list[_Pending] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        lineno = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", source=source, line=exc.lineno) from None
        except RecursionError:
            raise InputError("invalid JSON: nested too deeply", source=source, line=lineno) from None
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                raise InputError("expected a curl -w JSON object", source=source, line=lineno)
            if item and all(isinstance(v, list) for v in item.values()):
                _merge_header_json(pending, item)
                continue
            p = _Pending(HttpObservation(line=lineno))
            _merge_curl_json(p, item, source=source, line=lineno)
            pending.append(p)
    return [_finish(p) for p in pending]


def _number(doc: dict[str, Any], key: str, *, source: str, line: int) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InputError(f"{key}: expected a non-negative number of seconds, got {value!r}", source=source, line=line)
    return float(value)


def _merge_curl_json(p: _Pending, doc: dict[str, Any], *, source: str, line: int) -> None:
    """Fold a ``curl -w '%{json}'`` object into an observation (times are seconds there)."""
    obs = p.obs
    code = doc.get("response_code", doc.get("http_code"))
    if code is not None:
        if isinstance(code, str) and code.isdigit() and len(code) <= 3:
            code = int(code)
        if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code <= 999:
            raise InputError(f"response_code: expected an HTTP status, got {code!r}", source=source, line=line)
        if code:
            obs.status = code
        else:
            obs.error = str(doc.get("errormsg") or "no response (curl reported HTTP code 000)")
            exitcode = doc.get("exitcode")
            obs.error_code = exitcode if isinstance(exitcode, int) and not isinstance(exitcode, bool) else None
            marks = {k.removeprefix("time_"): v for k in _CURL_W_TIMES if isinstance(v := doc.get(k), int | float)}
            tls = str(doc.get("scheme") or urlsplit(obs.url or "").scheme or "").lower() != "http"
            obs.failed_phase = failed_phase(obs.error_code, marks, tls=tls)
    url = doc.get("url_effective") or doc.get("url")
    if isinstance(url, str) and url:
        obs.url = obs.url or url
    ip = doc.get("remote_ip")
    if isinstance(ip, str) and ip:
        obs.address = obs.address or ip
    port = doc.get("remote_port")
    if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
        obs.port = obs.port or port
    method = doc.get("method")
    if isinstance(method, str) and method:
        obs.method = obs.method or method
    version = doc.get("http_version")
    if isinstance(version, str | int | float) and not isinstance(version, bool) and str(version) not in ("", "0"):
        obs.http_version = obs.http_version or str(version)
    times = {k: _number(doc, k, source=source, line=line) for k in _CURL_W_TIMES}
    needed = ("time_namelookup", "time_connect", "time_pretransfer", "time_starttransfer", "time_total")
    if all(times[k] is not None for k in needed):
        scheme = str(doc.get("scheme") or urlsplit(obs.url or "").scheme or "").lower()
        p.row = None
        p.marks = {}
        p.has_json_times = True
        obs.timings = PhaseTimings.from_cumulative(
            namelookup=times["time_namelookup"] * 1000,  # type: ignore[operator]
            connect=times["time_connect"] * 1000,  # type: ignore[operator]
            pretransfer=times["time_pretransfer"] * 1000,  # type: ignore[operator]
            starttransfer=times["time_starttransfer"] * 1000,  # type: ignore[operator]
            total=times["time_total"] * 1000,  # type: ignore[operator]
            tls=scheme != "http",
        )
    elif times["time_total"] is not None:
        p.has_json_times = True
        obs.timings = PhaseTimings(total=times["time_total"] * 1000)


def _merge_header_json(pending: list[_Pending], doc: dict[str, Any]) -> None:
    """``%{header_json}``: {"name": ["value", ...]} for the response before it (or a new one)."""
    pairs = [(str(k), str(v)) for k, values in doc.items() for v in values if isinstance(v, str | int | float)]
    target = pending[-1] if pending and not pending[-1].pairs else None
    if target is None:
        target = _Pending(HttpObservation())
        pending.append(target)
    target.pairs = pairs
