"""Connects the SLA to the event log: every stored ticket event updates the ticket's live SLA state."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from casework.desk.signals import event_written
from casework.desk.sla import state


@receiver(event_written, dispatch_uid="casework.desk.sla.live_state")
def update_sla_state(sender: Any, event: Any, **kwargs: Any) -> None:
    state.on_event(event)
