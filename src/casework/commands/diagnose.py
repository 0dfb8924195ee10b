"""``casework diagnose FILE``: pick the analyzer that reads a file a customer sent, and run it."""

from __future__ import annotations

from typing import Annotated

import typer

from casework.commands.common import (
    FormatOption,
    LangOption,
    OutputFormat,
    apply_language,
    bad_input_exits,
    emit,
)


def diagnose(
    file: Annotated[str, typer.Argument(help="An mtr/WinMTR report, pasted HTTP output, or a slow log.")],
    fmt: FormatOption = OutputFormat.terminal,
    lang: LangOption = "en",
) -> None:
    """Recognise what FILE is (mtr report, httpstat/curl output, slow log) and analyse it."""
    apply_language(lang)
    from casework.diagnostics.auto import diagnose_file

    with bad_input_exits():
        reports = diagnose_file(file)
    emit(reports, fmt)


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose)
