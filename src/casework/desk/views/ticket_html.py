"""Parts of the engineer's ticket page written in Python instead of Django templates, with the same markup.

Why: at a million tickets the page's CPU went to template nodes — the timeline (``desk/_timeline.html``: ~10
events × a dozen nodes and three ``date`` filters each) and the action forms (``desk/_fields.html`` and Django's
widget templates: one template render per field) and the rest of the page template (header facts, action cards).
Here the timeline is one f-string per event, the page's content block (:func:`content_html`) a few f-strings
(words translated once per process and language, everything from the database escaped), an unbound form's HTML
is rendered by the template once per process and language and then reused (it does not depend on the request:
the CSRF token is outside ``_fields.html``), and the page's URLs come from one ``reverse`` per URL name
(``urlcache.py``).
``tests/test_ticket_page_render.py`` compares the whole page with the template it replaced
(``tests/data/ticket_page/ticket_reference.html``) and each part with the template it stands for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model
from django.template.defaultfilters import linebreaksbr, timeuntil_filter
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from casework.desk.views.timeline import Item


def _at(value: Any) -> tuple[str, str, str]:
    """``{{ at|date:'c' }}``, ``{{ at|date:'Y-m-d H:i:s T' }}``, ``{{ at|date:"m-d H:i" }}`` of an aware datetime:
    in the active time zone like a template shows it; ``T`` empty on an ambiguous or imaginary local time, as
    Django's ``dateformat`` has it."""
    at = timezone.localtime(value)
    tz = at.tzinfo
    zone = "" if tz.utcoffset(at.replace(fold=not at.fold)) != tz.utcoffset(at) else str(tz.tzname(at))
    return at.isoformat(), f"{at:%Y-%m-%d %H:%M:%S} {escape(zone)}", f"{at:%m-%d %H:%M}"


def _text(value: Any) -> str:
    """``{{ value|linebreaksbr }}``."""
    return linebreaksbr(str(value), autoescape=True)


def timeline_html(items: Iterable[Item]) -> SafeString:
    """What ``{% include "desk/_timeline.html" %}`` renders for ``timeline=items``."""
    note_tag = f'<span class="tag note-tag">{escape(_("internal"))}</span>'
    parts = []
    for item in items:
        iso, title, short = _at(item.at)
        actor = f"<strong>{conditional_escape(item.actor)}</strong>" if item.actor else ""
        body = f'<div class="ev-body">{_text(item.body)}</div>' if item.body else ""
        details = ""
        if item.details:
            details = ('<dl class="ev-details">'
                       + "".join(f"<dt>{conditional_escape(k)}</dt><dd>{_text(v)}</dd>" for k, v in item.details)
                       + "</dl>")
        parts.append(
            f'\n  <li class="ev ev-{conditional_escape(item.css or "system")}" data-kind="{conditional_escape(item.kind)}">'
            f'\n    <div class="ev-head">\n      {actor} {conditional_escape(item.title)}'
            f'\n      {note_tag if item.css == "note" else ""}'
            f'\n      <time datetime="{iso}" title="{title}">{short}</time>\n    </div>'
            f"\n    {body}\n    {details}\n  </li>\n"
        )
    if not parts:
        parts.append(f'\n  <li class="ev muted">{escape(_("Nothing has happened yet."))}</li>\n')
    return mark_safe('\n<ol class="timeline">\n' + "".join(parts) + "\n</ol>\n")


# Unbound forms' HTML by (form, language, anything else it shows — the reassign form's line choices). Bounded: a
# new line or a renamed one adds a key; the old ones are dropped when there are many.
_FIELDS: dict[tuple[Any, ...], SafeString] = {}
_FIELDS_MAX = 256


def fields_html(form: forms.Form) -> SafeString:
    """What ``{% include "desk/_fields.html" with form=form %}`` renders (a bound form: the input and errors)."""
    return mark_safe(render_to_string("desk/_fields.html", {"form": form}))


def unbound_fields_html(form_class: type[forms.Form], *, key: tuple[Any, ...] = (),
                        setup: Callable[[Any], None] | None = None) -> SafeString:
    """:func:`fields_html` of ``form_class()`` (after ``setup(form)``), rendered once per process and language
    and then reused; the form is not even built again (building one deep-copies its fields). ``key``: what the
    HTML depends on besides the class and the language (what ``setup`` puts in)."""
    full_key = (form_class, get_language(), *key)
    html = _FIELDS.get(full_key)
    if html is None:
        form = form_class()
        if setup is not None:
            setup(form)
        if len(_FIELDS) >= _FIELDS_MAX:
            _FIELDS.clear()
        html = _FIELDS[full_key] = fields_html(form)
    return html


# Words of the page by (language, msgid), translated and escaped once per process, and the labels of a model
# field's choices by (model, field, language): ``get_FOO_display()`` rebuilds a dict of all choices on each call.
_WORDS: dict[tuple[str | None, str], str] = {}
_LABELS: dict[tuple[type[Model], str, str | None], dict[Any, str]] = {}


# The page's words, looked up through content_html's t() (translated and escaped once per language). Listed here
# with gettext_noop because makemessages does not read the f-strings that use them: without this list it would
# drop them from the catalogue.
_PAGE_WORDS = (
    gettext_noop("Actions"),
    gettext_noop("Add internal note"),
    gettext_noop("Assignee"),
    gettext_noop("Claim this ticket"),
    gettext_noop("Escalations / bounces"),
    gettext_noop("Identifiers from the customer"),
    gettext_noop("Impact"),
    gettext_noop("Latest case summary"),
    gettext_noop("Line"),
    gettext_noop("No actions for you on this ticket right now."),
    gettext_noop("Opened"),
    gettext_noop("Organisation"),
    gettext_noop("Problem"),
    gettext_noop("Product"),
    gettext_noop("Queue"),
    gettext_noop("Routed by"),
    gettext_noop("SLA due"),
    gettext_noop("Send reply"),
    gettext_noop("Status"),
    gettext_noop("Tier"),
    gettext_noop("Time window"),
    gettext_noop("Timeline"),
    gettext_noop("breached"),
    gettext_noop("unassigned"),
)


def _word(lang: str | None, msgid: str) -> str:
    word = _WORDS.get((lang, msgid))
    if word is None:
        word = _WORDS[(lang, msgid)] = escape(_(msgid))
    return word


def _display(obj: Model, field: str, lang: str | None) -> str:
    """``obj.get_<field>_display()``, escaped."""
    labels = _LABELS.get((type(obj), field, lang))
    if labels is None:
        choices = type(obj)._meta.get_field(field).flatchoices
        labels = _LABELS[(type(obj), field, lang)] = {value: escape(label) for value, label in choices}
    value = getattr(obj, field)
    return labels[value] if value in labels else escape(value)


def _date(value: Any, fmt: str) -> str:
    """``{{ value|date:fmt }}`` for the two formats the page header uses."""
    at = timezone.localtime(value)
    if fmt == "Y-m-d H:i T":
        tz = at.tzinfo
        zone = "" if tz.utcoffset(at.replace(fold=not at.fold)) != tz.utcoffset(at) else str(tz.tzname(at))
        return f"{at:%Y-%m-%d %H:%M} {escape(zone)}"
    return f"{at:{fmt}}"


def _related(obj: Any, name: str) -> Any:
    """``obj.name`` as a template reads it: None for a missing object or a missing reverse one-to-one."""
    if obj is None:
        return None
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def _person(user: Any) -> str:
    """``{{ user.profile.display_name|default:user.username }}`` (escaped)."""
    if user is None:
        return ""
    profile = _related(user, "profile")
    return escape((profile.display_name if profile is not None else "") or user.username)


# The action cards of the side column: (action, details id, summary, hint, button class, button text).
_ACTIONS = (
    ("escalate", gettext_noop("Escalate to the next tier"),
     gettext_noop("The next tier needs a case summary it can act on: all six fields are required."),
     "warn wide", gettext_noop("Escalate")),
    ("return", gettext_noop("Return down a tier"), gettext_noop("A return is counted as a bounce; say what is missing."),
     "wide", gettext_noop("Return")),
    ("reassign", gettext_noop("Move to another line"), "", "wide", gettext_noop("Move")),
    ("resolve", gettext_noop("Resolve"), "", "ok wide", gettext_noop("Resolve ticket")),
)


def content_html(*, ticket: Any, allowed: set[str], has_actions: bool, forms_html: dict[str, SafeString],
                 open_form: str, timeline: SafeString, urls: dict[str, str],
                 identifiers: list[tuple[str, str]], summaries: list[Any], csrf_token: str) -> SafeString:
    """What the ticket template's ``content`` block rendered (the template before this module:
    ``tests/data/ticket_page/ticket_reference.html``): the header facts, identifiers, timeline, compose forms,
    action cards and the latest case summary."""
    lang = get_language()

    def t(msgid: str) -> str:
        return _word(lang, msgid)

    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
    assignee = ticket.assignee
    line = ticket.line
    org = ticket.organisation
    out = [
        f'\n<div class="ticket-head">\n  <div class="crumbs"><a href="{urls["queue"]}">{t("Queue")}</a> / '
        f'<span class="ref">{escape(ticket.ref)}</span></div>\n'
        f'  <h1><span class="sev sev-{escape(ticket.severity)}">{escape(ticket.severity)}</span>\n'
        f' {escape(ticket.subject)}</h1>\n  <dl class="facts" id="ticket-facts">\n'
        f'    <div><dt>{t("Status")}</dt><dd><span class="status st-{escape(ticket.status)}" '
        f'data-status="{escape(ticket.status)}">{_display(ticket, "status", lang)}</span></dd></div>\n'
        f'    <div><dt>{t("Organisation")}</dt><dd>{escape(org)} '
        f'<span class="muted">({_display(org, "tier", lang)})</span></dd></div>\n'
        f'    <div><dt>{t("Product")}</dt><dd>{escape(ticket.product)}</dd></div>\n'
        f'    <div><dt>{t("Line")}</dt><dd data-line="{escape(line.code) if line is not None else ""}">'
        f'{escape(line)}</dd></div>\n'
        f'    <div><dt>{t("Tier")}</dt><dd><span class="tier" data-tier="{escape(ticket.tier)}">'
        f'{escape(ticket.tier)}</span></dd></div>\n'
        f'    <div><dt>{t("Assignee")}</dt><dd data-assignee="{escape(assignee.username) if assignee else ""}">'
        + (_person(assignee) if assignee else f'<span class="muted">{t("unassigned")}</span>') + "</dd></div>\n"
        f'    <div><dt>{t("Routed by")}</dt><dd data-rule="{escape(ticket.routed_rule)}">'
        f'<code>{escape(ticket.routed_rule or "—")}</code>'
        + (f' <span class="muted">v{ticket.rules_version}</span>' if ticket.rules_version else "") + "</dd></div>\n"
        f'    <div><dt>{t("Opened")}</dt><dd title="{_date(ticket.created_at, "Y-m-d H:i T")}">'
        f'{_date(ticket.created_at, "%Y-%m-%d %H:%M")}</dd></div>\n    '
    ]
    sla = _related(ticket, "sla")
    if sla is not None and sla.due_at and ticket.is_open:
        if sla.breached:
            left = t("breached")
        else:
            left = _("in %(left)s") % {"left": escape(timeuntil_filter(sla.due_at))}
        out.append(f'<div><dt>{t("SLA due")}</dt><dd class="{"hot" if sla.breached else ""}" '
                   f'title="{_date(sla.due_at, "Y-m-d H:i T")}">{left}</dd></div>')
    out.append("\n    ")
    if ticket.escalations or ticket.bounces:
        out.append(f'<div><dt>{t("Escalations / bounces")}</dt><dd>{ticket.escalations} / {ticket.bounces}</dd></div>')
    out.append('\n  </dl>\n</div>\n\n<div class="ticket-body">\n  <section class="main-col">\n    ')
    if identifiers:
        rows = "".join(f"<dt>{escape(label)}</dt><dd><code>{escape(value)}</code></dd>" for label, value in identifiers)
        out.append(f'\n    <div class="card identifiers">\n      <h2>{t("Identifiers from the customer")}</h2>\n'
                   f'      <dl class="kv">{rows}</dl>\n    </div>\n    ')
    out.append(f'\n    <div class="card">\n      <h2>{t("Timeline")}</h2>\n      {timeline}\n    </div>\n    ')
    if "reply" in allowed or "note" in allowed:
        out.append('\n    <div class="card compose">\n      <div class="compose-tabs">\n        ')
        if "reply" in allowed:
            out.append(f'\n        <form method="post" action="{urls["reply"]}" class="reply-form" id="form-reply">'
                       f'{csrf}\n          {forms_html["reply"]}\n          <button type="submit" class="primary">'
                       f'{t("Send reply")}</button>\n        </form>\n        ')
        out.append("\n        ")
        if "note" in allowed:
            out.append(f'\n        <form method="post" action="{urls["note"]}" class="note-form" id="form-note">'
                       f'{csrf}\n          {forms_html["note"]}\n          <button type="submit">'
                       f'{t("Add internal note")}</button>\n        </form>\n        ')
        out.append("\n      </div>\n    </div>\n    ")
    out.append(f'\n  </section>\n\n  <aside class="side-col">\n    <div hx-get="{urls["sla_panel"]}" '
               f'hx-trigger="load" hx-swap="outerHTML"></div>\n    <div class="card actions-card">\n'
               f'      <h2>{t("Actions")}</h2>\n      ')
    if "claim" in allowed:
        out.append(f'\n      <form method="post" action="{urls["claim"]}" id="form-claim">{csrf}\n'
                   f'        <button type="submit" class="primary wide">{t("Claim this ticket")}</button>\n'
                   f'      </form>\n      ')
    for action, summary, hint, button_class, button in _ACTIONS:
        out.append("\n      ")
        if action in allowed:
            hint_html = f'\n          <p class="hint">{t(hint)}</p>' if hint else ""
            out.append(f'\n      <details class="action" id="act-{action}" {"open" if open_form == action else ""}>\n'
                       f'        <summary>{t(summary)}</summary>\n'
                       f'        <form method="post" action="{urls[action]}" id="form-{action}">{csrf}{hint_html}\n'
                       f'          {forms_html[action]}\n'
                       f'          <button type="submit" class="{button_class}">{t(button)}</button>\n'
                       f'        </form>\n      </details>\n      ')
    out.append("\n      ")
    if not has_actions:
        out.append(f'<p class="muted">{t("No actions for you on this ticket right now.")}</p>')
    out.append("\n    </div>\n    ")
    if summaries:
        s = summaries[0]
        out.append(f'\n    <div class="card">\n      <h2>{t("Latest case summary")}</h2>\n      \n'
                   f'      <p class="muted">{escape(s.from_tier)} → {escape(s.to_tier)} · {_person(s.author)} · '
                   f'{_date(s.created_at, "%m-%d %H:%M")}</p>\n      <dl class="kv small">\n'
                   f'        <dt>{t("Problem")}</dt><dd>{escape(s.problem)}</dd>\n'
                   f'        <dt>{t("Impact")}</dt><dd>{escape(s.impact)}</dd>\n'
                   f'        <dt>{t("Time window")}</dt><dd>{escape(s.time_window)}</dd>\n      </dl>\n      \n'
                   f'    </div>\n    ')
    out.append("\n      ")
    if "view_internal" in allowed:
        out.append(f'<div hx-get="{urls["similar"]}" hx-trigger="load" hx-swap="outerHTML"></div>')
    out.append(f'\n    <div hx-get="{urls["files"]}" hx-trigger="load" hx-swap="outerHTML"></div>\n'
               f'  </aside>\n</div>\n')
    return mark_safe("".join(out))
