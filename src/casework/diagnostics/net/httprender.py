"""The ``http`` sections of the terminal and Markdown renderers, and the ``--compare`` side-by-side table.

They read only ``Report.data`` (the documented JSON shape), so a report stored as JSON renders the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from casework.diagnostics.net.httpmodel import PHASES
from casework.diagnostics.net.httpreport import join_sentences, phase_label
from casework.diagnostics.render.markdown import markdown_table
from casework.diagnostics.render.registry import register_markdown_section, register_terminal_section
from casework.diagnostics.report import Report
from casework.i18n import gettext as _

_ALL = (*PHASES, "total")


def _ms(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _share(value: Any, total: Any) -> str:
    if value is None or not total:
        return ""
    return f"{value / total * 100:.0f}%"


def _present(data: dict[str, Any]) -> list[str]:
    """The phases this report has a value for (plain HTTP has no TLS column, a paste may have none)."""
    timings = data.get("timings_ms") or {}
    return [p for p in _ALL if timings.get(p) is not None]


def _status_line(data: dict[str, Any]) -> str:
    if data.get("error"):
        return _("no response: {error}").format(error=data["error"])
    parts = []
    if data.get("http_version"):
        parts.append(f"HTTP/{data['http_version']}")
    if data.get("status") is not None:
        parts.append(str(data["status"]))
    if data.get("reason"):
        parts.append(str(data["reason"]))
    return " ".join(parts) or "-"


def _address(data: dict[str, Any]) -> str:
    addr = data.get("address")
    if not addr:
        return "-"
    addr = f"[{addr}]" if ":" in addr else addr
    return f"{addr}:{data['port']}" if data.get("port") else addr


def _node_rows(cdn: dict[str, Any]) -> list[list[str]]:
    return [[n["name"], n.get("layer") or "-", n.get("result") or "-"] for n in cdn.get("nodes") or []]


def cdn_summary(data: dict[str, Any]) -> str:
    """One sentence on what the CDN did, for the terminal and the reply."""
    cdn = data.get("cdn") or {}
    if not cdn.get("vendor"):
        return _("No CDN or cache headers in the response: it came straight from the server.")
    header = f" ({cdn['status_header']})" if cdn.get("status_header") else ""
    sentences = [_("Served by {vendor}; cache status {status}{header}.").format(
        vendor=cdn["vendor"], status=cdn["status"], header=header)]
    if cdn.get("age_s") is not None and cdn.get("ttl_s") is not None:
        sentences.append(_("Cached {age} s ago, kept for {ttl} s ({source}).").format(
            age=cdn["age_s"], ttl=cdn["ttl_s"], source=cdn.get("ttl_header") or ""))
    elif cdn.get("age_s") is not None:
        sentences.append(_("Age {age} s.").format(age=cdn["age_s"]))
    elif cdn.get("ttl_s") is not None:
        sentences.append(_("TTL {ttl} s ({source}).").format(ttl=cdn["ttl_s"], source=cdn.get("ttl_header") or ""))
    if cdn.get("request_id"):
        sentences.append(_("Request id: {rid}.").format(rid=cdn["request_id"]))
    return join_sentences(sentences)


def _timing_headers(phases: Sequence[str]) -> list[str]:
    return [phase_label(p) for p in phases]


def terminal_section(report: Report) -> list[Any]:
    data = report.data
    out: list[Any] = []
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_row(_("URL"), str(data.get("url") or "-"))
    info.add_row(_("Connected to"), _address(data))
    info.add_row(_("Response"), _status_line(data))
    if data.get("source") != "probe":
        info.add_row(_("Source"), str(data.get("source")))
    out.append(info)

    phases = _present(data)
    if phases:
        timings = data["timings_ms"]
        table = Table(title=_("Timings (httpstat phases)"), title_justify="left")
        table.add_column("")
        for p in phases:
            table.add_column(phase_label(p), justify="right", style="bold" if p == "total" else None)
        stats = data.get("stats_ms")
        if stats:
            for key, label in (("min", _("min")), ("median", _("median")), ("p95", _("p95"))):
                table.add_row(label, *(_ms((stats.get(p) or {}).get(key)) for p in phases))
            table.add_row(_("runs"), str(data.get("runs")), *([""] * (len(phases) - 1)))
        else:
            table.add_row(_("time"), *(_ms(timings.get(p)) for p in phases))
            table.add_row(_("share"), *(_share(timings.get(p), timings.get("total")) for p in phases))
        out.append(table)

    cdn = data.get("cdn") or {}
    out.append(Text(cdn_summary(data)))
    rows = _node_rows(cdn)
    if rows:
        nodes = Table(title=_("CDN node path (Via: origin side first, client side last)"), title_justify="left")
        for h in (_("Node"), _("Layer"), _("Result")):
            nodes.add_column(h)
        for row in rows:
            nodes.add_row(*row)
        out.append(nodes)
    headers = data.get("headers") or {}
    if headers:
        text = Text()
        for name, value in headers.items():
            text.append(f"{name}: ", style="dim")
            text.append(f"{value}\n")
        out.append(text)
    return out


def markdown_section(report: Report) -> str:
    data = report.data
    parts = [
        f"- {_('URL')}: `{data.get('url') or '-'}`",
        f"- {_('Connected to')}: `{_address(data)}`",
        f"- {_('Response')}: {_status_line(data)}",
        "",
    ]
    phases = _present(data)
    if phases:
        timings = data["timings_ms"]
        stats = data.get("stats_ms")
        if stats:
            rows = [[label, *(_ms((stats.get(p) or {}).get(key)) for p in phases)]
                    for key, label in (("min", _("min")), ("median", _("median")), ("p95", _("p95")))]
            parts.append(_("Timings over {n} runs:").format(n=data.get("runs")))
        else:
            rows = [[_("time"), *(_ms(timings.get(p)) for p in phases)],
                    [_("share"), *(_share(timings.get(p), timings.get("total")) for p in phases)]]
            parts.append(_("Timings:"))
        parts.append("")
        parts.append(markdown_table(["", *_timing_headers(phases)], rows))
        parts.append("")
    parts.append(cdn_summary(data))
    rows = _node_rows(data.get("cdn") or {})
    if rows:
        parts.append("")
        parts.append(markdown_table([_("Node"), _("Layer"), _("Result")], rows))
    return "\n".join(parts)


def compare_rows(reports: Sequence[Report]) -> tuple[list[str], list[list[str]]]:
    """``--compare``: one row per phase, one column per address (medians when -n > 1)."""
    headers = [_("Phase"), *(_address(r.data) if r.data.get("address") else str(r.data.get("pinned")) for r in reports)]
    rows = []
    for p in _ALL:
        values = [(r.data.get("timings_ms") or {}).get(p) for r in reports]
        if any(v is not None for v in values):
            rows.append([phase_label(p), *(_ms(v) for v in values)])
    rows.append([_("Response"), *(_status_line(r.data) for r in reports)])
    rows.append([_("Cache"), *(str((r.data.get("cdn") or {}).get("status")) for r in reports)])
    return headers, rows


def compare_terminal(reports: Sequence[Report]) -> Table:
    headers, rows = compare_rows(reports)
    table = Table(title=_("Side by side: the same request to each address"), title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def compare_markdown(reports: Sequence[Report]) -> str:
    headers, rows = compare_rows(reports)
    return f"### {_('Side by side: the same request to each address')}\n\n{markdown_table(headers, rows)}\n"


register_terminal_section("http", terminal_section)
register_markdown_section("http", markdown_section)
