"""What every diagnostics command shares: ``--format``, ``--lang``, output and the bad-input contract.

Bad input never shows a traceback: it becomes one line on stderr naming the file and line (or field) and exit
code 2 (see :class:`casework.diagnostics.report.InputError`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from casework import i18n
from casework.diagnostics.report import InputError, Report

EXIT_BAD_INPUT = 2


class OutputFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"


FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="terminal (default), json (stable, documented) or markdown (a reply)."),
]
LangOption = Annotated[str, typer.Option("--lang", help="Language of the report: en or zh.")]


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(code)


def apply_language(lang: str) -> None:
    try:
        i18n.set_language(lang)
    except i18n.UnknownLanguage:
        raise fail(f"--lang: unknown language {lang!r} (use one of: {', '.join(i18n.SUPPORTED)})") from None


@contextmanager
def bad_input_exits() -> Iterator[None]:
    """Turn :class:`InputError` (and unreadable files) into the one-line error and exit code 2."""
    try:
        yield
    except InputError as exc:
        raise fail(exc.one_line()) from None
    except FileNotFoundError as exc:
        raise fail(f"{exc.filename}: no such file") from None
    except IsADirectoryError as exc:
        raise fail(f"{exc.filename}: is a directory") from None
    except PermissionError as exc:
        raise fail(f"{exc.filename}: permission denied") from None


def emit(reports: Sequence[Report], fmt: OutputFormat) -> None:
    """Write the reports to stdout in the chosen format."""
    # Imported here so each command pays only for the renderer it uses.
    if fmt is OutputFormat.json:
        from casework.diagnostics.render.json import render_json

        sys.stdout.write(render_json(reports))
    elif fmt is OutputFormat.markdown:
        from casework.diagnostics.render.markdown import render_markdown

        sys.stdout.write(render_markdown(reports))
    else:
        from casework.diagnostics.render.terminal import render_terminal

        render_terminal(reports)


T = TypeVar("T")


def run_analysis(fn: Callable[[], T]) -> T:
    with bad_input_exits():
        return fn()
