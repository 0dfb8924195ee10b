"""A ticket's history as one list: the event log, with each reply, note and case summary shown where its event
happened. Customers get the public part only (``internal=False``): notes and internal events never reach them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from casework.desk.prepared import PreparedQuery
from casework.desk.tickets.models import CaseSummary, EventKind, Message, Status, Ticket, TicketEvent

# Events a customer may see on their ticket (besides public replies): what happened, not who did it inside.
PUBLIC_KINDS = {EventKind.CREATED, EventKind.REPLIED, EventKind.CUSTOMER_REPLIED, EventKind.STATUS_CHANGED,
                EventKind.RATED}


@dataclass
class Item:
    kind: str
    at: datetime
    actor: str
    title: str
    css: str = ""
    body: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)


def _name(user: Any) -> str:
    if user is None:
        return _("casework")
    profile = getattr(user, "profile", None)
    return (profile.display_name if profile is not None and profile.display_name else user.get_username())


class _Words(dict[str, str]):
    """msgid → its translation in one language, each looked up once per process (not once per event)."""

    def __missing__(self, msgid: str) -> str:
        word = self[msgid] = _(msgid)
        return word


_WORDS: dict[str | None, _Words] = {}
_STATUS_LABELS: dict[str | None, dict[str, str]] = {}


def _translator() -> Any:
    """``gettext`` for the active language, from :class:`_Words`."""
    lang = get_language()
    words = _WORDS.get(lang)
    if words is None:
        words = _WORDS[lang] = _Words()
    return words.__getitem__


def _row_name(user_id: int | None, username: str | None, display_name: str | None, casework: str) -> str:
    """:func:`_name` of a user read as columns (id, username, profile display name — None without a profile);
    ``casework``: the translated name of the system."""
    if user_id is None:
        return casework
    return display_name or username or ""


def _status_label(value: str) -> str:
    lang = get_language()
    labels = _STATUS_LABELS.get(lang)
    if labels is None:
        labels = _STATUS_LABELS[lang] = {status.value: str(status.label) for status in Status}
    try:
        return labels.get(value, value)
    except TypeError:  # not a status at all (a list in hand-edited data): shown as it is, like Status() refuses it
        return value


@dataclass
class EventRow:
    """What the timeline shows of one event, read as columns instead of an event with three related objects."""

    kind: str
    created_at: datetime
    data: dict[str, Any]
    actor: str  # the actor's name as :func:`_name` gives it
    line: str | None  # the event's line (its name), None without one
    engineer: str

    def get_kind_display(self) -> str:
        try:
            return str(EventKind(self.kind).label)
        except ValueError:
            return self.kind


@dataclass(frozen=True)
class _Msg:
    body: str
    internal: bool


# The event log, messages and case summaries of a ticket, their SQL compiled once per process (prepared.py).
_EVENTS = PreparedQuery(
    lambda ticket_id: TicketEvent.objects.filter(ticket_id=ticket_id).values_list(
        "kind", "created_at", "data", "actor_id", "actor__username", "actor__profile__display_name",
        "line_id", "line__name", "engineer_id", "engineer__username", "engineer__profile__display_name"),
    -8_412_903,
)
_MESSAGES = PreparedQuery(
    lambda ticket_id: Message.objects.filter(ticket_id=ticket_id).values_list("id", "body", "internal"), -8_412_903)
SUMMARIES = PreparedQuery(
    lambda ticket_id: CaseSummary.objects.filter(ticket_id=ticket_id).select_related("author__profile"), -8_412_903)


def read_events(ticket_id: int) -> list[EventRow]:
    casework = _translator()("casework")
    return [
        EventRow(kind, at, data or {}, _row_name(actor_id, actor, actor_display, casework),
                 line if line_id is not None else None, _row_name(engineer_id, engineer, engineer_display, casework))
        for (kind, at, data, actor_id, actor, actor_display, line_id, line, engineer_id, engineer,
             engineer_display) in _EVENTS.rows(ticket_id)
    ]


def build_timeline(ticket: Ticket, *, internal: bool, summaries: list[CaseSummary] | None = None) -> list[Item]:
    """``summaries``: the ticket's case summaries when the caller has read them already (the ticket page shows
    the latest one too), so they are not read twice."""
    events = read_events(ticket.pk)
    # Messages reach the timeline only through the events that name them: none of those, no query.
    msgs: dict[int, _Msg] = {}
    if any(ev.kind in _MESSAGE_KINDS for ev in events):
        msgs = {pk: _Msg(body, is_internal) for pk, body, is_internal in _MESSAGES.rows(ticket.pk)}
    words = _translator()
    if not internal:
        by_pk: dict[int, CaseSummary] = {}
    else:
        by_pk = {s.pk: s for s in (SUMMARIES.models(ticket.pk) if summaries is None else summaries)}
    items: list[Item] = []
    for ev in events:
        if not internal and ev.kind not in PUBLIC_KINDS:
            continue
        item = _item(ev, ticket=ticket, msgs=msgs, summaries=by_pk, internal=internal, _=words)
        if item is not None:
            items.append(item)
    return items


_MESSAGE_KINDS = {EventKind.REPLIED, EventKind.CUSTOMER_REPLIED, EventKind.NOTED}


def _item(ev: EventRow, *, ticket: Ticket, msgs: dict[int, _Msg], summaries: dict[int, CaseSummary],
          internal: bool, _: Any = _) -> Item | None:
    """``_``: gettext, or the page's cached translator (the same words)."""
    d = ev.data
    actor = ev.actor
    kind = ev.kind
    if kind == EventKind.CREATED:
        return Item(kind, ev.created_at, _name(ticket.contact) if ticket.contact else actor,
                    _("opened the ticket"), "created", ticket.description)
    if kind in (EventKind.REPLIED, EventKind.CUSTOMER_REPLIED, EventKind.NOTED):
        message = msgs.get(d.get("message"))
        if message is None or (message.internal and not internal):
            return None
        if message.internal:
            return Item(kind, ev.created_at, actor, _("added an internal note"), "note", message.body)
        css = "customer" if kind == EventKind.CUSTOMER_REPLIED else "reply"
        return Item(kind, ev.created_at, actor, _("replied"), css, message.body)
    if kind == EventKind.STATUS_CHANGED:
        if not internal and d.get("to") not in (Status.RESOLVED, Status.CLOSED, Status.PENDING_CUSTOMER,
                                                Status.IN_PROGRESS):
            return None
        title = _("status %(old)s → %(new)s") % {"old": _status_label(d.get("from", "")),
                                                  "new": _status_label(d.get("to", ""))}
        return Item(kind, ev.created_at, actor if internal else "", title, "status", d.get("reason", ""))
    if kind == EventKind.ROUTED:
        line = ev.line if ev.line is not None else d.get("line")
        title = _("routed to %(line)s by rule %(rule)s") % {"line": line, "rule": d.get("rule")}
        details = [(_("Rule set"), f"v{d['version']}" if d.get("version") else _("none published"))]
        if d.get("tags"):
            details.append((_("Tags"), ", ".join(d["tags"])))
        return Item(kind, ev.created_at, _("dispatch rules"), title, "system", details=details)
    if kind == EventKind.ASSIGNED:
        how = _("automatically") if d.get("how") == "auto" else _("by a lead")
        return Item(kind, ev.created_at, actor, _("assigned to %(who)s %(how)s") % {"who": ev.engineer, "how": how},
                    "system")
    if kind == EventKind.CLAIMED:
        return Item(kind, ev.created_at, actor, _("claimed the ticket"), "system")
    if kind == EventKind.ESCALATED:
        item = Item(kind, ev.created_at, actor, _("escalated %(from)s → %(to)s") % {"from": d.get("from"), "to": d.get("to")},
                    "escalated")
        summary = summaries.get(d.get("summary"))
        if summary is not None:
            item.details = [(_("Problem"), summary.problem), (_("Checked"), summary.checked),
                            (_("Findings"), summary.findings), (_("Identifiers"), summary.identifiers),
                            (_("Time window"), summary.time_window), (_("Impact"), summary.impact)]
        return item
    if kind == EventKind.RETURNED:
        title = _("returned %(from)s → %(to)s (bounce)") % {"from": d.get("from"), "to": d.get("to")}
        return Item(kind, ev.created_at, actor, title, "bounce", d.get("reason", ""))
    if kind == EventKind.REASSIGNED:
        title = _("moved from line %(old)s to %(new)s") % {"old": d.get("from") or "—", "new": d.get("to")}
        return Item(kind, ev.created_at, actor, title, "bounce", d.get("reason", ""))
    if kind == EventKind.ATTACHED:
        if d.get("internal") and not internal:
            return None
        return Item(kind, ev.created_at, actor, _("attached %(name)s") % {"name": d.get("name")}, "system")
    if kind == EventKind.SLA_PAUSED:
        return Item(kind, ev.created_at, "SLA", _("SLA clocks paused"), "system")
    if kind == EventKind.SLA_RESUMED:
        return Item(kind, ev.created_at, "SLA", _("SLA clocks resumed"), "system")
    if kind == EventKind.SLA_BREACHED:
        return Item(kind, ev.created_at, "SLA", _("SLA breached: %(clock)s") % {"clock": d.get("clock")}, "breach")
    if kind == EventKind.RATED:
        return Item(kind, ev.created_at, actor, _("rated the support: %(rating)s") % {"rating": d.get("rating")},
                    "rated", d.get("comment", ""))
    return Item(kind, ev.created_at, actor, str(ev.get_kind_display()), "system")
