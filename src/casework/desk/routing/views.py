"""Lead pages for dispatch rules: versions, the draft editor, YAML export/import, the simulator, publish/rollback.

Engineers may look (``view_rules``); only leads and admins change anything (``edit_rules``) — both decided by
``casework.desk.access.permissions``. Every change goes through ``routing/rulesets.py``. The editor works with
htmx (each action re-renders the rule panel in place) and without it (plain POST + redirect).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from casework.desk.access import permissions
from casework.desk.errors import DeskError
from casework.desk.routing import rulesets
from casework.desk.routing.forms import ImportForm, RuleForm, SimulateForm, apply_rule_errors
from casework.desk.routing.models import RuleSet
from casework.desk.routing.simulate import simulate


def _guard(action: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not permissions.can(request.user, action):
                raise PermissionDenied(_("You may not do this (%(action)s) here.") % {"action": action})
            try:
                return view(request, *args, **kwargs)
            except DeskError as exc:
                if exc.status == 404:
                    return render(request, "desk/rules/error.html", {"errors": exc.errors}, status=404)
                raise

        return wrapper

    return decorate


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _flash_errors(request: HttpRequest, exc: DeskError) -> None:
    for field, msgs in exc.errors.items():
        for m in msgs:
            messages.error(request, m if field in ("__all__", "version", "index") else f"{field}: {m}")


def _can_edit(request: HttpRequest) -> bool:
    return permissions.can(request.user, "edit_rules")


# --- pages ------------------------------------------------------------------------------------------------


@_guard("view_rules")
def version_list(request: HttpRequest) -> HttpResponse:
    return render(request, "desk/rules/list.html", {
        "versions": rulesets.list_versions(), "can_edit": _can_edit(request), "current": rulesets.current(),
    })


@_guard("view_rules")
def detail(request: HttpRequest, version: int) -> HttpResponse:
    ruleset = rulesets.get(version)
    return render(request, "desk/rules/detail.html", _panel_context(request, ruleset))


def _panel_context(request: HttpRequest, ruleset: RuleSet, **extra: Any) -> dict[str, Any]:
    editable = ruleset.state == RuleSet.State.DRAFT and _can_edit(request)
    problems = rulesets.rule_errors(ruleset.rules) if editable else {}
    ctx = {"ruleset": ruleset, "rows": [_row(i, r, problems) for i, r in enumerate(ruleset.rules)],
           "editable": editable, "can_edit": _can_edit(request), "problems": problems,
           "htmx": _is_htmx(request)}
    ctx.update(extra)
    return ctx


_CONDITION_LABELS = {"products": _lazy("product"), "categories": _lazy("category"), "keywords": _lazy("keywords"),
                     "regex": _lazy("regex"), "org_tiers": _lazy("org tier"), "severities": _lazy("severity"),
                     "languages": _lazy("language")}


def _row(index: int, rule: dict[str, Any], problems: dict[str, list[str]]) -> dict[str, Any]:
    """One rule as the editor table shows it: conditions as (label, value) pairs, and its problems if any."""
    when, then = rule.get("when") or {}, rule.get("then") or {}
    conditions = []
    for key, label in _CONDITION_LABELS.items():
        value = when.get(key)
        if value:
            conditions.append((label, " | ".join(value) if isinstance(value, list) else str(value)))
    prefix = f"rules[{index}]"
    mine = [f"{path[len(prefix) + 1:] or 'rule'}: {m}" for path, msgs in problems.items()
            if path == prefix or path.startswith(prefix + ".") for m in msgs]
    return {"index": index, "name": rule.get("name", ""), "enabled": rule.get("enabled", True),
            "conditions": conditions, "line": then.get("line", ""), "severity": then.get("severity", ""),
            "tags": then.get("tags", []), "problems": mine}


def _panel(request: HttpRequest, ruleset: RuleSet, *, status: int = 200, **extra: Any) -> HttpResponse:
    """The rule panel (htmx) or, without htmx, a redirect back to the editor (errors were flashed)."""
    if _is_htmx(request):
        return render(request, "desk/rules/_panel.html", _panel_context(request, ruleset, **extra), status=status)
    if extra.get("form") is not None:
        return render(request, "desk/rules/detail.html", _panel_context(request, ruleset, **extra), status=status)
    return redirect("rules:detail", version=ruleset.version)


# --- the draft editor -------------------------------------------------------------------------------------


@_guard("edit_rules")
def rule_form(request: HttpRequest, version: int, index: int | None = None) -> HttpResponse:
    """GET: the form for a new rule (index None) or rule ``index``; POST: save it."""
    ruleset = rulesets.get(version)
    if ruleset.state != RuleSet.State.DRAFT:
        messages.error(request, _("v%(v)d is %(state)s; only drafts can be edited — create a draft from it.")
                       % {"v": version, "state": ruleset.state})
        return redirect("rules:detail", version=version)
    if index is not None and not 0 <= index < len(ruleset.rules):
        raise DeskError({"index": [_("No rule number %(n)d in this draft.") % {"n": index + 1}]}, status=404)
    if request.method == "GET":
        initial = RuleForm.initial_from(ruleset.rules[index]) if index is not None else {"enabled": True}
        return _panel(request, ruleset, form=RuleForm(initial=initial), form_index=index)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            if index is None:
                position = _int(request.POST.get("position"))
                ruleset = rulesets.add_rule(version=version, rule=form.to_rule(), actor=request.user, position=position)
            else:
                ruleset = rulesets.replace_rule(version=version, index=index, rule=form.to_rule(), actor=request.user)
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
            return _panel(request, ruleset)
        except DeskError as exc:
            target = index if index is not None else (_int(request.POST.get("position")) or len(ruleset.rules))
            apply_rule_errors(form, exc.errors, index=target)
    # 200 even with errors: htmx only swaps successful responses, and the form with its errors is the answer.
    return _panel(request, ruleset, form=form, form_index=index)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@require_POST
@_guard("edit_rules")
def rule_delete(request: HttpRequest, version: int, index: int) -> HttpResponse:
    try:
        ruleset = rulesets.delete_rule(version=version, index=index, actor=request.user)
    except DeskError as exc:
        _flash_errors(request, exc)
        ruleset = rulesets.get(version)
    return _panel(request, ruleset)


@require_POST
@_guard("edit_rules")
def rule_move(request: HttpRequest, version: int, index: int) -> HttpResponse:
    to = _int(request.POST.get("to"))
    try:
        ruleset = rulesets.move_rule(version=version, index=index, to=index if to is None else to, actor=request.user)
    except DeskError as exc:
        _flash_errors(request, exc)
        ruleset = rulesets.get(version)
    return _panel(request, ruleset)


# --- versions ---------------------------------------------------------------------------------------------


@require_POST
@_guard("edit_rules")
def new_draft(request: HttpRequest) -> HttpResponse:
    ruleset = rulesets.create_draft(from_version=_int(request.POST.get("from_version")), actor=request.user)
    messages.success(request, _("Draft v%(v)d created.") % {"v": ruleset.version})
    return redirect("rules:detail", version=ruleset.version)


@require_POST
@_guard("edit_rules")
def publish(request: HttpRequest, version: int) -> HttpResponse:
    try:
        ruleset = rulesets.publish(version=version, actor=request.user)
        messages.success(request, _("v%(v)d is live: new tickets are routed by it.") % {"v": ruleset.version})
    except DeskError as exc:
        _flash_errors(request, exc)
    return redirect("rules:detail", version=version)


@require_POST
@_guard("edit_rules")
def rollback(request: HttpRequest, version: int) -> HttpResponse:
    try:
        ruleset = rulesets.rollback(to_version=version, actor=request.user)
    except DeskError as exc:
        _flash_errors(request, exc)
        return redirect("rules:detail", version=version)
    messages.success(request, _("Rolled back: v%(new)d (a copy of v%(old)d) is live.")
                     % {"new": ruleset.version, "old": version})
    return redirect("rules:detail", version=ruleset.version)


@require_POST
@_guard("edit_rules")
def delete_draft(request: HttpRequest, version: int) -> HttpResponse:
    try:
        rulesets.delete_draft(version=version, actor=request.user)
        messages.success(request, _("Draft v%(v)d deleted.") % {"v": version})
    except DeskError as exc:
        _flash_errors(request, exc)
        return redirect("rules:detail", version=version)
    return redirect("rules:list")


# --- YAML -------------------------------------------------------------------------------------------------


@_guard("view_rules")
def export_yaml(request: HttpRequest, version: int) -> HttpResponse:
    text = rulesets.export_yaml(version)
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="casework-rules-v{version}.yaml"'
    return response


@_guard("edit_rules")
def import_yaml(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            text = form.yaml_text()
            if not form.errors:
                try:
                    ruleset = rulesets.import_yaml(text, actor=request.user, note=form.cleaned_data.get("note") or "")
                    messages.success(request, _("Imported %(n)d rules as draft v%(v)d.")
                                     % {"n": len(ruleset.rules), "v": ruleset.version})
                    return redirect("rules:detail", version=ruleset.version)
                except DeskError as exc:
                    for msgs in exc.errors.values():
                        for m in msgs:
                            form.add_error(None, m)
        status = 400
    else:
        form, status = ImportForm(), 200
    return render(request, "desk/rules/import.html", {"form": form}, status=status)


# --- simulation -------------------------------------------------------------------------------------------


@_guard("view_rules")
def simulate_page(request: HttpRequest, version: int) -> HttpResponse:
    ruleset = rulesets.get(version)
    result = None
    if "since" in request.GET:
        form = SimulateForm(request.GET)
        if form.is_valid():
            try:
                result = simulate(ruleset, since=form.cleaned_data["since"], until=form.cleaned_data["until"],
                                  sample=form.cleaned_data.get("sample") or 5)
            except DeskError as exc:
                for field, msgs in exc.errors.items():
                    for m in msgs:
                        form.add_error(field if field in form.fields else None, m)
    else:
        form = SimulateForm(initial=SimulateForm.default_initial())
    ctx = {"ruleset": ruleset, "form": form, "result": result, "can_edit": _can_edit(request)}
    template = "desk/rules/_simulation.html" if _is_htmx(request) else "desk/rules/simulate.html"
    return render(request, template, ctx)
