"""``casework desk …``: run and administer the desk (migrate, demo data, servers, API tokens)."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Annotated

import typer

from casework.commands.common import fail

desk_app = typer.Typer(help="Run and administer the support desk.", no_args_is_help=True)


def _django() -> None:
    """Configure Django on first use, so ``casework slowlog`` and friends never pay for it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.desk.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)


@desk_app.command()
def migrate() -> None:
    """Create or upgrade the database schema (SQLite in ./var by default, or DATABASE_URL)."""
    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@desk_app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when the desk already has tickets.")] = False,
    tickets: Annotated[int, typer.Option("--tickets", min=1, max=200_000, help="How many tickets to generate.")] = 2000,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=104, help="Spread the tickets over this many weeks.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same seed gives the same desk).")] = 7,
) -> None:
    """Load a realistic team: lines, 25 engineers on shifts, 12 organisations, tickets with their full history."""
    _django()
    from casework.desk.demo import DemoSpec, load_demo
    from casework.desk.tickets.models import Ticket

    if if_empty and Ticket.objects.exists():
        typer.echo("The desk already has tickets; demo data not loaded.")
        return
    counts = load_demo(DemoSpec(tickets=tickets, weeks=weeks, seed=seed), progress=sys.stderr.isatty())
    typer.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


def _start_background_jobs() -> None:
    # The embedded scheduler (SLA breach checks) runs in-process unless Celery is configured.
    from django.conf import settings

    if settings.CELERY_BROKER_URL:
        return
    from casework.desk.sla.jobs import start_embedded_scheduler

    start_embedded_scheduler()


@desk_app.command()
def runserver(
    addrport: Annotated[str, typer.Argument(help="HOST:PORT to listen on.")] = "127.0.0.1:8000",
) -> None:
    """Serve the desk with Django's development server (the embedded default, used by `make run`)."""
    _django()
    from django.core.management import call_command

    _start_background_jobs()
    call_command("runserver", addrport, use_reloader=False)


@desk_app.command()
def serve(
    workers: Annotated[int, typer.Option("--workers", "-w", min=0,
                                         help="gunicorn worker processes (0: CPU cores + 1).")] = 0,
    bind: Annotated[str, typer.Option("--bind", help="Address to listen on.")] = "127.0.0.1:8000",
    threads: Annotated[int, typer.Option("--threads", min=1, help="Threads per worker (1: sync workers).")] = 1,
) -> None:
    """Serve the desk with gunicorn (production; use DATABASE_URL=postgresql://… and CELERY_BROKER_URL=redis://…).

    Sync workers, one per core plus one, by default: the desk's requests are short and CPU-bound, and at 16
    concurrent clients on 2 cores 3 sync workers had a p95 at half that of 2 workers × 4 threads (threads of one
    process contend for the interpreter; bench/RESULTS.md, "Desk at scale"). Put a buffering reverse proxy (nginx)
    in front for slow clients, as for any sync gunicorn."""
    workers = workers or (os.cpu_count() or 1) + 1
    _django()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
    if gunicorn is None:
        raise fail("gunicorn is not installed in this environment")
    # The config hook starts the SLA breach check in each worker when no Celery broker is configured.
    argv = [gunicorn, "casework.desk.wsgi:application", "--workers", str(workers), "--threads", str(threads),
            "--bind", bind, "--access-logfile", "-", "--config", "python:casework.desk.sla.gunicorn_conf"]
    os.execv(gunicorn, argv)


@desk_app.command("reindex-cases")
def reindex_cases() -> None:
    """Rebuild the case library's search index from every resolved or closed ticket."""
    _django()
    from casework.desk.library.index import reindex_all

    typer.echo(f"{reindex_all()} cases indexed")


@desk_app.command()
def token(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option("--label", help="A note to recognise the token later.")] = "",
) -> None:
    """Print a new API token for USERNAME (use it as `Authorization: Bearer TOKEN`)."""
    _django()
    from django.contrib.auth import get_user_model

    from casework.desk.access.tokens import issue_token

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise fail(f"no such user: {username}")
    typer.echo(issue_token(user=user, label=label))


def register(app: typer.Typer) -> None:
    app.add_typer(desk_app, name="desk")
