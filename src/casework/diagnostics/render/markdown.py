"""Markdown: a reply the engineer can paste into a ticket, in the active language."""

from __future__ import annotations

from collections.abc import Sequence

from casework.diagnostics.render.registry import markdown_section
from casework.diagnostics.report import Report
from casework.i18n import gettext as _


def _escape_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured table; analyzers use it for their own sections."""
    out = ["| " + " | ".join(_escape_cell(h) for h in headers) + " |"]
    out.append("|" + "|".join("---" for _ in headers) + "|")
    out.extend("| " + " | ".join(_escape_cell(c) for c in row) + " |" for row in rows)
    return "\n".join(out)


def render_report_markdown(report: Report) -> str:
    parts = [f"### {report.title}", ""]
    findings = report.ranked()
    if findings:
        parts.append(f"**{_('Findings')}**")
        parts.append("")
        for i, f in enumerate(findings, 1):
            parts.append(f"{i}. **{f.title}** (`{f.code}`, {_(f.severity.value)})")
            if f.detail:
                parts.append(f"   {f.detail}")
            if f.advice:
                parts.append(f"   *{_('Advice')}:* {f.advice}")
        parts.append("")
    else:
        parts.append(_("No problem was found in this data."))
        parts.append("")
    section = markdown_section(report.kind)
    if section is not None:
        extra = section(report).strip()
        if extra:
            parts.append(extra)
            parts.append("")
    return "\n".join(parts)


def render_markdown(reports: Sequence[Report]) -> str:
    return "\n".join(render_report_markdown(r) for r in reports).rstrip() + "\n"
