"""The SLA state machine: pure, no ORM. ``state.py`` drives it live (one event at a time) and from the log.

Three clocks per ticket — first response, next response, resolution — each with a target in working seconds
of the policy's calendar. A clock *counts* while its cycle is active and the ticket is neither paused (pending
customer) nor stopped (resolved/closed); every transition goes through :meth:`SLAState._settle`, which banks the
working time of clocks that stop counting and restarts the ones that start again, so "paused keeps the time
that was left" is one rule rather than a special case per status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from casework.desk.sla.clock import Calendar, add_business_seconds, business_seconds

FIRST_RESPONSE = "first_response"
NEXT_RESPONSE = "next_response"
RESOLUTION = "resolution"
CLOCK_NAMES = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)

# "About to breach" once less than this share of the target is left (and the clock still runs).
WARN_SHARE = 0.25

PAUSE_STATUSES = {"pending_customer"}
STOP_STATUSES = {"resolved", "closed"}


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    # Always UTC: the live driver sees the caller's datetimes (any zone), the recomputation reads them back
    # from the database (UTC); the same instant must serialise the same way.
    return value.astimezone(UTC).isoformat() if value else None


@dataclass(slots=True)
class Clock:
    name: str
    target: float  # working seconds per cycle
    active: bool = False  # a cycle is open (it may still be paused or stopped)
    elapsed: float = 0.0  # working seconds banked before ``since``
    since: datetime | None = None  # counting since (None: not counting now)
    due_at: datetime | None = None  # when the current cycle runs out; kept while paused for display
    met_at: datetime | None = None  # when the last cycle ended
    cycles: int = 0
    missed: int = 0  # cycles that ended (or were recorded) past their target
    breach_recorded: bool = False  # the job wrote SLA_BREACHED for the current cycle

    @property
    def counting(self) -> bool:
        return self.since is not None

    def elapsed_at(self, cal: Calendar, now: datetime) -> float:
        if self.since is None:
            return self.elapsed
        return self.elapsed + business_seconds(cal, self.since, now)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("since", "due_at", "met_at"):
            data[key] = _iso(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Clock:
        data = dict(data)
        for key in ("since", "due_at", "met_at"):
            data[key] = _dt(data.get(key))
        return cls(**data)


@dataclass(slots=True)
class ClockView:
    """What a person (or the API) sees of one clock at ``now``."""

    name: str
    state: str  # running | paused | met | breached | stopped | idle
    target_seconds: float
    elapsed_seconds: float
    remaining_seconds: float
    due_at: datetime | None
    about_to_breach: bool
    breached: bool


@dataclass(slots=True)
class SLAState:
    policy_id: int | None = None
    calendar_id: int | None = None
    started: bool = False
    paused: bool = False
    stopped: bool = False
    clocks: dict[str, Clock] = field(default_factory=dict)

    # --- transitions -------------------------------------------------------------------------------------

    def start(self, *, cal: Calendar, at: datetime, targets: dict[str, float], policy_id: int | None,
              calendar_id: int | None) -> None:
        self.started = True
        self.policy_id, self.calendar_id = policy_id, calendar_id
        self.clocks = {name: Clock(name=name, target=float(t)) for name, t in targets.items() if name in CLOCK_NAMES}
        for name in (FIRST_RESPONSE, RESOLUTION):
            if name in self.clocks:
                self._open_cycle(self.clocks[name])
        self._settle(cal, at)

    def _open_cycle(self, clock: Clock) -> None:
        clock.active, clock.elapsed, clock.since, clock.due_at = True, 0.0, None, None
        clock.met_at, clock.breach_recorded = None, False
        clock.cycles += 1

    def _close_cycle(self, cal: Calendar, clock: Clock, at: datetime) -> None:
        if not clock.active:
            return
        clock.elapsed = round(clock.elapsed_at(cal, at), 6)
        clock.since = None
        clock.active = False
        clock.met_at = at
        if clock.elapsed > clock.target or clock.breach_recorded:
            clock.missed += 1

    def _settle(self, cal: Calendar, at: datetime) -> None:
        for clock in self.clocks.values():
            should = clock.active and not self.paused and not self.stopped
            if clock.counting and not should:
                clock.elapsed = round(clock.elapsed_at(cal, at), 6)
                clock.since = None
            elif should and not clock.counting:
                clock.since = at
                left = clock.target - clock.elapsed
                if left > 0 or clock.due_at is None:
                    clock.due_at = add_business_seconds(cal, at, max(left, 0.0))

    def engineer_replied(self, cal: Calendar, at: datetime) -> None:
        for name in (FIRST_RESPONSE, NEXT_RESPONSE):
            if name in self.clocks:
                self._close_cycle(cal, self.clocks[name], at)

    def customer_replied(self, cal: Calendar, at: datetime) -> None:
        # Until the first response the customer is still waiting for it: no separate next-response cycle.
        first = self.clocks.get(FIRST_RESPONSE)
        if first is not None and first.active:
            return
        nxt = self.clocks.get(NEXT_RESPONSE)
        if nxt is None:
            return
        if nxt.active:  # a second message before we answered: the customer has waited since the first one
            return
        self._open_cycle(nxt)
        self._settle(cal, at)

    def status_changed(self, cal: Calendar, at: datetime, new: str) -> None:
        if new in STOP_STATUSES:
            if not self.stopped:
                for name in (FIRST_RESPONSE, NEXT_RESPONSE):
                    if name in self.clocks:  # nothing is owed on a resolved ticket
                        self._close_cycle(cal, self.clocks[name], at)
                self.stopped = True
                self._settle(cal, at)
                res = self.clocks.get(RESOLUTION)
                if res is not None and res.active:
                    res.met_at = at
            self.paused = False
            return
        if self.stopped:  # reopened: the resolution clock resumes with the time it had left
            self.stopped = False
            res = self.clocks.get(RESOLUTION)
            if res is not None:
                res.met_at = None
        self.paused = new in PAUSE_STATUSES
        self._settle(cal, at)

    def breach_recorded(self, clock_name: str) -> None:
        clock = self.clocks.get(clock_name)
        if clock is not None and clock.active:
            clock.breach_recorded = True

    # --- reading -------------------------------------------------------------------------------------------

    def running_names(self) -> list[str]:
        return [c.name for c in self.clocks.values() if c.counting]

    def paused_names(self) -> list[str]:
        return [c.name for c in self.clocks.values() if c.active and not c.counting and self.paused]

    def view(self, cal: Calendar, now: datetime) -> list[ClockView]:
        out = []
        for name in CLOCK_NAMES:
            clock = self.clocks.get(name)
            if clock is None:
                continue
            elapsed = clock.elapsed_at(cal, now)
            remaining = clock.target - elapsed
            breached = clock.missed > 0 or clock.breach_recorded or (clock.active and remaining < 0)
            if clock.counting:
                state = "breached" if remaining < 0 else "running"
            elif clock.active and self.paused:
                state = "paused"
            elif clock.active and self.stopped:
                state = "stopped" if name == RESOLUTION else "idle"
            elif clock.met_at is not None:
                state = "breached" if clock.elapsed > clock.target else "met"
            else:
                state = "idle"
            out.append(ClockView(
                name=name, state=state, target_seconds=clock.target, elapsed_seconds=round(elapsed, 3),
                remaining_seconds=round(remaining, 3), due_at=clock.due_at if clock.counting else None,
                about_to_breach=clock.counting and 0 <= remaining < clock.target * WARN_SHARE,
                breached=breached,
            ))
        return out

    def next_due(self, cal: Calendar) -> tuple[datetime | None, datetime | None]:
        """(due_at, warn_at) of the running clock that runs out first — what the queue sorts by."""
        best: tuple[datetime, datetime] | None = None
        for clock in self.clocks.values():
            if not clock.counting or clock.due_at is None:
                continue
            warn_left = clock.target * (1 - WARN_SHARE) - clock.elapsed
            warn = add_business_seconds(cal, clock.since, warn_left) if warn_left > 0 else clock.since
            if best is None or clock.due_at < best[0]:
                best = (clock.due_at, min(warn, clock.due_at))
        return best if best is not None else (None, None)

    def next_unrecorded_due(self) -> datetime | None:
        dues = [c.due_at for c in self.clocks.values() if c.counting and c.due_at and not c.breach_recorded]
        return min(dues) if dues else None

    def any_breached(self) -> bool:
        return any(c.missed > 0 or c.breach_recorded for c in self.clocks.values())

    # --- storage -------------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id, "calendar_id": self.calendar_id, "started": self.started,
            "paused": self.paused, "stopped": self.stopped,
            "clocks": {name: clock.to_json() for name, clock in self.clocks.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SLAState:
        if not data:
            return cls()
        return cls(
            policy_id=data.get("policy_id"), calendar_id=data.get("calendar_id"), started=data.get("started", False),
            paused=data.get("paused", False), stopped=data.get("stopped", False),
            clocks={name: Clock.from_json(c) for name, c in (data.get("clocks") or {}).items()},
        )
