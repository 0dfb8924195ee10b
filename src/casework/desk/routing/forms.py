"""The rule editor's form: one rule as fields, turned into the stored rule dict and back.

The form only shapes input; validation of the rule itself (regex, known line, duplicate name) stays in
``rulesets.validate_rules`` so the page, the YAML import and the API refuse exactly the same things. Its
field-path errors (``rules[3].when.regex``) are mapped back onto these fields by :func:`apply_rule_errors`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.desk.routing.rulesets import LANGUAGES, SEVERITIES
from casework.desk.team.models import Line, Organisation, Product

_SPLIT = re.compile(r"[,，\n]")


def _split(value: str) -> list[str]:
    return [v.strip() for v in _SPLIT.split(value or "") if v.strip()]


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    products = forms.MultipleChoiceField(label=_("Products"), required=False,
                                         widget=forms.SelectMultiple(attrs={"size": 8}))
    categories = forms.CharField(label=_("Categories"), required=False,
                                 help_text=_("Comma-separated; any one matches."))
    keywords = forms.CharField(label=_("Keywords"), required=False,
                               help_text=_("Comma-separated; any one in the subject or description matches (case-insensitive)."))
    regex = forms.CharField(label=_("Regular expression"), required=False, max_length=500,
                            help_text=_("Searched in the subject and description, case-insensitive."))
    org_tiers = forms.MultipleChoiceField(label=_("Organisation tiers"), required=False,
                                          widget=forms.CheckboxSelectMultiple, choices=Organisation.Tier.choices)
    severities = forms.MultipleChoiceField(label=_("Severities"), required=False,
                                           widget=forms.CheckboxSelectMultiple, choices=[(s, s) for s in SEVERITIES])
    languages = forms.MultipleChoiceField(label=_("Languages"), required=False, widget=forms.CheckboxSelectMultiple,
                                          choices=[(code, code) for code in LANGUAGES])
    line = forms.ChoiceField(label=_("Route to line"))
    set_severity = forms.ChoiceField(label=_("Set severity"), required=False,
                                     choices=[("", _("(keep)"))] + [(s, s) for s in SEVERITIES])
    tags = forms.CharField(label=_("Add tags"), required=False, help_text=_("Comma-separated."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["products"].choices = [(p.code, f"{p.code} — {p.name}") for p in Product.objects.order_by("code")]
        self.fields["line"].choices = [(li.code, li.name) for li in Line.objects.order_by("code")]

    def to_rule(self) -> dict[str, Any]:
        d = self.cleaned_data
        when = {
            "products": d["products"], "categories": _split(d["categories"]), "keywords": _split(d["keywords"]),
            "regex": d["regex"].strip(), "org_tiers": d["org_tiers"], "severities": d["severities"],
            "languages": d["languages"],
        }
        then = {"line": d["line"], "severity": d["set_severity"], "tags": _split(d["tags"])}
        return {"name": d["name"].strip(), "enabled": d["enabled"],
                "when": {k: v for k, v in when.items() if v}, "then": {k: v for k, v in then.items() if v}}

    @staticmethod
    def initial_from(rule: dict[str, Any]) -> dict[str, Any]:
        when, then = rule.get("when") or {}, rule.get("then") or {}
        return {
            "name": rule.get("name", ""), "enabled": rule.get("enabled", True),
            "products": when.get("products", []), "categories": ", ".join(when.get("categories", [])),
            "keywords": ", ".join(when.get("keywords", [])), "regex": when.get("regex", ""),
            "org_tiers": when.get("org_tiers", []), "severities": when.get("severities", []),
            "languages": when.get("languages", []), "line": then.get("line", ""),
            "set_severity": then.get("severity", ""), "tags": ", ".join(then.get("tags", [])),
        }


# Last step of a rule's field path -> the form field that shows the error.
_FIELD_FOR = {"name": "name", "enabled": "enabled", "when.products": "products", "when.categories": "categories",
              "when.keywords": "keywords", "when.regex": "regex", "when.org_tiers": "org_tiers",
              "when.severities": "severities", "when.languages": "languages", "then.line": "line",
              "then.severity": "set_severity", "then.tags": "tags"}


def apply_rule_errors(form: forms.Form, errors: dict[str, list[str]], *, index: int) -> None:
    """Errors of rule ``index`` go next to their fields; errors of other rules (or the whole set) on top."""
    prefix = f"rules[{index}]"
    for path, messages in errors.items():
        target = None
        if path.startswith(prefix + ".") or path == prefix:
            target = _FIELD_FOR.get(path[len(prefix) + 1:])
        for message in messages:
            form.add_error(target, message if target else f"{path}: {message}")


class SimulateForm(forms.Form):
    since = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))
    sample = forms.IntegerField(label=_("Samples per line"), min_value=0, max_value=50, initial=5, required=False)

    @staticmethod
    def default_initial() -> dict[str, Any]:
        today = timezone.localdate()
        return {"since": today - timedelta(days=28), "until": today, "sample": 5}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", _("The end of the period must be after its start."))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("YAML file"), required=False)
    text = forms.CharField(label=_("…or paste YAML"), required=False,
                           widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "mono"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def yaml_text(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload is not None:
            raw = upload.read(1_000_001)
            try:
                return raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", _("The file is not UTF-8 text."))
                return ""
        return self.cleaned_data.get("text") or ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("file") and not (data.get("text") or "").strip():
            raise forms.ValidationError(_("Choose a YAML file or paste the rules."))
        return data
