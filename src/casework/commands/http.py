"""``casework http``: httpstat-style timings of a URL and what the CDN did — probed live or read from a paste."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from casework.commands.common import (
    FormatOption,
    LangOption,
    OutputFormat,
    apply_language,
    bad_input_exits,
    emit,
    fail,
)
from casework.diagnostics.report import InputError

EXIT_REQUEST_FAILED = 1


def http_command(
    url: Annotated[str | None, typer.Argument(help="The http(s) URL to probe.", show_default=False)] = None,
    method: Annotated[str, typer.Option("--method", "-X", help="HTTP method (HEAD sends no body).")] = "GET",
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="Extra request header 'Name: value' (repeatable).")
    ] = None,
    insecure: Annotated[bool, typer.Option("--insecure", "-k", help="Do not verify the TLS certificate.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds before giving up on one request.")] = 10.0,
    resolve: Annotated[
        list[str] | None,
        typer.Option("--resolve", help="HOST:PORT:ADDR — send HOST:PORT to ADDR, as curl (repeatable)."),
    ] = None,
    compare: Annotated[
        str | None, typer.Option("--compare", help="ADDR1,ADDR2,... — the same request to each address, side by side.")
    ] = None,
    count: Annotated[int, typer.Option("-n", "--count", help="Repeat N times; report min/median/p95 per phase.")] = 1,
    http11: Annotated[bool, typer.Option("--http1.1", help="Use HTTP/1.1 only.")] = False,
    http2: Annotated[bool, typer.Option("--http2", help="Use HTTP/2 (h2 by ALPN over TLS, h2c upgrade otherwise).")] = False,
    cacert: Annotated[
        str | None, typer.Option("--cacert", help="CA bundle (PEM) to verify the server with, as curl.")
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option("--from-file", help="Analyse pasted httpstat / headers / curl -v / curl -I / curl -w JSON ('-' = stdin)."),
    ] = None,
    fmt: FormatOption = OutputFormat.terminal,
    lang: LangOption = "en",
) -> None:
    """Timings per phase (DNS, TCP, TLS, server, transfer) like httpstat, and the CDN verdict from the headers."""
    apply_language(lang)
    # Imported here so `casework --help` does not load libcurl.
    from casework.diagnostics.net import httprender
    from casework.diagnostics.net.http import ProbeOptions, check_resolve, check_url, probe, probe_compare
    from casework.diagnostics.net.httpfile import read_http_file
    from casework.diagnostics.net.httpreport import build_report

    with bad_input_exits():
        if from_file is not None:
            if url is not None:
                raise InputError("give a URL to probe or --from-file, not both", source="URL")
            reports = [build_report(obs) for obs in read_http_file(from_file)]
            emit(reports, fmt)
            return
        if url is None:
            raise fail("give a URL to probe, or --from-file FILE (see casework http --help)")
        check_url(url)
        if http11 and http2:
            raise InputError("choose one of --http1.1 and --http2", source="--http2")
        if count < 1:
            raise InputError("must be at least 1", source="-n")
        if timeout <= 0:
            raise InputError("must be positive", source="--timeout")
        for h in header or []:
            if ":" not in h and not h.endswith(";"):
                raise InputError(f"expected 'Name: value', got {h!r}", source="--header")
        options = ProbeOptions(
            method=method.upper(),
            headers=tuple(header or ()),
            insecure=insecure,
            timeout_s=timeout,
            resolve=tuple(check_resolve(r) for r in resolve or ()),
            http_version="1.1" if http11 else "2" if http2 else "auto",
            ca_file=cacert,
        )
        if compare:
            addresses = [a.strip() for a in compare.split(",") if a.strip()]
            if not addresses:
                raise InputError("expected ADDR1,ADDR2,...", source="--compare")
            observations = probe_compare(url, options, addresses, runs=count)
            reports = []
            for addr, obs in zip(addresses, observations, strict=True):
                report = build_report(obs)
                report.data["pinned"] = addr
                reports.append(report)
        else:
            reports = [build_report(probe(url, options, runs=count))]

    emit(reports, fmt)
    if compare and len(reports) > 1:
        if fmt is OutputFormat.terminal:
            Console().print(httprender.compare_terminal(reports))
        elif fmt is OutputFormat.markdown:
            sys.stdout.write("\n" + httprender.compare_markdown(reports))
    if any(r.data.get("error") for r in reports):
        raise typer.Exit(EXIT_REQUEST_FAILED)


def register(app: typer.Typer) -> None:
    app.command("http", help=http_command.__doc__)(http_command)
