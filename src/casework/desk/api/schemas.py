"""Request and response bodies of the REST API (pydantic via ninja); the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import field_validator

# Largest id the databases store (bigint); a larger number in a filter would crash SQLite's driver.
MAX_ID = 2**63 - 1
MAX_VERSION = 2**31 - 1  # RuleSet.version is a PositiveIntegerField


def text_problem(value: Any) -> str | None:
    """Why ``value`` (or a string nested in it) cannot be stored, or None. PostgreSQL refuses NUL characters in
    text and jsonb, and no database stores lone surrogates (``"\\ud800"`` is valid JSON but not UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain NUL (\\u0000) characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (no lone surrogates)"
        return None
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    return next((p for p in map(text_problem, items) if p), None)


class Input(Schema):
    """Base of every request schema: text the databases cannot store is refused per field (422), the same on
    SQLite and PostgreSQL, instead of failing inside a transaction."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class Errors(Schema):
    """Every refusal: field name (``__all__`` for the whole request) -> messages."""

    errors: dict[str, list[str]]


class OrganisationOut(Schema):
    id: int
    name: str


class TicketOut(Schema):
    ref: str
    subject: str
    status: str
    severity: str
    product: str
    category: str
    language: str
    organisation: OrganisationOut
    line: str | None
    tier: str
    assignee: str | None
    contact: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    # Desk-internal routing facts: null in a customer's view.
    tags: list[str] | None = None
    routed_rule: str | None = None
    rules_version: int | None = None
    escalations: int | None = None
    bounces: int | None = None


class MessageOut(Schema):
    id: int
    author: str | None
    body: str
    internal: bool
    created_at: datetime


class EventOut(Schema):
    id: int
    kind: str
    actor: str | None
    line: str | None
    tier: str
    data: dict[str, Any]
    created_at: datetime


class SummaryOut(Schema):
    author: str | None
    from_tier: str
    to_tier: str
    problem: str
    checked: str
    findings: str
    identifiers: str
    time_window: str
    impact: str
    created_at: datetime


class TicketDetail(TicketOut):
    description: str
    identifiers: dict[str, Any]
    messages: list[MessageOut]
    events: list[EventOut]
    summaries: list[SummaryOut] = Field(default_factory=list, description="Escalation case summaries (engineers only).")
    allowed_actions: list[str]


class TicketPage(Schema):
    items: list[TicketOut]
    next: str | None = Field(None, description="Opaque cursor of the next page; null on the last page.")


class TicketIn(Input):
    product: str = Field(..., description="Product code, e.g. oss, ecs, rds-mysql.")
    subject: str
    description: str
    severity: str = "P3"
    category: str = ""
    language: str = "en"
    identifiers: dict[str, Any] | None = Field(
        None, description="instance_ids, request_ids, domains (lists), window_start, window_end (ISO times)."
    )
    organisation: int | None = Field(
        None, ge=1, le=MAX_ID, description="Organisation id; engineers and leads only (customers: theirs)."
    )
    contact: str | None = Field(None, description="Username of a contact of that organisation (engineers, leads).")


class TicketFilters(Input):
    status: str | None = Field(None, description="One status or several separated by commas.")
    line: str | None = Field(None, description="Line code.")
    product: str | None = Field(None, description="Product code.")
    severity: str | None = Field(None, description="P1..P4, or several separated by commas.")
    tier: str | None = Field(None, description="T0, L1 or L2.")
    assignee: str | None = Field(None, description="'me', 'none' (unassigned) or a username.")
    organisation: int | None = Field(None, ge=1, le=MAX_ID, description="Organisation id.")
    q: str | None = Field(None, description="Text searched in the subject.")
    created_after: datetime | None = None
    created_before: datetime | None = None
    cursor: str | None = Field(None, description="The 'next' value of the previous page.")
    limit: int = Field(50, ge=1, le=200)


class ReplyIn(Input):
    body: str
    pending_customer: bool = Field(False, description="Engineers: wait for the customer after this reply.")


class NoteIn(Input):
    body: str


class EscalateIn(Input):
    """The structured case summary an escalation must carry; every field is required by the desk."""

    problem: str = ""
    checked: str = Field("", description="What was checked.")
    findings: str = Field("", description="Findings and evidence.")
    identifiers: str = Field("", description="Instance ids, request ids, domains.")
    time_window: str = ""
    impact: str = Field("", description="Customer impact.")


class ReturnIn(Input):
    reason: str = ""


class ReassignIn(Input):
    line: str = Field(..., description="Code of the line the ticket moves to.")
    reason: str = ""


class ResolveIn(Input):
    note: str = Field("", description="Optional public closing reply: what fixed it.")


class StatusIn(Input):
    status: str
    reason: str = ""


class RuleSetOut(Schema):
    version: int
    state: str
    note: str
    rules_count: int
    created_by: str | None
    created_at: datetime
    published_by: str | None
    published_at: datetime | None


class RuleSetDetail(RuleSetOut):
    rules: list[dict[str, Any]]


class SimulateIn(Input):
    rules: list[dict[str, Any]] | None = Field(None, description="A draft rule list; or name a stored version.")
    version: int | None = Field(
        None, ge=1, le=MAX_VERSION, description="A stored rule set version to replay instead of 'rules'."
    )
    since: datetime
    until: datetime
    sample: int = Field(5, ge=0, le=50)


class DraftIn(Input):
    rules: list[dict[str, Any]] | None = Field(None, description="The rules of the new draft (validated).")
    from_version: int | None = Field(
        None, ge=1, le=MAX_VERSION, description="Copy this version instead (default: the published one)."
    )
    note: str = ""


class MovedTicketOut(Schema):
    ref: str
    subject: str
    created_at: datetime
    from_line: str
    to_line: str
    rule_now: str
    rule_draft: str


class LineImpactOut(Schema):
    line: str
    name: str
    is_fallback: bool
    now: int
    draft: int
    delta: int
    moved_in: int
    moved_out: int
    open_now: int
    open_draft: int
    engineers: int
    per_engineer_draft: float | None
    samples: list[MovedTicketOut]


class SimulationOut(Schema):
    since: datetime
    until: datetime
    version: int | None
    total: int
    moved: int
    moved_share: float
    lines: list[LineImpactOut]
    samples: list[MovedTicketOut]
    rule_hits: dict[str, int]
    elapsed_s: float
