"""The Celery app for scale-out mode (``CELERY_BROKER_URL=redis://…``): workers and beat.

    celery -A casework.desk.celery worker -l info
    celery -A casework.desk.celery beat -l info

Without a broker the same job runs in-process (``casework.desk.sla.jobs.start_embedded_scheduler``).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.desk.settings")

app = Celery("casework.desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ["casework.desk.sla.jobs"]
app.conf.beat_schedule = {
    "sla-breach-check": {"task": "casework.desk.sla.check_breaches", "schedule": 60.0},
}
