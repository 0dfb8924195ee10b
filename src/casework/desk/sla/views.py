"""SLA pages: leads edit policies and calendars; everyone sees their notifications; leads see ratings and
flags; customers rate a resolved ticket in the portal or through a signed link (no login needed)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from casework.desk.access import permissions
from casework.desk.errors import DeskError
from casework.desk.sla import jobs, policies, ratings
from casework.desk.sla.machine import CLOCK_NAMES
from casework.desk.sla.models import BusinessCalendar, Notification, Rating, SLAPolicy
from casework.desk.views.common import apply_errors, desk_view, require

WEEKDAYS = [gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"), gettext_lazy("Thursday"),
            gettext_lazy("Friday"), gettext_lazy("Saturday"), gettext_lazy("Sunday")]
CLOCK_LABELS = {"first_response": gettext_lazy("First response"), "next_response": gettext_lazy("Next response"),
                "resolution": gettext_lazy("Resolution")}


def human_duration(seconds: float) -> str:
    """Working time as "3 h 20 min" (negative: overdue by that much)."""
    minutes = int(abs(seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    text = _("%(h)d h %(m)d min") % {"h": hours, "m": minutes} if hours else _("%(m)d min") % {"m": minutes}
    return text if seconds >= 0 else _("overdue by %(t)s") % {"t": text}


def _codes(raw: str) -> list[str]:
    return [c.strip() for c in (raw or "").replace("\n", ",").split(",") if c.strip()]


# --- policies ---------------------------------------------------------------------------------------------


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=80, label=gettext_lazy("Name"))
    position = forms.IntegerField(min_value=0, label=gettext_lazy("Position"),
                                  help_text=gettext_lazy("Lower comes first; the first matching policy applies."))
    active = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Active"))
    severities = forms.MultipleChoiceField(choices=[(s, s) for s in policies.SEVERITIES], required=False,
                                           widget=forms.CheckboxSelectMultiple, label=gettext_lazy("Severities"))
    org_tiers = forms.MultipleChoiceField(choices=[(t, t) for t in policies.ORG_TIERS], required=False,
                                          widget=forms.CheckboxSelectMultiple,
                                          label=gettext_lazy("Organisation tiers"))
    lines = forms.CharField(required=False, label=gettext_lazy("Lines"),
                            help_text=gettext_lazy("Line codes, comma separated; empty matches every line."))
    products = forms.CharField(required=False, label=gettext_lazy("Products"),
                               help_text=gettext_lazy("Product codes, comma separated; empty matches every product."))
    calendar = forms.ModelChoiceField(queryset=BusinessCalendar.objects.all(), required=False,
                                      label=gettext_lazy("Business calendar"),
                                      empty_label=gettext_lazy("Calendar hours (24×7)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for severity in policies.SEVERITIES:
            for clock in CLOCK_NAMES:
                self.fields[f"t_{severity}_{clock}"] = forms.IntegerField(
                    min_value=1, required=False, label=f"{severity} {CLOCK_LABELS[clock]}",
                    widget=forms.NumberInput(attrs={"placeholder": _("minutes"), "class": "minutes"}),
                )

    def target_rows(self) -> list[tuple[str, list[Any]]]:
        return [(s, [self[f"t_{s}_{c}"] for c in CLOCK_NAMES]) for s in policies.SEVERITIES]

    def targets(self) -> dict[str, dict[str, int]]:
        data = self.cleaned_data
        return {s: {c: data[f"t_{s}_{c}"] for c in CLOCK_NAMES if data.get(f"t_{s}_{c}")} for s in policies.SEVERITIES}


def _policy_initial(policy: SLAPolicy) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": policy.name, "position": policy.position, "active": policy.active, "severities": policy.severities,
        "org_tiers": policy.org_tiers, "lines": ", ".join(policy.lines), "products": ", ".join(policy.products),
        "calendar": policy.calendar_id,
    }
    for severity, clocks in (policy.targets or {}).items():
        for clock, minutes in clocks.items():
            initial[f"t_{severity}_{clock}"] = minutes
    return initial


@desk_view
def policy_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "edit_sla")
    return render(request, "desk/sla/policies.html", {
        "policies": SLAPolicy.objects.select_related("calendar").order_by("position", "id"),
        "calendars": BusinessCalendar.objects.all(), "clock_names": CLOCK_NAMES, "clock_labels": CLOCK_LABELS,
        "severities": policies.SEVERITIES,
    })


@desk_view
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, "edit_sla")
    policy = get_object_or_404(SLAPolicy, pk=pk) if pk else None
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                saved = policies.save_policy(
                    policy=policy, name=form.cleaned_data["name"], position=form.cleaned_data["position"],
                    active=form.cleaned_data["active"], severities=form.cleaned_data["severities"],
                    org_tiers=form.cleaned_data["org_tiers"], lines=_codes(form.cleaned_data["lines"]),
                    products=_codes(form.cleaned_data["products"]), targets=form.targets(),
                    calendar=form.cleaned_data["calendar"],
                )
            except DeskError as exc:
                apply_errors(form, exc)
            else:
                count = jobs.reapply_open_tickets()
                messages.success(request, _("Policy “%(name)s” saved; %(n)d open tickets re-evaluated.")
                                 % {"name": saved.name, "n": count})
                return redirect("sla:policies")
    else:
        form = PolicyForm(initial=_policy_initial(policy) if policy else {"position": 100, "active": True})
    return render(request, "desk/sla/policy_form.html", {"form": form, "policy": policy,
                                                         "clock_labels": [CLOCK_LABELS[c] for c in CLOCK_NAMES]})


# --- calendars --------------------------------------------------------------------------------------------


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=80, label=gettext_lazy("Name"))
    timezone = forms.CharField(max_length=64, initial="Asia/Shanghai", label=gettext_lazy("Time zone"),
                               help_text=gettext_lazy("IANA name, e.g. Asia/Shanghai or Europe/Berlin."))
    holidays = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}),
                               label=gettext_lazy("Holidays"), help_text=gettext_lazy("One date (YYYY-MM-DD) per line."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day in range(7):
            self.fields[f"day_{day}"] = forms.CharField(
                required=False, label=WEEKDAYS[day],
                widget=forms.TextInput(attrs={"placeholder": "09:00-12:00, 13:00-18:00"}),
            )

    def day_fields(self) -> list[Any]:
        return [self[f"day_{d}"] for d in range(7)]

    def hours(self) -> dict[str, list[list[str]]]:
        out: dict[str, list[list[str]]] = {}
        for day in range(7):
            windows = []
            for chunk in _codes(self.cleaned_data.get(f"day_{day}", "")):
                start, _sep, end = chunk.partition("-")
                windows.append([start.strip(), end.strip()])
            out[str(day)] = windows
        return out


def _calendar_initial(cal: BusinessCalendar) -> dict[str, Any]:
    initial: dict[str, Any] = {"name": cal.name, "timezone": cal.timezone, "holidays": "\n".join(cal.holidays)}
    for day in range(7):
        initial[f"day_{day}"] = ", ".join(f"{s}-{e}" for s, e in cal.hours.get(str(day), []))
    return initial


@desk_view
def calendar_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, "edit_sla")
    cal = get_object_or_404(BusinessCalendar, pk=pk) if pk else None
    if request.method == "POST":
        form = CalendarForm(request.POST)
        if form.is_valid():
            try:
                saved = policies.save_calendar(
                    calendar=cal, name=form.cleaned_data["name"], timezone=form.cleaned_data["timezone"].strip(),
                    hours=form.hours(), holidays=form.cleaned_data["holidays"].split(),
                )
            except DeskError as exc:
                for key in ("hours",):
                    if key in exc.errors:
                        exc.errors.setdefault("__all__", []).extend(exc.errors.pop(key))
                apply_errors(form, exc)
            else:
                count = jobs.reapply_open_tickets()
                messages.success(request, _("Calendar “%(name)s” saved; %(n)d open tickets re-evaluated.")
                                 % {"name": saved.name, "n": count})
                return redirect("sla:policies")
    else:
        weekday = "09:00-18:00"
        form = CalendarForm(initial=_calendar_initial(cal) if cal else
                            {"timezone": "Asia/Shanghai", **{f"day_{d}": weekday for d in range(5)}})
    return render(request, "desk/sla/calendar_form.html", {"form": form, "calendar": cal})


# --- notifications and ratings ----------------------------------------------------------------------------


@desk_view
def notifications(request: HttpRequest) -> HttpResponse:
    rows = (Notification.objects.filter(user=request.user)
            .select_related("ticket", "ticket__line", "ticket__assignee")[:200])
    return render(request, "desk/sla/notifications.html", {"rows": rows})


@require_POST
@desk_view
def notifications_read(request: HttpRequest) -> HttpResponse:
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("sla:notifications")


@desk_view
def ratings_page(request: HttpRequest) -> HttpResponse:
    require(request.user, "view_dashboard")
    flagged = Rating.objects.filter(flagged=True).select_related("ticket", "engineer", "line")[:100]
    recent = Rating.objects.select_related("ticket", "engineer", "line")[:50]
    breached = (Notification.objects.filter(user=request.user, kind=Notification.Kind.BREACH)
                .select_related("ticket", "ticket__assignee")[:50])
    return render(request, "desk/sla/ratings.html", {
        "flagged": flagged, "recent": recent, "by_engineer": ratings.by_engineer(), "by_line": ratings.by_line(),
        "breached": breached,
    })


@require_POST
@desk_view
def clear_flag(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, "view_dashboard")
    ratings.clear_flag(rating=get_object_or_404(Rating, pk=pk), actor=request.user)
    return redirect("sla:ratings")


# --- rating by the customer -------------------------------------------------------------------------------


class RatingForm(forms.Form):
    rating = forms.ChoiceField(choices=Rating.Value.choices, widget=forms.RadioSelect, label=gettext_lazy("Rating"))
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              max_length=ratings.MAX_COMMENT_CHARS, label=gettext_lazy("Comment"))


def _rate(request: HttpRequest, ticket: Any, *, actor: Any, via: str, template_ctx: dict[str, Any]) -> HttpResponse:
    existing = Rating.objects.filter(ticket=ticket).first()
    form = RatingForm(request.POST or None)
    if request.method == "POST" and existing is None and form.is_valid():
        try:
            with transaction.atomic():
                existing = ratings.rate(ticket=ticket, value=form.cleaned_data["rating"],
                                        comment=form.cleaned_data["comment"], actor=actor, via=via)
        except DeskError as exc:
            apply_errors(form, exc)
            existing = Rating.objects.filter(ticket=ticket).first()
    rateable = existing is None and ticket.status in ratings.RATEABLE
    return render(request, "desk/sla/rate.html", {"ticket": ticket, "form": form, "rating": existing,
                                                  "rateable": rateable, **template_ctx})


def rate_link(request: HttpRequest, token: str) -> HttpResponse:
    """The page a signed link opens: no login, the signature names the ticket."""
    try:
        ticket = ratings.ticket_for_token(token)
    except DeskError as exc:
        return render(request, "desk/sla/rate_invalid.html", {"message": exc.errors["__all__"][0]}, status=exc.status)
    return _rate(request, ticket, actor=ticket.contact, via="link", template_ctx={"via_link": True})


@desk_view
def portal_rate(request: HttpRequest, ref: str) -> HttpResponse:
    """Rating from the portal (signed in as the customer contact)."""
    ticket = permissions.ticket_for(request.user, ref, "view")
    if request.method == "POST":
        permissions.require(request.user, "rate", ticket)
    return _rate(request, ticket, actor=request.user, via="portal", template_ctx={"via_link": False})


@desk_view
def ticket_panel(request: HttpRequest, ref: str) -> HttpResponse:
    """The SLA box of a ticket (for the ticket page; htmx-loadable): clocks, rating, the rating link."""
    from casework.desk.sla.api import sla_out

    ticket = permissions.ticket_for(request.user, ref, "view")
    sla = sla_out(ticket)
    for clock in sla["clocks"]:
        clock["left"] = human_duration(clock["remaining_seconds"])
    rating = Rating.objects.filter(ticket=ticket).first()
    link = ratings.rating_link(ticket) if ticket.status in ratings.RATEABLE and rating is None else ""
    return render(request, "desk/sla/_panel.html", {
        "ticket": ticket, "sla": sla, "rating": rating, "clock_labels": CLOCK_LABELS,
        "link": request.build_absolute_uri(link) if link and permissions.role_of(request.user) != "customer" else "",
    })
