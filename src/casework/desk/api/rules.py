"""Dispatch-rule endpoints: list versions, read one, create a draft, simulate, publish.

Thin on purpose: the rule-set lifecycle lives in ``routing/rulesets.py`` and the replay in
``routing/simulate.py`` (the same functions the lead's pages call), so API and pages cannot disagree.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router

from casework.desk.access import permissions
from casework.desk.api import schemas
from casework.desk.api.auth import actor
from casework.desk.errors import DeskError
from casework.desk.routing import rulesets
from casework.desk.routing.models import RuleSet
from casework.desk.routing.simulate import simulate

router = Router(tags=["rules"])

VERSION = Path(..., ge=1, le=schemas.MAX_VERSION)
ERRORS = {400: schemas.Errors, 403: schemas.Errors, 404: schemas.Errors, 409: schemas.Errors, 422: schemas.Errors}


def ruleset_out(ruleset: RuleSet, *, with_rules: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": ruleset.version,
        "state": ruleset.state,
        "note": ruleset.note,
        "rules_count": len(ruleset.rules or []),
        "created_by": ruleset.created_by.get_username() if ruleset.created_by else None,
        "created_at": ruleset.created_at,
        "published_by": ruleset.published_by.get_username() if ruleset.published_by else None,
        "published_at": ruleset.published_at,
    }
    if with_rules:
        out["rules"] = list(ruleset.rules or [])
    return out


@router.get("/rules", response={200: list[schemas.RuleSetOut], **ERRORS}, summary="List rule set versions")
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    """Newest version first; exactly one is ``published``."""
    permissions.require(actor(request), "view_rules")
    return [ruleset_out(r) for r in rulesets.list_versions()]


@router.get("/rules/{int:version}", response={200: schemas.RuleSetDetail, **ERRORS}, summary="Read one version")
def read_rules(request: HttpRequest, version: int = VERSION) -> dict[str, Any]:
    permissions.require(actor(request), "view_rules")
    return ruleset_out(rulesets.get(version), with_rules=True)


@router.post("/rules", response={201: schemas.RuleSetDetail, **ERRORS}, summary="Create a draft")
def create_draft(request: HttpRequest, payload: schemas.DraftIn) -> tuple[int, dict[str, Any]]:
    """A draft copied from ``from_version`` (default: the published version), or holding ``rules``."""
    user = actor(request)
    permissions.require(user, "edit_rules")
    if payload.rules is not None and payload.from_version is not None:
        raise DeskError({"rules": [_("Give either rules or from_version, not both.")]}, status=422)
    if payload.rules is not None:
        rulesets.validate_rules(payload.rules)  # refuse before a version number is spent on a bad draft
        with transaction.atomic():
            draft = rulesets.create_draft(actor=user, note=payload.note)
            draft = rulesets.update_draft(version=draft.version, rules=payload.rules, actor=user)
    else:
        draft = rulesets.create_draft(from_version=payload.from_version, actor=user, note=payload.note)
    return 201, ruleset_out(draft, with_rules=True)


@router.post("/rules/simulate", response={200: schemas.SimulationOut, **ERRORS}, summary="Simulate a rule set")
def simulate_rules(request: HttpRequest, payload: schemas.SimulateIn) -> dict[str, Any]:
    """Replay ``rules`` (or stored ``version``) over the tickets created in [since, until): per line, tickets
    now and under the draft, moves in and out, resulting load, sample tickets that would move."""
    permissions.require(actor(request), "edit_rules")
    if (payload.rules is None) == (payload.version is None):
        raise DeskError({"rules": [_("Give either rules or version.")]}, status=422)
    source = rulesets.get(payload.version) if payload.version is not None else payload.rules
    result = simulate(source, since=payload.since, until=payload.until, sample=payload.sample)
    return result.as_dict()


@router.post("/rules/{int:version}/publish", response={200: schemas.RuleSetDetail, **ERRORS}, summary="Publish a draft")
def publish_rules(request: HttpRequest, version: int = VERSION) -> dict[str, Any]:
    """The draft goes live; the previously published version is retired in the same transaction."""
    user = actor(request)
    permissions.require(user, "edit_rules")
    return ruleset_out(rulesets.publish(version=version, actor=user), with_rules=True)
