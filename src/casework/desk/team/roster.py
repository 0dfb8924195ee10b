"""Who is on shift at a given moment: weekly shifts in the engineer's time zone, minus leave."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from casework.desk.team.models import Leave, Shift


def _shift_covers(shift: Shift, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(shift.timezone))
    t = local.timetz().replace(tzinfo=None)
    if shift.start <= shift.end:
        return local.weekday() == shift.weekday and shift.start <= t < shift.end
    # A night shift that passes midnight: the part before midnight belongs to its weekday, the rest to the next.
    if local.weekday() == shift.weekday and t >= shift.start:
        return True
    previous = (local - timedelta(days=1)).weekday()
    return previous == shift.weekday and t < shift.end


def on_shift_ids(engineer_ids: list[int], at: datetime) -> set[int]:
    """The subset of ``engineer_ids`` (user ids) working at ``at`` and not on leave."""
    if not engineer_ids:
        return set()
    on_leave = set(
        Leave.objects.filter(engineer_id__in=engineer_ids, start__lte=at, end__gt=at).values_list("engineer_id", flat=True)
    )
    working: set[int] = set()
    for shift in Shift.objects.filter(engineer_id__in=engineer_ids):
        if shift.engineer_id not in on_leave and shift.engineer_id not in working and _shift_covers(shift, at):
            working.add(shift.engineer_id)
    return working
