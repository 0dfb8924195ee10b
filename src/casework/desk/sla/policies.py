"""Which policy applies to a ticket (first match in order), policy/calendar validation, and the defaults.

Targets are written in minutes (what a lead thinks in) and converted to seconds for the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from casework.desk.errors import DeskError
from casework.desk.sla.clock import CALENDAR_HOURS, Calendar, CalendarError, parse_hours
from casework.desk.sla.machine import CLOCK_NAMES
from casework.desk.sla.models import BusinessCalendar, SLAPolicy

SEVERITIES = ("P1", "P2", "P3", "P4")
ORG_TIERS = ("basic", "business", "enterprise")


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    severity: str
    org_tier: str
    line: str | None
    product: str


def matches(policy: SLAPolicy, facts: PolicyFacts) -> bool:
    return (
        (not policy.severities or facts.severity in policy.severities)
        and (not policy.org_tiers or facts.org_tier in policy.org_tiers)
        and (not policy.lines or facts.line in policy.lines)
        and (not policy.products or facts.product in policy.products)
    )


def select_policy(facts: PolicyFacts) -> SLAPolicy | None:
    """The first active policy (by position) whose conditions all hold, and which has targets for the severity."""
    for policy in SLAPolicy.objects.filter(active=True).select_related("calendar").order_by("position", "id"):
        if matches(policy, facts) and policy.targets.get(facts.severity):
            return policy
    return None


def targets_seconds(policy: SLAPolicy, severity: str) -> dict[str, float]:
    return {name: float(minutes) * 60 for name, minutes in (policy.targets.get(severity) or {}).items()
            if name in CLOCK_NAMES and minutes}


def calendar_by_id(calendar_id: int | None) -> Calendar:
    """The calendar a running state was started with; calendar hours when it was deleted or never set."""
    if calendar_id is None:
        return CALENDAR_HOURS
    row = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if row is None:
        return CALENDAR_HOURS
    return row.to_calendar()


# --- validation (pages and API share it) ------------------------------------------------------------------


def clean_targets(raw: Any) -> dict[str, dict[str, int]]:
    errors: list[str] = []
    out: dict[str, dict[str, int]] = {}
    if not isinstance(raw, dict):
        raise DeskError({"targets": [_("Targets must be an object keyed by severity.")]})
    for severity, clocks in raw.items():
        if severity not in SEVERITIES:
            errors.append(_("Unknown severity: %(s)s") % {"s": severity})
            continue
        if not isinstance(clocks, dict):
            errors.append(_("Targets of %(s)s must be an object of minutes per clock.") % {"s": severity})
            continue
        row: dict[str, int] = {}
        for name, minutes in clocks.items():
            if name not in CLOCK_NAMES:
                errors.append(_("Unknown clock: %(c)s") % {"c": name})
            elif minutes in (None, ""):
                continue
            elif not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
                errors.append(_("%(s)s %(c)s: minutes must be a positive whole number.") % {"s": severity, "c": name})
            else:
                row[name] = minutes
        if row:
            out[severity] = row
    if errors:
        raise DeskError({"targets": errors})
    if not out:
        raise DeskError({"targets": [_("Give at least one target.")]})
    return out


def clean_calendar(*, timezone: str, hours: Any, holidays: Any) -> tuple[str, dict[str, list[list[str]]], list[str]]:
    if not isinstance(hours, dict):
        raise DeskError({"hours": [_("Working hours must be an object keyed by weekday 0-6.")]})
    try:
        parsed = parse_hours(hours)
        cal = Calendar(timezone=timezone, hours=parsed)
    except CalendarError as exc:
        field = "timezone" if "time zone" in str(exc) else "hours"
        raise DeskError({field: [str(exc)]}) from exc
    if not cal.has_working_time:
        raise DeskError({"hours": [_("A calendar needs working hours on at least one day.")]})
    days: list[str] = []
    for value in holidays or []:
        try:
            days.append(date.fromisoformat(str(value).strip()).isoformat())
        except ValueError:
            raise DeskError({"holidays": [_("Not a date (YYYY-MM-DD): %(v)s") % {"v": value}]}) from None
    norm = {str(d): [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in parsed.get(d, ())] for d in range(7)}
    return timezone, norm, sorted(set(days))


# --- defaults ---------------------------------------------------------------------------------------------

WORKDAY = [["09:00", "18:00"]]
DEFAULT_CALENDAR = {
    "name": "China office hours",
    "timezone": "Asia/Shanghai",
    "hours": {"0": WORKDAY, "1": WORKDAY, "2": WORKDAY, "3": WORKDAY, "4": WORKDAY, "5": [], "6": []},
    "holidays": ["2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
                 "2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05", "2026-06-19", "2026-09-25",
                 "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
}

# (name, conditions, targets in minutes, business hours?) — enterprise P1/P2 run around the clock.
DEFAULT_POLICIES: list[tuple[str, dict[str, list[str]], dict[str, dict[str, int]], bool]] = [
    ("Enterprise urgent (24×7)", {"severities": ["P1", "P2"], "org_tiers": ["enterprise"]},
     {"P1": {"first_response": 15, "next_response": 60, "resolution": 240},
      "P2": {"first_response": 30, "next_response": 120, "resolution": 480}}, False),
    ("Standard (office hours)", {},
     {"P1": {"first_response": 30, "next_response": 120, "resolution": 480},
      "P2": {"first_response": 60, "next_response": 240, "resolution": 960},
      "P3": {"first_response": 240, "next_response": 480, "resolution": 2700},
      "P4": {"first_response": 480, "next_response": 960, "resolution": 5400}}, True),
]


def ensure_default_policies() -> None:
    """Create the default calendar and policies when there are no policies at all (a fresh desk)."""
    if SLAPolicy.objects.exists():
        return
    with transaction.atomic():
        cal, _created = BusinessCalendar.objects.get_or_create(
            name=DEFAULT_CALENDAR["name"],
            defaults={k: DEFAULT_CALENDAR[k] for k in ("timezone", "hours", "holidays")},
        )
        for position, (name, conditions, targets, business) in enumerate(DEFAULT_POLICIES, start=1):
            SLAPolicy.objects.create(name=name, position=position * 10, targets=targets,
                                     calendar=cal if business else None, **conditions)


# --- saving (the lead's pages) ----------------------------------------------------------------------------


def save_policy(*, policy: SLAPolicy | None, name: str, position: int, active: bool, severities: list[str],
                org_tiers: list[str], lines: list[str], products: list[str], targets: Any,
                calendar: BusinessCalendar | None) -> SLAPolicy:
    from casework.desk.team.models import Line, Product

    errors: dict[str, list[str]] = {}
    clean = {}
    try:
        clean = clean_targets(targets)
    except DeskError as exc:
        errors.update(exc.errors)
    unknown_lines = sorted(set(lines) - set(Line.objects.filter(code__in=lines).values_list("code", flat=True)))
    if unknown_lines:
        errors["lines"] = [_("Unknown line: %(codes)s") % {"codes": ", ".join(unknown_lines)}]
    unknown = sorted(set(products) - set(Product.objects.filter(code__in=products).values_list("code", flat=True)))
    if unknown:
        errors["products"] = [_("Unknown product: %(codes)s") % {"codes": ", ".join(unknown)}]
    if bad := sorted(set(severities) - set(SEVERITIES)):
        errors["severities"] = [_("Unknown severity: %(s)s") % {"s": ", ".join(bad)}]
    if bad := sorted(set(org_tiers) - set(ORG_TIERS)):
        errors["org_tiers"] = [_("Unknown organisation tier: %(s)s") % {"s": ", ".join(bad)}]
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("A name is required.")]
    elif SLAPolicy.objects.filter(name=name).exclude(pk=policy.pk if policy else None).exists():
        errors["name"] = [_("Another policy has this name.")]
    if errors:
        raise DeskError(errors)
    policy = policy or SLAPolicy()
    policy.name, policy.position, policy.active = name, position, active
    policy.severities, policy.org_tiers, policy.lines, policy.products = severities, org_tiers, lines, products
    policy.targets, policy.calendar = clean, calendar
    policy.save()
    return policy


def save_calendar(*, calendar: BusinessCalendar | None, name: str, timezone: str, hours: Any,
                  holidays: Any) -> BusinessCalendar:
    name = (name or "").strip()
    if not name:
        raise DeskError({"name": [_("A name is required.")]})
    if BusinessCalendar.objects.filter(name=name).exclude(pk=calendar.pk if calendar else None).exists():
        raise DeskError({"name": [_("Another calendar has this name.")]})
    tz, norm, days = clean_calendar(timezone=timezone, hours=hours, holidays=holidays)
    calendar = calendar or BusinessCalendar()
    calendar.name, calendar.timezone, calendar.hours, calendar.holidays = name, tz, norm, days
    calendar.save()
    return calendar
