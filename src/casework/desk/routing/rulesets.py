"""Rule-set operations: drafts, edits, publish, rollback, YAML import/export.

These are the only functions that change :class:`RuleSet` rows; the lead pages (``routing/views.py``) and the
REST API (``/api/v1/rules``) both call them after ``access.permissions`` allowed the action. Every function
validates first and raises :class:`~casework.desk.errors.DeskError` (field path -> messages) without changing
anything; every state change is recorded on the row (who created it, who published it and when).

Versions are never edited once published: a rollback publishes a *new* version that copies the old rules, so
the list of versions is the complete, ordered history of what routed tickets and who put it live.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.desk.errors import DeskError
from casework.desk.routing.engine import FALLBACK_RULE, CompiledRule, RuleError, compile_rule
from casework.desk.routing.models import RuleSet
from casework.desk.routing.yaml_io import YamlRulesError, dump_rules, line_of, load_rules
from casework.desk.team.models import Line, Organisation, Product

MAX_RULES = 2000
SEVERITIES = ("P1", "P2", "P3", "P4")
LANGUAGES = ("en", "zh")

# Field conditions whose values must come from a known vocabulary (a typo would make a rule silently dead).
_LIST_KEYS = ("products", "categories", "keywords", "org_tiers", "severities", "languages")


# --- validation -------------------------------------------------------------------------------------------


def _vocabularies() -> dict[str, set[str]]:
    return {
        "products": set(Product.objects.values_list("code", flat=True)),
        "org_tiers": set(Organisation.Tier.values),
        "severities": set(SEVERITIES),
        "languages": set(LANGUAGES),
    }


def normalize_rule(rule: Any) -> Any:
    """The canonical stored form: ``name``, ``enabled``, then only the non-empty conditions and actions.

    Strings in lists are stripped, empty ones dropped; anything malformed is passed through unchanged so that
    :func:`validate_rules` reports it with its field path.
    """
    if not isinstance(rule, dict):
        return rule
    out: dict[str, Any] = {"name": rule.get("name").strip() if isinstance(rule.get("name"), str) else rule.get("name")}
    out["enabled"] = rule.get("enabled", True)
    when = rule.get("when") or {}
    if isinstance(when, dict):
        clean: dict[str, Any] = {}
        for key, value in when.items():
            if key in _LIST_KEYS:
                if isinstance(value, str):
                    value = [value]
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    value = [v.strip() for v in value if v.strip()]
            elif isinstance(value, str):
                value = value.strip()
            if value not in (None, "", []):
                clean[key] = value
        when = clean
    out["when"] = when
    then = rule.get("then") or {}
    if isinstance(then, dict):
        clean = {}
        for key, value in then.items():
            if key == "tags" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = [v.strip() for v in value if v.strip()]
            elif key == "tags" and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            elif isinstance(value, str):
                value = value.strip()
            if value not in (None, "", []):
                clean[key] = value
        then = clean
    out["then"] = then
    for key in rule:
        if key not in ("name", "enabled", "when", "then"):
            out[key] = rule[key]  # reported as unknown by validate_rules
    return out


def rule_errors(rules: Any) -> dict[str, list[str]]:
    """Every problem in ``rules`` as {field path: [messages]} — the first problem of each rule, so a lead sees
    all broken rules at once. Empty when the rule set can be published."""
    if not isinstance(rules, list):
        return {"rules": [_("The rules must be a list.")]}
    if len(rules) > MAX_RULES:
        return {"rules": [_("A rule set holds at most %(n)d rules.") % {"n": MAX_RULES}]}
    errors: dict[str, list[str]] = {}
    known_lines = set(Line.objects.values_list("code", flat=True))
    vocab = _vocabularies()
    names: dict[str, int] = {}
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        try:
            if isinstance(rule, dict):
                extra = set(rule) - {"name", "enabled", "when", "then"}
                if extra:
                    raise RuleError(where, _("unknown key(s): %(keys)s") % {"keys": ", ".join(sorted(map(str, extra)))})
                if not isinstance(rule.get("enabled", True), bool):
                    raise RuleError(f"{where}.enabled", _("must be true or false"))
            compiled = compile_rule(rule, i, known_lines=known_lines)
            _check_vocabulary(compiled, where, vocab)
        except RuleError as exc:
            errors.setdefault(exc.field, []).append(exc.message)
            continue
        if compiled.name == FALLBACK_RULE:
            errors.setdefault(f"{where}.name", []).append(_("%(name)r is reserved for unmatched tickets") % {"name": FALLBACK_RULE})
        elif compiled.name in names:
            errors.setdefault(f"{where}.name", []).append(
                _("duplicate rule name %(name)r (also rule %(n)d)") % {"name": compiled.name, "n": names[compiled.name] + 1}
            )
        names.setdefault(compiled.name, i)
    return errors


def _check_vocabulary(rule: CompiledRule, where: str, vocab: dict[str, set[str]]) -> None:
    for key, known in vocab.items():
        unknown = sorted(getattr(rule, key) - known)
        if unknown:
            raise RuleError(
                f"{where}.when.{key}",
                _("unknown value(s): %(values)s (known: %(known)s)")
                % {"values": ", ".join(unknown), "known": ", ".join(sorted(known))},
            )


def validate_rules(rules: Any) -> list[dict[str, Any]]:
    """Normalised rules, or DeskError with every problem by field path."""
    if not isinstance(rules, list):
        raise DeskError({"rules": [_("The rules must be a list.")]})
    normalized = [normalize_rule(r) for r in rules]
    errors = rule_errors(normalized)
    if errors:
        raise DeskError(errors)
    return normalized


# --- reading ----------------------------------------------------------------------------------------------


def list_versions() -> list[RuleSet]:
    return list(RuleSet.objects.select_related("created_by", "published_by").order_by("-version"))


def get(version: int) -> RuleSet:
    ruleset = RuleSet.objects.select_related("created_by", "published_by").filter(version=version).first()
    if ruleset is None:
        raise DeskError({"version": [_("No rule set version %(v)s.") % {"v": version}]}, status=404)
    return ruleset


def current() -> RuleSet | None:
    """The published version (there is at most one)."""
    return RuleSet.objects.filter(state=RuleSet.State.PUBLISHED).first()


# --- changing ---------------------------------------------------------------------------------------------


def _new_version(*, rules: list[dict[str, Any]], actor: Any, note: str, **fields: Any) -> RuleSet:
    # Two leads creating drafts at once both compute max+1; the unique constraint refuses one, which retries.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                top = RuleSet.objects.aggregate(top=Max("version"))["top"] or 0
                return RuleSet.objects.create(
                    version=top + 1, rules=rules, note=note[:200], created_by=actor, **fields
                )
        except IntegrityError:
            continue
    raise DeskError(_("Could not allocate a rule set version; try again."), status=409)  # pragma: no cover


def create_draft(*, from_version: int | None = None, actor: Any, note: str = "") -> RuleSet:
    """A new draft holding a copy of ``from_version`` (default: the published version, else no rules)."""
    if from_version is not None:
        source: RuleSet | None = get(from_version)
    else:
        source = current()
    rules = list(source.rules) if source is not None else []
    if not note:
        note = _("Draft from v%(v)d") % {"v": source.version} if source is not None else _("New rule set")
    return _new_version(rules=rules, actor=actor, note=note)


def _draft_for_update(version: int) -> RuleSet:
    ruleset = RuleSet.objects.select_for_update().filter(version=version).first()
    if ruleset is None:
        raise DeskError({"version": [_("No rule set version %(v)s.") % {"v": version}]}, status=404)
    if ruleset.state != RuleSet.State.DRAFT:
        raise DeskError(
            {"version": [_("v%(v)d is %(state)s; only drafts can be edited — create a draft from it.")
                         % {"v": version, "state": ruleset.state}]},
            status=409,
        )
    return ruleset


def update_draft(*, version: int, rules: Sequence[dict[str, Any]], actor: Any, note: str | None = None) -> RuleSet:
    """Replace the rules of a draft after validating all of them (errors by field path, nothing saved)."""
    normalized = validate_rules(list(rules) if isinstance(rules, list | tuple) else rules)
    with transaction.atomic():
        ruleset = _draft_for_update(version)
        ruleset.rules = normalized
        fields = ["rules"]
        if note is not None:
            ruleset.note = note[:200]
            fields.append("note")
        ruleset.save(update_fields=fields)
    return ruleset


def add_rule(*, version: int, rule: dict[str, Any], actor: Any, position: int | None = None) -> RuleSet:
    """Insert one rule (at the end by default). Errors name the rule's fields at its new position."""
    with transaction.atomic():
        rules = list(_draft_for_update(version).rules)
        position = len(rules) if position is None else max(0, min(position, len(rules)))
        rules.insert(position, rule)
        return update_draft(version=version, rules=rules, actor=actor)


def replace_rule(*, version: int, index: int, rule: dict[str, Any], actor: Any) -> RuleSet:
    with transaction.atomic():
        rules = list(_draft_for_update(version).rules)
        _check_index(rules, index)
        rules[index] = rule
        return update_draft(version=version, rules=rules, actor=actor)


def delete_rule(*, version: int, index: int, actor: Any) -> RuleSet:
    with transaction.atomic():
        rules = list(_draft_for_update(version).rules)
        _check_index(rules, index)
        del rules[index]
        return update_draft(version=version, rules=rules, actor=actor)


def move_rule(*, version: int, index: int, to: int, actor: Any) -> RuleSet:
    """Move a rule to position ``to`` (order matters: the first matching rule wins)."""
    with transaction.atomic():
        rules = list(_draft_for_update(version).rules)
        _check_index(rules, index)
        to = max(0, min(to, len(rules) - 1))
        rules.insert(to, rules.pop(index))
        return update_draft(version=version, rules=rules, actor=actor)


def _check_index(rules: list[Any], index: int) -> None:
    if not 0 <= index < len(rules):
        raise DeskError({"index": [_("No rule number %(n)d in this draft.") % {"n": index + 1}]}, status=404)


def delete_draft(*, version: int, actor: Any) -> None:
    with transaction.atomic():
        _draft_for_update(version).delete()


def publish(*, version: int, actor: Any) -> RuleSet:
    """Put a draft live: the previously published version is retired in the same transaction, so exactly one
    version is published at every moment (a database constraint backs this)."""
    with transaction.atomic():
        ruleset = _draft_for_update(version)
        errors = rule_errors(ruleset.rules)
        if errors:
            raise DeskError(errors)
        _retire_published()
        ruleset.state = RuleSet.State.PUBLISHED
        ruleset.published_at = timezone.now()
        ruleset.published_by = actor
        ruleset.save(update_fields=["state", "published_at", "published_by"])
    return ruleset


def _retire_published() -> None:
    # Lock the published row so two concurrent publishes serialise instead of racing on the constraint.
    live = list(RuleSet.objects.select_for_update().filter(state=RuleSet.State.PUBLISHED))
    for row in live:
        row.state = RuleSet.State.RETIRED
        row.save(update_fields=["state"])


def rollback(*, to_version: int, actor: Any) -> RuleSet:
    """Publish the rules of an earlier version again, as a new version noted "Rollback to vN" (published_by and
    published_at say who rolled back and when; the earlier version keeps its own history)."""
    with transaction.atomic():
        source = get(to_version)
        if source.state == RuleSet.State.PUBLISHED:
            raise DeskError({"version": [_("v%(v)d is already published.") % {"v": to_version}]}, status=409)
        if source.state == RuleSet.State.DRAFT:
            raise DeskError(
                {"version": [_("v%(v)d is a draft that was never published; publish it instead.") % {"v": to_version}]},
                status=409,
            )
        errors = rule_errors(source.rules)  # a line could have been removed since
        if errors:
            raise DeskError(errors)
        _retire_published()
        return _new_version(
            rules=list(source.rules), actor=actor, note=_("Rollback to v%(v)d") % {"v": to_version},
            state=RuleSet.State.PUBLISHED, published_at=timezone.now(), published_by=actor,
        )


# --- YAML -------------------------------------------------------------------------------------------------


def export_yaml(version: int) -> str:
    ruleset = get(version)
    header = f"casework dispatch rules v{ruleset.version} ({ruleset.state})"
    if ruleset.note:
        header += f"\n{ruleset.note}"
    header += "\nFirst matching rule wins; tickets no rule matches go to the fallback line."
    return dump_rules([normalize_rule(r) for r in ruleset.rules], header=header)


def import_yaml(text: str, *, actor: Any, note: str = "") -> RuleSet:
    """A new draft from YAML text. Bad YAML or a bad rule: DeskError naming the line and the field, no draft."""
    try:
        raw, tree = load_rules(text)
    except YamlRulesError as exc:
        raise DeskError({"yaml": [str(exc)]}) from None
    normalized = [normalize_rule(r) for r in raw]
    errors = rule_errors(normalized)
    if errors:
        raise DeskError({
            "yaml": [_("line %(line)d: %(field)s: %(message)s")
                     % {"line": line_of(tree, field), "field": field, "message": "; ".join(messages)}
                     for field, messages in errors.items()]
        })
    return _new_version(rules=normalized, actor=actor, note=note or _("Imported from YAML"))

