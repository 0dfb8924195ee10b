"""Terminal output with Rich: a heading, the analyzer's own section, then the ranked findings."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from casework.diagnostics.render.registry import terminal_section
from casework.diagnostics.report import Finding, Report, Severity
from casework.i18n import gettext as _

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _finding_panel(finding: Finding) -> Panel:
    body = Text()
    if finding.detail:
        body.append(finding.detail + "\n")
    if finding.advice:
        body.append(_("Advice") + ": ", style="bold")
        body.append(finding.advice)
    header = Text.assemble(
        (f" {_(finding.severity.value).upper()} ", SEVERITY_STYLE[finding.severity]),
        " ",
        (finding.title, "bold"),
        "  ",
        (finding.code, "dim"),
    )
    return Panel(body, title=header, title_align="left", border_style="dim")


def render_report(report: Report, console: Console) -> None:
    console.rule(Text(report.title, style="bold"))
    section = terminal_section(report.kind)
    if section is not None:
        for renderable in section(report):
            console.print(renderable)
    findings = report.ranked()
    if not findings:
        console.print(Text(_("No problem was found in this data."), style="green"))
        return
    console.print(Group(*(_finding_panel(f) for f in findings)))


def render_terminal(reports: Sequence[Report], console: Console | None = None) -> None:
    console = console or Console()
    for report in reports:
        render_report(report, console)
