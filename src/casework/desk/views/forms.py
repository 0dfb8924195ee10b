"""The desk's HTML forms. They only shape input: every business rule (required summary fields, reasons, limits)
is checked by ``tickets/services.py`` and its errors are put back on these fields (``common.apply_errors``), so a
page and the API refuse exactly the same things."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.desk.team.models import Line, Product
from casework.desk.tickets.models import Severity, Status


def _text(label: str, *, rows: int = 3, placeholder: str = "", required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label, required=required,
        widget=forms.Textarea(attrs={"rows": rows, "placeholder": placeholder}),
    )


class ReplyForm(forms.Form):
    body = _text(_("Reply to the customer"), rows=4)
    pending_customer = forms.BooleanField(label=_("Wait for the customer's answer"), required=False)


class NoteForm(forms.Form):
    body = _text(_("Internal note (never shown to the customer)"), rows=3)


class EscalateForm(forms.Form):
    """The six fields of a case summary; an escalation without all of them is refused by the service."""

    problem = _text(_("Problem statement"), placeholder=_("What exactly is failing, for whom, since when."))
    checked = _text(_("What was checked"), placeholder=_("Console, monitoring, logs, configuration you looked at."))
    findings = _text(_("Findings and evidence"), placeholder=_("What you found; paste the key log lines or graphs."))
    identifiers = forms.CharField(label=_("Identifiers (instance / request ids)"), required=False)
    time_window = forms.CharField(label=_("Time window"), required=False,
                                  widget=forms.TextInput(attrs={"placeholder": "2025-03-04 10:00–10:40 +08:00"}))
    impact = _text(_("Customer impact"), rows=2)


class ReturnForm(forms.Form):
    reason = _text(_("Why does it go back down?"), rows=2)


class ReassignForm(forms.Form):
    line = forms.ModelChoiceField(label=_("Move to line"), queryset=Line.objects.all(), required=False,
                                  to_field_name="code")
    reason = _text(_("Reason"), rows=2)


class ResolveForm(forms.Form):
    note = _text(_("Closing reply (what fixed it), optional"), rows=2)


class QueueFilterForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), required=False,
                                 choices=[("", _("All severities"))] + [(s, s) for s in Severity.values])
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All open"))] + list(Status.choices))
    line = forms.ModelChoiceField(label=_("Line"), queryset=Line.objects.all(), required=False,
                                  empty_label=_("All my lines"), to_field_name="code")
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.all(), required=False,
                                     empty_label=_("All products"), to_field_name="code")
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"placeholder": _("Ticket id or subject"), "type": "search"}))


class OpenTicketForm(forms.Form):
    """What a customer fills in to open a ticket (the portal)."""

    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.all(), to_field_name="code",
                                     required=False, empty_label=_("Choose a product"))
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.P3)
    subject = forms.CharField(label=_("Subject"), required=False, max_length=400)
    description = _text(_("Description"), rows=7,
                        placeholder=_("What happened, what you expected, error messages, steps to reproduce."))
    instance_ids = forms.CharField(label=_("Instance ids"), required=False,
                                   widget=forms.TextInput(attrs={"placeholder": "i-bp1a2b3c4d5e6f, rm-uf6xyz"}))
    request_ids = forms.CharField(label=_("Request ids"), required=False,
                                  widget=forms.TextInput(attrs={"placeholder": "5F3A0C2E-8E1B-4C7D-9D20-0B6F"}))
    domains = forms.CharField(label=_("Domains"), required=False,
                              widget=forms.TextInput(attrs={"placeholder": "static.example.com"}))
    window_start = forms.DateTimeField(label=_("Problem started"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    window_end = forms.DateTimeField(label=_("Problem ended"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class CustomerReplyForm(forms.Form):
    body = _text(_("Your reply"), rows=4)


class ShiftForm(forms.Form):
    weekday = forms.TypedChoiceField(
        label=_("Day"), coerce=int,
        choices=[(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
                 (5, _("Saturday")), (6, _("Sunday"))],
    )
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}))
    timezone = forms.CharField(label=_("Time zone"), initial="Asia/Shanghai")

    def clean_timezone(self) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        value = self.cleaned_data["timezone"].strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(_("Unknown time zone.")) from None
        return value

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] == data["end"]:
            self.add_error("end", _("A shift cannot start and end at the same time."))
        return data


class LeaveForm(forms.Form):
    start = forms.DateTimeField(label=_("Leave from"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The leave must end after it starts."))
        return data
