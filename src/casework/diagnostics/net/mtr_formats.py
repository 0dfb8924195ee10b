"""Readers for what customers paste as "my mtr": WinMTR text exports, ``mtr --report``/``--report-wide``,
``mtr --json`` (0.94+ integer counts and older string counts) and ``mtr --csv``.

Every reader returns the same :class:`Trace`; the format is detected from the text (:func:`parse_text`).
Anything unreadable raises :class:`InputError` naming the line (or JSON field), never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from casework.diagnostics.report import InputError

# Host spellings that mean "this hop sent nothing back".
NO_REPLY_HOSTS = {"???", "no response from host", "*", "request timed out."}


@dataclass(slots=True)
class Hop:
    hop: int  # 1-based
    host: str | None  # None when the hop never answered
    loss_pct: float
    sent: int
    received: int
    best_ms: float | None
    avg_ms: float | None
    worst_ms: float | None
    last_ms: float | None
    stdev_ms: float | None = None
    asn: str | None = None
    line: int | None = None  # where the hop was read (text formats)

    @property
    def replied(self) -> bool:
        return self.host is not None and self.received > 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("line")
        return d


@dataclass(slots=True)
class Trace:
    format: str  # winmtr, mtr-report, mtr-json, mtr-csv
    source: str
    target: str | None  # the destination asked for, when the format records it
    hops: list[Hop] = field(default_factory=list)
    origin: str | None = None  # the machine mtr ran on (mtr's HOST:/src)
    started: str | None = None


# --- shared value handling -------------------------------------------------------------------------------


def _show(raw: Any) -> str:
    try:
        return repr(str(raw)[:40])
    except ValueError:  # an integer too long to print
        return "a huge number"


def _number(raw: Any, *, what: str, source: str, line: int | None) -> float:
    try:
        text = str(raw).strip().rstrip("%").strip() if not isinstance(raw, int | float) else raw
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what}: not a number: {_show(raw)}", source=source, line=line) from None
    if isinstance(raw, bool) or not math.isfinite(value) or value < 0:
        raise InputError(f"{what}: not a valid value: {_show(raw)}", source=source, line=line)
    return value


def _count(raw: Any, *, what: str, source: str, line: int | None) -> int:
    value = _number(raw, what=what, source=source, line=line)
    if value != int(value) or value > 10**12:
        raise InputError(f"{what}: not a count: {_show(raw)}", source=source, line=line)
    return int(value)


def _loss(raw: Any, *, what: str, source: str, line: int | None) -> float:
    value = _number(raw, what=what, source=source, line=line)
    if value > 100:
        raise InputError(f"{what}: loss above 100%: {_show(raw)}", source=source, line=line)
    return value


def _host(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return None if not text or text.lower() in NO_REPLY_HOSTS else text


def _make_hop(*, hop: int, host: str | None, loss: float, sent: int, received: int | None,
              times: dict[str, float | None], asn: str | None, source: str, line: int | None) -> Hop:
    if received is None:
        # mtr prints Loss% and Snt, not the replies: recover them (the rounding is mtr's own, to 0.1 %).
        received = round(sent * (100.0 - loss) / 100.0)
    if received > sent:
        raise InputError(f"hop {hop}: more replies ({received}) than probes sent ({sent})", source=source, line=line)
    host = _host(host)
    if host is None or received == 0:
        # A silent hop has no meaningful times (WinMTR and mtr print zeros).
        times = dict.fromkeys(times)
    return Hop(hop=hop, host=host, loss_pct=loss, sent=sent, received=received,
               best_ms=times.get("best"), avg_ms=times.get("avg"), worst_ms=times.get("worst"),
               last_ms=times.get("last"), stdev_ms=times.get("stdev"), asn=asn, line=line)


# --- WinMTR ----------------------------------------------------------------------------------------------

# |                         220.191.200.53 -   38 | 1062 |  665 |    0 |    5 |   32 |    5 |
# Hosts are right-aligned in WinMTR 0.92's "Export TEXT" and left-aligned in other builds and pastes.
_WINMTR_ROW = re.compile(
    r"^\s*\|\s*(?P<host>\S(?:.*?\S)?)\s*-\s*(?P<loss>\d+(?:\.\d+)?)\s*"
    r"\|\s*(?P<sent>\d+)\s*\|\s*(?P<recv>\d+)\s*\|\s*(?P<best>\d+(?:\.\d+)?)\s*\|\s*(?P<avg>\d+(?:\.\d+)?)\s*"
    r"\|\s*(?P<worst>\d+(?:\.\d+)?)\s*\|\s*(?P<last>\d+(?:\.\d+)?)\s*\|\s*$"
)
_WINMTR_FRAME = re.compile(r"^\s*\|[\s\-_|]*\|?\s*$")
_WINMTR_HEADER = re.compile(r"^\s*\|.*(WinMTR statistics|Host\s.*Sent.*Recv)", re.IGNORECASE)


def parse_winmtr(text: str, *, source: str) -> Trace:
    trace = Trace(format="winmtr", source=source, target=None)
    in_table = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip().startswith("|"):
            # Prose around the table (a ticket paste) and the "WinMTR v0.92 GPL V2" footer.
            if in_table and trace.hops:
                in_table = False
            continue
        in_table = True
        if _WINMTR_FRAME.match(line) or _WINMTR_HEADER.match(line):
            continue
        m = _WINMTR_ROW.match(line)
        if m is None:
            raise InputError("not a WinMTR table row (expected '| host - loss | sent | recv | best | avrg | wrst | last |')",
                             source=source, line=lineno)
        n = len(trace.hops) + 1
        loss = _loss(m["loss"], what="loss %", source=source, line=lineno)
        sent = _count(m["sent"], what="Sent", source=source, line=lineno)
        recv = _count(m["recv"], what="Recv", source=source, line=lineno)
        times = {k: _number(m[k], what=k, source=source, line=lineno) for k in ("best", "avg", "worst", "last")}
        trace.hops.append(_make_hop(hop=n, host=m["host"], loss=loss, sent=sent, received=recv, times=times,
                                    asn=None, source=source, line=lineno))
    return trace


# --- mtr --report / --report-wide ------------------------------------------------------------------------

# "  1.|-- 192.0.2.1   0.0% ..." (0.8x+) and "  1. 192.0.2.1   0.0% ..." (older, and some pastes)
_REPORT_ROW = re.compile(r"^\s*(?P<hop>\d+)\.(?:\|--|\s)\s*(?P<rest>\S.*)$")
_REPORT_ALT = re.compile(r"^\s*\|\s+`--\s+\S+")  # another address answering for the previous hop (multipath)
_REPORT_HEADER = re.compile(r"^\s*HOST:\s*(?P<origin>\S*)\s+(?P<cols>.*\bLoss%.*)$")
_REPORT_START = re.compile(r"^\s*Start:\s*(?P<ts>\S.*)$")
_DEFAULT_COLUMNS = ["Loss%", "Snt", "Last", "Avg", "Best", "Wrst", "StDev"]
_TIME_COLUMNS = {"Last": "last", "Avg": "avg", "Best": "best", "Wrst": "worst", "StDev": "stdev"}


def parse_report(text: str, *, source: str) -> Trace:
    trace = Trace(format="mtr-report", source=source, target=None)
    columns = list(_DEFAULT_COLUMNS)
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if m := _REPORT_START.match(line):
            trace.started = m["ts"].strip()
            continue
        if m := _REPORT_HEADER.match(line):
            trace.origin = m["origin"] or None
            columns = m["cols"].split()
            continue
        if _REPORT_ALT.match(line):
            continue
        m = _REPORT_ROW.match(line)
        if m is None:
            raise InputError("not an mtr report row (expected '  N.|-- host  Loss%  Snt ...')", source=source, line=lineno)
        tokens = m["rest"].split()
        if len(tokens) < len(columns) + 1:
            raise InputError(f"expected a host and {len(columns)} values ({' '.join(columns)})",
                             source=source, line=lineno)
        values = dict(zip(columns, tokens[-len(columns):], strict=True))
        host_tokens = tokens[: -len(columns)]
        asn = None
        if len(host_tokens) > 1 and host_tokens[0].upper().startswith("AS"):
            asn = host_tokens.pop(0)  # mtr -z
        host = " ".join(host_tokens)
        hop = _count(m["hop"], what="hop number", source=source, line=lineno)
        if "Loss%" not in values or "Snt" not in values:
            raise InputError("the report has no Loss% or Snt column", source=source, line=lineno)
        loss = _loss(values["Loss%"], what="Loss%", source=source, line=lineno)
        sent = _count(values["Snt"], what="Snt", source=source, line=lineno)
        received = _count(values["Rcv"], what="Rcv", source=source, line=lineno) if "Rcv" in values else None
        times = {key: _number(values[col], what=col, source=source, line=lineno)
                 for col, key in _TIME_COLUMNS.items() if col in values}
        trace.hops.append(_make_hop(hop=hop, host=host, loss=loss, sent=sent, received=received, times=times,
                                    asn=asn, source=source, line=lineno))
    return trace


# --- mtr --json ------------------------------------------------------------------------------------------


def parse_json(text: str, *, source: str) -> Trace:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", source=source, line=exc.lineno) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply", source=source) from None
    except ValueError as exc:  # e.g. an integer literal longer than Python will convert
        raise InputError(f"invalid JSON: {exc}", source=source) from None

    def field_error(path: str, what: str) -> InputError:
        return InputError(f"field {path}: {what}", source=source)

    report = doc.get("report") if isinstance(doc, dict) else None
    if not isinstance(report, dict):
        raise field_error("report", "missing (not mtr --json output)")
    meta = report.get("mtr") if isinstance(report.get("mtr"), dict) else {}
    hubs = report.get("hubs")
    if not isinstance(hubs, list):
        raise field_error("report.hubs", "missing or not a list")
    dst = meta.get("dst")
    trace = Trace(format="mtr-json", source=source, target=str(dst) if dst not in (None, "") else None,
                  origin=str(meta["src"]) if meta.get("src") not in (None, "") else None)
    for i, hub in enumerate(hubs):
        path = f"report.hubs[{i}]"
        if not isinstance(hub, dict):
            raise field_error(path, "not an object")

        def get(key: str, path: str = path, hub: dict = hub) -> Any:
            if key not in hub:
                raise field_error(f"{path}.{key}", "missing")
            return hub[key]

        def num(key: str, conv: Callable[..., Any] = _number, path: str = path) -> Any:
            return conv(get(key), what=f"field {path}.{key}", source=source, line=None)

        hop = num("count", _count) if "count" in hub else i + 1
        times = {key: num(col) for col, key in _TIME_COLUMNS.items() if col in hub}
        received = num("Rcv", _count) if "Rcv" in hub else None
        host = get("host")
        trace.hops.append(_make_hop(hop=hop, host=str(host) if host is not None else None,
                                    loss=num("Loss%", _loss), sent=num("Snt", _count), received=received,
                                    times=times, asn=str(hub["ASN"]) if hub.get("ASN") else None,
                                    source=source, line=None))
    return trace


# --- mtr --csv -------------------------------------------------------------------------------------------


def parse_csv(text: str, *, source: str) -> Trace:
    trace = Trace(format="mtr-csv", source=source, target=None)
    rows = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    try:
        for row in rows:
            lineno = rows.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None or row[0].strip() == "Mtr_Version":
                header = [c.strip() for c in row]
                missing = {"Hop", "Ip", "Loss%", "Snt"} - set(header)
                if missing:
                    raise InputError(f"CSV header lacks {', '.join(sorted(missing))}", source=source, line=lineno)
                continue
            values = {name: row[i].strip() for i, name in enumerate(header) if name and i < len(row)}
            for name in ("Hop", "Ip", "Loss%", "Snt"):
                if name not in values:
                    raise InputError(f"row has no {name} value", source=source, line=lineno)
            if trace.target is None and values.get("Host"):
                trace.target = values["Host"]
            times = {key: _number(values[col], what=col, source=source, line=lineno)
                     for col, key in _TIME_COLUMNS.items() if values.get(col)}
            trace.hops.append(_make_hop(
                hop=_count(values["Hop"], what="Hop", source=source, line=lineno), host=values["Ip"],
                loss=_loss(values["Loss%"], what="Loss%", source=source, line=lineno),
                sent=_count(values["Snt"], what="Snt", source=source, line=lineno),
                received=_count(values["Rcv"], what="Rcv", source=source, line=lineno) if values.get("Rcv") else None,
                times=times, asn=values.get("Asn") or None, source=source, line=lineno))
    except csv.Error as exc:
        raise InputError(f"unreadable CSV: {exc}", source=source, line=rows.line_num) from None
    if trace.hops and min(h.hop for h in trace.hops) == 0:
        # Some mtr builds number CSV hops from 0; the report and JSON number them from 1.
        for h in trace.hops:
            h.hop += 1
    return trace


# --- detection -------------------------------------------------------------------------------------------

_READERS: dict[str, Callable[..., Trace]] = {
    "winmtr": parse_winmtr,
    "mtr-report": parse_report,
    "mtr-json": parse_json,
    "mtr-csv": parse_csv,
}
FORMATS = tuple(_READERS)


def sniff(text: str) -> str | None:
    """The format of ``text``, or None when it looks like none of them."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        return "mtr-json"
    if stripped.startswith("Mtr_Version,"):
        return "mtr-csv"
    lines = stripped.splitlines()
    if any("WinMTR" in ln for ln in lines) or any(_WINMTR_ROW.match(ln) for ln in lines):
        return "winmtr"
    if any(_REPORT_HEADER.match(ln) or _REPORT_ROW.match(ln) for ln in lines):
        return "mtr-report"
    return None


def parse_text(text: str, *, source: str, fmt: str | None = None) -> Trace:
    """Read an mtr/WinMTR output of any supported format (detected unless ``fmt`` is given)."""
    text = text.lstrip("\ufeff")
    fmt = fmt or sniff(text)
    if fmt is None:
        first = next((i for i, ln in enumerate(text.splitlines(), 1) if ln.strip()), None)
        raise InputError("not an mtr or WinMTR report (expected WinMTR text, mtr --report, --json or --csv)",
                         source=source, line=first)
    if fmt not in _READERS:
        raise InputError(f"unknown format {fmt!r} (use one of: {', '.join(FORMATS)})", source=source)
    trace = _READERS[fmt](text, source=source)
    if not trace.hops:
        raise InputError("no hops found", source=source)
    trace.hops.sort(key=lambda h: h.hop)
    return trace
