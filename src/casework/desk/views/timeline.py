"""A ticket's history as one list: the event log, with each reply, note and case summary shown where its event
happened. Customers get the public part only (``internal=False``): notes and internal events never reach them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

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


def _status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value


def build_timeline(ticket: Ticket, *, internal: bool, summaries: list[CaseSummary] | None = None) -> list[Item]:
    """``summaries``: the ticket's case summaries when the caller has read them already (the ticket page shows
    the latest one too), so they are not read twice."""
    events = list(TicketEvent.objects.filter(ticket=ticket).select_related("actor__profile", "line", "engineer__profile"))
    msgs = {m.pk: m for m in Message.objects.filter(ticket=ticket).select_related("author__profile")}
    if not internal:
        by_pk: dict[int, CaseSummary] = {}
    else:
        by_pk = {s.pk: s for s in (CaseSummary.objects.filter(ticket=ticket) if summaries is None else summaries)}
    items: list[Item] = []
    for ev in events:
        if not internal and ev.kind not in PUBLIC_KINDS:
            continue
        item = _item(ev, ticket=ticket, msgs=msgs, summaries=by_pk, internal=internal)
        if item is not None:
            items.append(item)
    return items


def _item(ev: TicketEvent, *, ticket: Ticket, msgs: dict[int, Message], summaries: dict[int, CaseSummary],
          internal: bool) -> Item | None:
    d = ev.data or {}
    actor = _name(ev.actor)
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
        title = _("routed to %(line)s by rule %(rule)s") % {"line": ev.line or d.get("line"), "rule": d.get("rule")}
        details = [(_("Rule set"), f"v{d['version']}" if d.get("version") else _("none published"))]
        if d.get("tags"):
            details.append((_("Tags"), ", ".join(d["tags"])))
        return Item(kind, ev.created_at, _("dispatch rules"), title, "system", details=details)
    if kind == EventKind.ASSIGNED:
        how = _("automatically") if d.get("how") == "auto" else _("by a lead")
        return Item(kind, ev.created_at, actor, _("assigned to %(who)s %(how)s") % {"who": _name(ev.engineer), "how": how},
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
