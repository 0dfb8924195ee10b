"""The one ``casework`` command: ``slowlog``, ``http``, ``mtr``, ``healthcheck`` and the ``desk`` group.

Each sub-command lives in ``casework/commands/<name>.py``; this module only wires them together, so that
``casework slowlog`` never imports Django and ``casework desk`` never imports pycurl.
"""

from __future__ import annotations

import typer

from casework import __version__

app = typer.Typer(
    name="casework",
    help="casework: support desk and diagnostics for cloud technical support.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"casework {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """casework: support desk and diagnostics for cloud technical support."""


def _register() -> None:
    # Each module adds its command(s) to ``app``; importing them is cheap (heavy imports happen inside the
    # commands), so `casework --help` stays fast and `casework slowlog` never loads Django.
    from casework.commands import desk, diagnose, healthcheck, http, mtr, slowlog

    for module in (slowlog, http, mtr, healthcheck, diagnose, desk):
        module.register(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
