"""Lead pages: line loads, the escalation/bounce dashboard, the weekly report, and the shift roster."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.desk import reports
from casework.desk.access import permissions
from casework.desk.team.models import Leave, Profile, Shift
from casework.desk.team.roster import on_shift_ids
from casework.desk.views.common import desk_view, require
from casework.desk.views.forms import LeaveForm, ShiftForm

User = get_user_model()
PERIODS = (7, 28, 70)


@desk_view
def line_loads(request: HttpRequest) -> HttpResponse:
    require(request.user, "view_dashboard")
    now = timezone.now()
    loads = reports.line_loads(at=now)
    return render(request, "desk/lead/lines.html", {
        "loads": loads, "now": now,
        "totals": {
            "open": sum(x.open_total for x in loads), "unassigned": sum(x.unassigned for x in loads),
            "p1p2": sum(x.p1p2 for x in loads),
            "on_shift": len({n for x in loads for n in x.on_shift}),
        },
    })


@desk_view
def dashboard(request: HttpRequest) -> HttpResponse:
    require(request.user, "view_dashboard")
    try:
        days = int(request.GET.get("days", 28))
    except ValueError:
        days = 28
    days = days if days in PERIODS else 28
    until = timezone.now()
    data = reports.dashboard(since=until - timedelta(days=days), until=until)
    return render(request, "desk/lead/dashboard.html", {"d": data, "days": days, "periods": PERIODS})


def _week_start(value: str | None) -> datetime:
    today = timezone.localdate()
    day = parse_date(value) if value else None
    day = day or today
    monday = day - timedelta(days=day.weekday())
    return timezone.make_aware(datetime.combine(monday, datetime.min.time()))


@desk_view
def weekly(request: HttpRequest) -> HttpResponse:
    require(request.user, "view_dashboard")
    try:
        start = _week_start(request.GET.get("week"))
    except ValueError:
        start = _week_start(None)
    end = start + timedelta(days=7)
    rows = reports.weekly(since=start, until=end)
    return render(request, "desk/lead/weekly.html", {
        "rows": rows, "start": start, "end": end - timedelta(days=1),
        "prev": (start - timedelta(days=7)).date().isoformat(), "next": end.date().isoformat(),
        "with_ratings": reports.rating_model() is not None,
        "totals": {"handled": sum(r.handled for r in rows), "closed": sum(r.closed for r in rows),
                   "rated_good": sum(r.rated_good or 0 for r in rows)},
    })


WEEKDAYS = [gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"), gettext_lazy("Fri"),
            gettext_lazy("Sat"), gettext_lazy("Sun")]


@desk_view
def roster(request: HttpRequest) -> HttpResponse:
    """Who works when: engineers view it, leads edit it."""
    require(request.user, "engineer_queue")
    now = timezone.now()
    profiles = list(
        Profile.objects.filter(role__in=reports.ENGINEER_ROLES, user__is_active=True)
        .select_related("user").prefetch_related("lines").order_by("role", "user__username")
    )
    ids = [p.user_id for p in profiles]
    shifts: dict[int, dict[int, list[Shift]]] = {}
    for s in Shift.objects.filter(engineer_id__in=ids):
        shifts.setdefault(s.engineer_id, {}).setdefault(s.weekday, []).append(s)
    leaves: dict[int, list[Leave]] = {}
    for leave in Leave.objects.filter(engineer_id__in=ids, end__gt=now):
        leaves.setdefault(leave.engineer_id, []).append(leave)
    working = on_shift_ids(ids, now)
    rows = [{
        "p": p, "on_shift": p.user_id in working, "leaves": leaves.get(p.user_id, []),
        "days": [shifts.get(p.user_id, {}).get(d, []) for d in range(7)],
    } for p in profiles]
    return render(request, "desk/lead/roster.html", {
        "rows": rows, "weekdays": [str(w) for w in WEEKDAYS], "can_edit": permissions.can(request.user, "manage_team"),
        "now": now,
    })


@desk_view
def roster_edit(request: HttpRequest, username: str) -> HttpResponse:
    require(request.user, "manage_team")
    engineer = get_object_or_404(User, username=username, profile__role__in=reports.ENGINEER_ROLES)
    shift_form = ShiftForm(prefix="shift")
    leave_form = LeaveForm(prefix="leave")
    status = 200
    if request.method == "POST":
        what = request.POST.get("what")
        if what == "add_shift":
            shift_form = ShiftForm(request.POST, prefix="shift")
            if shift_form.is_valid():
                Shift.objects.create(engineer=engineer, **shift_form.cleaned_data)
                messages.success(request, _("Shift added."))
                return redirect("roster-edit", username=username)
        elif what == "add_leave":
            leave_form = LeaveForm(request.POST, prefix="leave")
            if leave_form.is_valid():
                Leave.objects.create(engineer=engineer, **leave_form.cleaned_data)
                messages.success(request, _("Leave recorded."))
                return redirect("roster-edit", username=username)
        elif what in ("delete_shift", "delete_leave"):
            model: Any = Shift if what == "delete_shift" else Leave
            with transaction.atomic():
                model.objects.filter(engineer=engineer, pk=request.POST.get("id")).delete()
            messages.success(request, _("Removed."))
            return redirect("roster-edit", username=username)
        status = 400
    return render(request, "desk/lead/roster_edit.html", {
        "engineer": engineer, "profile": engineer.profile,
        "shifts": Shift.objects.filter(engineer=engineer),
        "leaves": Leave.objects.filter(engineer=engineer).order_by("-start")[:20],
        "shift_form": shift_form, "leave_form": leave_form, "weekdays": [str(w) for w in WEEKDAYS],
    }, status=status)
