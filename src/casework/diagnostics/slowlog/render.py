"""The slow-log :class:`Report`: its JSON data (documented in ``docs/slowlog.md``) and its terminal/Markdown
sections (a table of the top shapes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from casework.diagnostics.render.registry import register_markdown_section, register_terminal_section
from casework.diagnostics.report import Report
from casework.diagnostics.slowlog.digest import Digest, Options
from casework.diagnostics.slowlog.entry import Shape
from casework.i18n import gettext as _

KIND = "slowlog"
FINGERPRINT_WIDTH = 100


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def shape_dict(s: Shape) -> dict[str, Any]:
    ratio = s.ratio
    return {
        "fingerprint": s.fingerprint,
        "engine": s.engine,
        "namespace": s.namespace,
        "operation": s.operation,
        "count": s.count,
        "total_ms": s.total_ms,
        "mean_ms": s.mean_ms,
        "min_ms": s.min_ms,
        "p50_ms": s.p50_ms,
        "p95_ms": s.p95_ms,
        "p99_ms": s.p99_ms,
        "max_ms": s.max_ms,
        "share": s.share,
        "examined": s.examined,
        "returned": s.returned,
        "ratio": None if ratio is None else round(ratio, 2),
        "lock_ms": s.lock_ms,
        "internal": s.internal,
        "internal_reason": s.internal_reason,
        "plan": s.plan,
        "codes": list(s.codes),
        "first_seen": _iso(s.first_seen),
        "last_seen": _iso(s.last_seen),
        "dbs": s.dbs,
        "users": s.users,
        "clients": s.clients,
        "example": s.example,
        "example_source": s.example_source,
        "example_line": s.example_line,
        "histogram": s.histogram,
        "extra": {k: v for k, v in s.extra.items() if not k.startswith("_")},
    }


def build_report(digest: Digest, *, options: Options, sources: list[str]) -> Report:
    summary = dict(digest.summary)
    summary["first_seen"] = _iso(summary.get("first_seen"))
    summary["last_seen"] = _iso(summary.get("last_seen"))
    summary["files"] = sources
    summary["sort"] = options.sort
    shown = digest.shapes if options.top <= 0 else digest.shapes[: options.top]
    title = _("Slow-log digest: {entries} entries, {shapes} query shapes ({sources})").format(
        entries=f"{summary['entries']:,}", shapes=f"{summary['shapes']:,}", sources=", ".join(sources) or "-"
    )
    return Report(
        kind=KIND,
        title=title,
        data={"summary": summary, "shapes": [shape_dict(s) for s in shown]},
        findings=list(digest.findings),
    )


def _ms(value: float) -> str:
    if value >= 100_000:
        return f"{value / 1000:,.0f}s"
    if value >= 1000:
        return f"{value / 1000:,.2f}s"
    if value >= 10:
        return f"{value:,.0f}ms"
    return f"{value:,.2f}ms"


def _short(text: str, width: int = FINGERPRINT_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _ratio(row: dict[str, Any]) -> str:
    return "-" if row["ratio"] is None else f"{row['ratio']:,.0f}"


def _headers() -> list[str]:
    return [
        "#", _("Query shape"), _("Engine"), _("Namespace"), _("Count"), _("Total"), _("Share"), _("Mean"),
        _("p95"), _("Max"), _("Examined/returned"), _("Codes"),
    ]


def _rows(report: Report) -> list[list[str]]:
    rows = []
    for i, s in enumerate(report.data.get("shapes", []), 1):
        fp = _short(s["fingerprint"])
        if s["internal"]:
            fp = f"[{_('internal')}] {fp}"
        rows.append([
            str(i), fp, s["engine"], s["namespace"] or "-", f"{s['count']:,}", _ms(s["total_ms"]),
            f"{s['share']:.1%}", _ms(s["mean_ms"]), _ms(s["p95_ms"]), _ms(s["max_ms"]), _ratio(s),
            ", ".join(s["codes"]) or "-",
        ])
    return rows


def _summary_line(report: Report) -> str:
    s = report.data.get("summary", {})
    engines = ", ".join(f"{k} {v['entries']:,}" for k, v in s.get("by_engine", {}).items()) or "-"
    text = _("{entries} entries ({engines}), {shapes} shapes, {internal} internal, total {total}; "
             "{unparsed} unparsed lines").format(
        entries=f"{s.get('entries', 0):,}", engines=engines, shapes=f"{s.get('shapes', 0):,}",
        internal=f"{s.get('internal', 0):,}", total=_ms(s.get("total_ms", 0.0)), unparsed=f"{s.get('unparsed', 0):,}",
    )
    if s.get("unparsed_lines"):
        text += " (" + _("first at {where}").format(where=", ".join(s["unparsed_lines"][:5])) + ")"
    if s.get("decode_errors"):
        text += "; " + _("{n} lines were not UTF-8 (decoded with replacement)").format(n=s["decode_errors"])
    return text


def terminal_section(report: Report) -> list[Any]:
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold", expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column(_("Query shape"), ratio=1, min_width=30, overflow="fold")
    for h in (_("Count"), _("Total"), _("Share"), _("p95"), _("Max"), _("Exam/ret")):
        table.add_column(h, justify="right", no_wrap=True)
    for i, s in enumerate(report.data.get("shapes", []), 1):
        cell = Text(_short(s["fingerprint"], 300))
        meta = [s["engine"], s["namespace"] or "-"]
        if s["internal"]:
            meta.append(_("internal") + (f" ({s['internal_reason']})" if s["internal_reason"] else ""))
        if s["plan"]:
            meta.append(s["plan"])
        meta.extend(s["codes"])
        cell.append("\n" + " · ".join(meta), style="dim")
        table.add_row(str(i), cell, f"{s['count']:,}", _ms(s["total_ms"]), f"{s['share']:.1%}",
                      _ms(s["p95_ms"]), _ms(s["max_ms"]), _ratio(s))
    out: list[Any] = [Text(_summary_line(report), style="dim"), table]
    shapes = report.data.get("shapes", [])
    if shapes:
        top = shapes[0]
        out.append(Text(_("Slowest example of shape #1 ({where}):").format(
            where=f"{top['example_source']}:{top['example_line']}"), style="bold"))
        out.append(Text(_short(top["example"], 600)))
    return out


def markdown_section(report: Report) -> str:
    from casework.diagnostics.render.markdown import markdown_table

    heading = _("Top query shapes")  # not inside the f-string: makemessages does not read f-strings
    parts = [_summary_line(report), "", f"**{heading}**", ""]
    rows = [[r[0], f"`{r[1]}`", *r[2:]] for r in _rows(report)]
    parts.append(markdown_table(_headers(), rows))
    return "\n".join(parts)


register_terminal_section(KIND, terminal_section)
register_markdown_section(KIND, markdown_section)
