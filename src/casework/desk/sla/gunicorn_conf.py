"""gunicorn hooks for embedded mode: run the SLA breach check inside each worker when no broker is configured.

    gunicorn casework.desk.wsgi:application --config python:casework.desk.sla.gunicorn_conf

Several workers each running the check is safe: a breach is recorded under a row lock, once per clock cycle.
"""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    from django.conf import settings

    if settings.CELERY_BROKER_URL:
        return  # Celery beat owns the schedule
    from casework.desk.sla.jobs import start_embedded_scheduler

    start_embedded_scheduler()
