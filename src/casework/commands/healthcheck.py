"""``casework healthcheck``: reproduce a load balancer's L4/L7 health check and say why it fails."""

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


def healthcheck(
    tcp: Annotated[str | None, typer.Option("--tcp", help="L4 check: HOST:PORT.")] = None,
    http: Annotated[str | None, typer.Option("--http", help="L7 check: http:// or https:// URL.")] = None,
    both: Annotated[
        bool, typer.Option("--both", help="Run the L4 and the L7 check of the --http backend and explain a difference.")
    ] = False,
    method: Annotated[str, typer.Option("--method", help="HEAD (default, as Alibaba Cloud SLB) or GET.")] = "HEAD",
    host_header: Annotated[str | None, typer.Option("--host-header", help="Host header of the L7 check.")] = None,
    expect: Annotated[str, typer.Option("--expect", help="Healthy statuses: classes and/or codes.")] = "2xx,3xx",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per probe.")] = 5.0,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between probes.")] = 2.0,
    rise: Annotated[int, typer.Option("--rise", help="Successes in a row to become healthy.")] = 3,
    fall: Annotated[int, typer.Option("--fall", help="Failures in a row to become unhealthy.")] = 3,
    count: Annotated[int, typer.Option("--count", "-n", help="Probes to send.")] = 3,
    initial_state: Annotated[
        str, typer.Option("--initial-state", help="State before the first probe: unhealthy (a new backend) or healthy.")
    ] = "unhealthy",
    cacert: Annotated[
        str | None, typer.Option("--cacert", help="Verify the backend's certificate with this CA (default: no verification, as balancers).")
    ] = None,
    fmt: FormatOption = OutputFormat.terminal,
    lang: LangOption = "en",
) -> None:
    """Reproduce a load balancer's health check (rise/fall state machine) and explain why it fails."""
    apply_language(lang)
    from casework.diagnostics.net.healthcheck import CheckConfig, check_both, check_http, check_tcp
    from casework.diagnostics.net.healthcheck_probe import parse_expect

    if tcp is None and http is None:
        raise fail("give --tcp HOST:PORT, --http URL, or --both --http URL")
    if both and http is None:
        raise fail("--both needs --http URL (the TCP target defaults to its host and port)")
    with bad_input_exits():
        config = CheckConfig(method=method.upper(), host_header=host_header, expect=parse_expect(expect),
                             timeout=timeout, interval=interval, rise=rise, fall=fall, count=count,
                             initial=initial_state.lower(), cafile=cacert)
        config.validate()
        if http is not None and (both or tcp is not None):
            reports = check_both(http, config, tcp_target=tcp)
        elif http is not None:
            reports = [check_http(http, config)]
        else:
            assert tcp is not None
            reports = [check_tcp(tcp, config)]
    emit(reports, fmt)
    # Exit status for scripts: 0 when every check ends healthy, 1 otherwise (2 stays "bad input").
    if any(r.data.get("state") != "healthy" for r in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(name="healthcheck")(healthcheck)
