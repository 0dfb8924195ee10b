"""``casework slowlog FILE... [--redis URL]``: which query shapes cost the most, which entries are internal, and
why each is slow — for MySQL/MariaDB, PostgreSQL, MongoDB and Redis slow logs (see ``docs/slowlog.md``)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
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

PROGRESS_MIN_BYTES = 64 << 20


class SortKey(StrEnum):
    total = "total"
    count = "count"
    mean = "mean"
    p95 = "p95"
    ratio = "ratio"


def _parse_time(value: str | None, flag: str) -> float | None:
    if value is None:
        return None
    text = value.strip()
    try:
        return float(text)  # epoch seconds
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"{flag}: not a time: {value!r} (use ISO 8601, e.g. 2024-05-01T10:00, or epoch seconds)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _parse_filters(values: list[str] | None) -> dict[str, str]:
    from casework.diagnostics.slowlog.digest import FILTER_KEYS

    out: dict[str, str] = {}
    for value in values or []:
        for item in value.split(","):
            if not item.strip():
                continue
            key, sep, want = item.partition("=")
            key = key.strip().lower()
            if not sep or key not in FILTER_KEYS or not want.strip():
                raise fail(f"--filter: expected key=value with key one of {', '.join(FILTER_KEYS)}; got {item!r}")
            out[key] = want.strip()
    return out


def slowlog(
    files: Annotated[list[str] | None, typer.Argument(help="Slow-log files (gzip/bzip2 ok); '-' reads stdin.")] = None,
    redis: Annotated[str | None, typer.Option("--redis", help="Also read SLOWLOG GET from a live Redis, redis://HOST:PORT.")] = None,
    input_format: Annotated[str | None, typer.Option("--input-format", help="Force the format instead of auto-detection (e.g. mysql, postgres-csv, mongodb-json, redis-cli).")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="How many shapes to show (0 = all).")] = 10,
    sort: Annotated[SortKey, typer.Option("--sort", help="Rank shapes by total time, count, mean, p95 or examined/returned ratio.")] = SortKey.total,
    since: Annotated[str | None, typer.Option("--since", help="Only entries at or after this time (ISO 8601 or epoch; UTC if no zone).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only entries at or before this time.")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="Only entries matching db=…,user=…,ns=…,client=…,engine=…,op=… (repeatable).")] = None,
    exclude_internal: Annotated[bool, typer.Option("--exclude-internal", help="Leave out the server's own work (replication, sessions, TTL…).")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes for large files (0 = one per core).")] = 0,
    fmt: FormatOption = OutputFormat.terminal,
    lang: LangOption = "en",
) -> None:
    """Digest slow logs into query shapes and explain what is slow and why."""
    apply_language(lang)
    if not files and not redis:
        raise fail("give at least one slow-log FILE (or '-' for stdin), or --redis URL")
    from casework.diagnostics.slowlog import render
    from casework.diagnostics.slowlog.digest import Options
    from casework.diagnostics.slowlog.pipeline import digest_inputs, total_bytes

    options = Options(
        top=top, sort=sort.value, since=_parse_time(since, "--since"), until=_parse_time(until, "--until"),
        filters=_parse_filters(filter_), exclude_internal=exclude_internal,
    )
    paths = list(files or [])
    with bad_input_exits():
        size = total_bytes(paths)
        if sys.stderr.isatty() and size >= PROGRESS_MIN_BYTES:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                          TransferSpeedColumn(), TimeRemainingColumn(),
                          console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("slowlog", total=size)
                digest = digest_inputs(paths, options=options, input_format=input_format, redis_url=redis,
                                       progress=lambda n: bar.advance(task, n), workers=jobs or None)
        else:
            digest = digest_inputs(paths, options=options, input_format=input_format, redis_url=redis,
                                   workers=jobs or None)
        sources = [("<stdin>" if p == "-" else p) for p in paths] + ([redis] if redis else [])
        report = render.build_report(digest, options=options, sources=sources)
    emit([report], fmt)


def register(app: typer.Typer) -> None:
    app.command("slowlog")(slowlog)
