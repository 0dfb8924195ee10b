"""Connects the case library to the event log."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from casework.desk.library import index
from casework.desk.signals import event_written


@receiver(event_written, dispatch_uid="casework.desk.library.index")
def update_case_library(sender: Any, event: Any, **kwargs: Any) -> None:
    index.on_event(event)
