"""Which analyzer fits a file a customer sent? An mtr/WinMTR report, pasted HTTP output (httpstat, curl -v/-I,
raw headers, curl -w JSON) or a database slow log — tried in that order, strictest reader first, so the desk can
offer one "Diagnose" button for any attachment."""

from __future__ import annotations

from casework.diagnostics.report import InputError, Report


def _mtr(path: str) -> list[Report]:
    from casework.diagnostics.net.mtr import analyze_file

    return [analyze_file(path)]


def _http(path: str) -> list[Report]:
    from casework.diagnostics.net.httpfile import read_http_file
    from casework.diagnostics.net.httpreport import build_report

    return [build_report(obs) for obs in read_http_file(path)]


def _slowlog(path: str) -> list[Report]:
    from casework.diagnostics.slowlog import render
    from casework.diagnostics.slowlog.digest import Options
    from casework.diagnostics.slowlog.pipeline import digest_inputs

    options = Options()
    # One worker: the desk calls this inside a request; attachments are small next to the CLI's inputs.
    return [render.build_report(digest_inputs([path], options=options, workers=1), options=options, sources=[path])]


ANALYZERS = (("mtr", _mtr), ("http", _http), ("slowlog", _slowlog))


def diagnose_file(path: str, *, name: str | None = None) -> list[Report]:
    """The reports of the first analyzer that reads ``path``; one-line :class:`InputError` if none does."""
    for _kind, analyze in ANALYZERS:
        try:
            reports = analyze(path)
        except (InputError, UnicodeDecodeError, ValueError):
            continue
        if reports:
            return reports
    raise InputError("not an mtr report, HTTP output or slow log that casework reads", source=name or path)
