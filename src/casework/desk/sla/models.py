"""SLA policies and calendars, each ticket's SLA state, satisfaction ratings and desk notifications."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.desk.sla.clock import CALENDAR_HOURS, Calendar, parse_hours
from casework.desk.tickets.models import Ticket

CLOCKS = ("first_response", "next_response", "resolution")


class BusinessCalendar(models.Model):
    """Working hours per weekday in one time zone, plus holidays (local dates)."""

    name = models.CharField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    # {"0": [["09:00", "18:00"]], …, "6": []} — weekday 0 is Monday; "00:00" as an end means midnight.
    hours = models.JSONField(default=dict)
    holidays = models.JSONField(default=list, blank=True, help_text=_("Local dates, YYYY-MM-DD."))

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def to_calendar(self) -> Calendar:
        return Calendar(
            timezone=self.timezone,
            hours=parse_hours(self.hours),
            holidays=frozenset(date.fromisoformat(d) for d in self.holidays),
        )


class SLAPolicy(models.Model):
    """One entry of the ordered policy list. Empty condition lists match anything; the first match wins.

    ``targets`` maps a severity to minutes per clock, e.g. ``{"P1": {"first_response": 30, "next_response": 60,
    "resolution": 240}}``; a clock left out of a severity is not measured for it.
    """

    name = models.CharField(max_length=80, unique=True)
    position = models.PositiveIntegerField(default=100, db_index=True)
    active = models.BooleanField(default=True)
    severities = models.JSONField(default=list, blank=True)
    org_tiers = models.JSONField(default=list, blank=True)
    lines = models.JSONField(default=list, blank=True, help_text=_("Line codes."))
    products = models.JSONField(default=list, blank=True, help_text=_("Product codes."))
    targets = models.JSONField(default=dict)
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="policies",
        help_text=_("Empty: targets are calendar hours (24×7)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def business_calendar(self) -> Calendar:
        return self.calendar.to_calendar() if self.calendar_id else CALENDAR_HOURS


class TicketSLA(models.Model):
    """The live SLA state of one ticket, kept current by the ``event_written`` receiver.

    ``clocks`` is the serialised :class:`casework.desk.sla.state.SLAState`; ``due_at``/``warn_at``/``breached``
    are copied out of it so the queue can sort and flag with plain indexed SQL.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, primary_key=True, related_name="sla")
    policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.JSONField(default=dict)
    due_at = models.DateTimeField(null=True, blank=True, help_text=_("Earliest due time of a running clock."))
    warn_at = models.DateTimeField(null=True, blank=True, help_text=_("When that clock is about to breach."))
    # Earliest due time of a running clock whose breach is not yet recorded: what the breach job scans, so a
    # ticket recorded as breached (and still overdue) is not picked up again on every run.
    check_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    breached = models.BooleanField(default=False, help_text=_("A clock missed its target (recorded or not)."))
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The breach job and the "about to breach" tab: running clocks by due time.
            models.Index(fields=["due_at"], name="sla_due", condition=models.Q(due_at__isnull=False)),
            models.Index(fields=["check_at"], name="sla_check", condition=models.Q(check_at__isnull=False)),
            # "About to breach": running clocks whose warning time has passed, without reading the others.
            # Partial on warn_at itself: "warn_at <= now" implies it, so the planner uses the index and estimates
            # the row count from warn_at's own statistics (not as if two correlated columns were independent).
            models.Index(fields=["warn_at"], name="sla_warn", condition=models.Q(warn_at__isnull=False)),
            # The "about to breach" tab's page and count, in their order (due_at, ticket): read in index order
            # and stop after a page, instead of sorting every warned clock (≈ 15,000 at a million tickets: 43 ms).
            # Partial on warn_at, which the tab's "warn_at <= now" implies.
            models.Index(fields=["due_at", "ticket"], name="sla_due_order", condition=models.Q(warn_at__isnull=False)),
        ]


class Rating(models.Model):
    """A customer's satisfaction with a resolved ticket; one per ticket. A bad one flags the ticket for the lead."""

    class Value(models.TextChoices):
        GOOD = "good", _("Good")
        NEUTRAL = "neutral", _("Neutral")
        BAD = "bad", _("Bad")

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating")
    value = models.CharField(max_length=8, choices=Value.choices)
    comment = models.TextField(blank=True)
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # Who and which line the rating counts for: copied at rating time so reassignments later do not move it.
    engineer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="ratings_received")
    line = models.ForeignKey("desk.Line", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    via = models.CharField(max_length=8, default="portal", help_text=_("portal, link or api"))
    flagged = models.BooleanField(default=False, db_index=True)
    flag_cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["engineer", "value"], name="rating_engineer"),
            models.Index(fields=["line", "value"], name="rating_line"),
        ]


class Notification(models.Model):
    """Something a person in the desk must look at: an SLA breach or a bad rating on a ticket."""

    class Kind(models.TextChoices):
        BREACH = "breach", _("SLA breached")
        BAD_RATING = "bad_rating", _("Bad rating")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_notifications")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox")]
