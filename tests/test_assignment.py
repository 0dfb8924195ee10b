"""Assignment inside a line: shifts in the engineer's time zone (night shifts over midnight), leave, readiness,
tier, capacity, least open work first, then round-robin among ties — through the real roster and tickets."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from casework.desk.routing import rulesets
from casework.desk.routing.assignment import candidates, pick_engineer
from casework.desk.team.models import Leave, Line, Organisation, Product, Profile, Role, Shift, Tier
from casework.desk.team.reference import ensure_reference_data
from casework.desk.team.roster import on_shift_ids
from casework.desk.tickets import services

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
# 2025-03-03 is a Monday.
MONDAY = datetime(2025, 3, 3)


def at(day: int, hour: int, tz: ZoneInfo = SHANGHAI, minute: int = 0) -> datetime:
    return (MONDAY + timedelta(days=day)).replace(hour=hour, minute=minute, tzinfo=tz)


@pytest.fixture
def desk(db):
    ensure_reference_data()
    lead = get_user_model().objects.create_user("lead")
    Profile.objects.create(user=lead, role=Role.LEAD)
    live = rulesets.create_draft(actor=lead)
    rulesets.update_draft(version=live.version, rules=[
        {"name": "oss", "when": {"products": ["oss"]}, "then": {"line": "storage"}}], actor=lead)
    rulesets.publish(version=live.version, actor=lead)
    return {"lead": lead, "line": Line.objects.get(code="storage"), "oss": Product.objects.get(code="oss"),
            "org": Organisation.objects.create(name="Acme")}


def engineer(name, *, role=Role.T0, tz="Asia/Shanghai", shifts=((0, 9, 18),), ready=("oss",), lines=("storage",),
             capacity=8):
    user = get_user_model().objects.create_user(name)
    profile = Profile.objects.create(user=user, role=role, capacity=capacity, timezone=tz)
    profile.lines.add(*Line.objects.filter(code__in=lines))
    profile.readiness.add(*Product.objects.filter(code__in=ready))
    for weekday, start, end in shifts:
        Shift.objects.create(engineer=user, weekday=weekday, start=time(start), end=time(end), timezone=tz)
    return user


def names(desk, when, tier=Tier.T0):
    ids = [row[0] for row in candidates(line=desk["line"], product=desk["oss"], tier=tier, at=when)]
    return [get_user_model().objects.get(pk=i).username for i in ids]


def ticket(desk, when, subject="OSS 403 on PutObject", auto_assign=True):
    return services.create_ticket(organisation=desk["org"], contact=None, product="oss", subject=subject,
                                  description="AccessDenied", at=when, auto_assign=auto_assign)


def test_shifts_follow_each_engineers_time_zone(desk):
    engineer("wei", tz="Asia/Shanghai")  # Monday 09-18 in Shanghai = 01-10 UTC
    engineer("anna", tz="Europe/Berlin")  # Monday 09-18 in Berlin = 08-17 UTC (CET)
    assert names(desk, at(0, 2, ZoneInfo("UTC"))) == ["wei"]
    assert set(names(desk, at(0, 9, ZoneInfo("UTC")))) == {"wei", "anna"}
    assert names(desk, at(0, 12, ZoneInfo("UTC"))) == ["anna"]
    assert names(desk, at(0, 18, ZoneInfo("UTC"))) == []
    assert names(desk, at(1, 10)) == []  # Tuesday: nobody has a shift


def test_a_night_shift_passes_midnight(desk):
    night = engineer("owl", shifts=((0, 22, 6),))  # Monday 22:00 → Tuesday 06:00, Shanghai time
    working = lambda when: night.pk in on_shift_ids([night.pk], when)  # noqa: E731
    assert working(at(0, 22)) and working(at(0, 23, minute=59))
    assert working(at(1, 0)) and working(at(1, 5, minute=59))
    assert not working(at(1, 6)) and not working(at(0, 21, minute=59))
    assert not working(at(0, 3))  # Monday 03:00 belongs to Sunday night, which owl does not work
    assert not working(at(1, 23))  # Tuesday night is not Monday's shift


def test_leave_overrides_the_roster(desk):
    wei = engineer("wei")
    Leave.objects.create(engineer=wei, start=at(0, 12), end=at(0, 14), reason="doctor")
    assert names(desk, at(0, 11)) == ["wei"]
    assert names(desk, at(0, 13)) == []
    assert names(desk, at(0, 14)) == ["wei"]


def test_only_ready_engineers_of_the_tier_and_line(desk):
    engineer("not-ready", ready=("ecs",))
    engineer("other-line", lines=("compute",))
    engineer("l1", role=Role.L1)
    engineer("ok")
    assert names(desk, at(0, 10)) == ["ok"]
    assert names(desk, at(0, 10), tier=Tier.L1) == ["l1"]
    get_user_model().objects.filter(username="ok").update(is_active=False)
    assert names(desk, at(0, 10)) == []


def test_capacity_counts_open_work_only(desk):
    small = engineer("small", capacity=2)
    for i in range(2):
        t = ticket(desk, at(0, 9, minute=i), subject=f"OSS ticket {i}")
        assert t.assignee == small
    assert names(desk, at(0, 10)) == []  # full: the next ticket waits in the line's queue
    waiting = ticket(desk, at(0, 10))
    assert waiting.assignee is None and waiting.status == "new" and waiting.line.code == "storage"
    services.resolve(ticket=small.assigned_tickets.first(), actor=small, at=at(0, 11))
    assert names(desk, at(0, 11)) == ["small"]


def test_least_open_work_first(desk):
    busy = engineer("busy")
    free = engineer("free")
    for i in range(2):
        services.assign(ticket=ticket(desk, at(0, 9, minute=i), auto_assign=False), engineer=busy,
                        actor=desk["lead"], at=at(0, 9, minute=i))
    # free was given work more recently (round-robin alone would pick busy), but carries nothing open now.
    done = ticket(desk, at(0, 9, minute=5), auto_assign=False)
    services.assign(ticket=done, engineer=free, actor=desk["lead"], at=at(0, 9, minute=5))
    services.resolve(ticket=done, actor=free, at=at(0, 9, minute=6))
    assert names(desk, at(0, 10))[0] == "free"
    t = ticket(desk, at(0, 10))
    assert t.assignee.username == "free"
    assigned = t.events.get(kind="assigned")
    assert assigned.data == {"engineer": "free", "how": "auto"}


def test_round_robin_among_equal_load(desk):
    a = engineer("a")
    b = engineer("b")
    c = engineer("c")
    # Everybody had one ticket and closed it; a was given work longest ago, then c, then b.
    for who, minute in ((a, 0), (c, 1), (b, 2)):
        t = ticket(desk, at(0, 9, minute=minute), subject=f"earlier {minute}", auto_assign=False)
        services.assign(ticket=t, engineer=who, actor=desk["lead"], at=at(0, 9, minute=minute))
        services.resolve(ticket=t, actor=who, at=at(0, 9, minute=30))
    assert names(desk, at(0, 10)) == ["a", "c", "b"]
    first = ticket(desk, at(0, 10))
    assert first.assignee == a
    services.resolve(ticket=first, actor=a, at=at(0, 10, minute=5))
    second = ticket(desk, at(0, 11))
    assert second.assignee == c  # equal load again (0 open each): the least recently assigned wins


def test_nobody_on_shift_leaves_the_ticket_in_the_queue(desk):
    engineer("wei")
    t = ticket(desk, at(5, 10))  # Saturday
    assert t.assignee is None and t.status == "new"
    assert pick_engineer(line=desk["line"], product=desk["oss"], tier=Tier.T0, at=at(5, 10)) is None
    assert not t.events.filter(kind="assigned").exists()
