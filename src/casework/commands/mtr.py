"""``casework mtr FILE`` / ``casework mtr --run HOST``: read an mtr or WinMTR table and say where loss starts."""

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
    fail,
)


def mtr(
    file: Annotated[
        str | None,
        typer.Argument(help="WinMTR text export, mtr --report/--report-wide, --json or --csv output; - for stdin."),
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Run the system mtr to HOST and analyse it.")] = None,
    count: Annotated[int, typer.Option("-c", "--count", min=1, max=10000, help="Probes per hop (--run).")] = 10,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between probes (--run; below 1 s needs root).")
    ] = 1.0,
    tcp: Annotated[bool, typer.Option("--tcp", help="Probe with TCP SYN instead of ICMP (--run).")] = False,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, help="TCP port for --tcp.")] = None,
    gracetime: Annotated[
        float | None, typer.Option("--gracetime", min=0.0, help="Seconds mtr waits for late answers (--run; mtr's default 5).")
    ] = None,
    dns: Annotated[bool, typer.Option("--dns/--no-dns", help="Resolve hop names (--run).")] = False,
    input_format: Annotated[
        str | None,
        typer.Option("--input-format", help="Force the input format: winmtr, mtr-report, mtr-json, mtr-csv."),
    ] = None,
    fmt: FormatOption = OutputFormat.terminal,
    lang: LangOption = "en",
) -> None:
    """Where does the loss really start? Judge an mtr by what persists to the destination."""
    apply_language(lang)
    from casework.diagnostics.net.mtr import analyze_file, analyze_trace, run_mtr

    if (file is None) == (run is None):
        raise fail("give either FILE or --run HOST")
    if port is not None and not tcp:
        raise fail("--port needs --tcp")
    with bad_input_exits():
        if run is not None:
            report = analyze_trace(run_mtr(run, count=count, tcp=tcp, port=port, interval=interval, dns=dns,
                                          gracetime=gracetime))
        else:
            assert file is not None
            report = analyze_file(file, fmt=input_format)
    emit([report], fmt)


def register(app: typer.Typer) -> None:
    app.command(name="mtr")(mtr)
