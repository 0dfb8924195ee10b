"""Parts of the engineer's ticket page written in Python instead of Django templates, with the same markup.

Why: at a million tickets the page's CPU went to template nodes — the timeline (``desk/_timeline.html``: ~10
events × a dozen nodes and three ``date`` filters each) and the action forms (``desk/_fields.html`` and Django's
widget templates: one template render per field). Here the timeline is one f-string per event (words translated
once per page, everything from the database escaped), an unbound form's HTML is rendered by the template once per
process and language and then reused (it does not depend on the request: the CSRF token is outside
``_fields.html``), and the page's URLs come from one ``reverse`` per URL name. ``tests/test_ticket_page_render.py``
checks each part against what the templates render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
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


def fields_html(form: forms.Form, *, key: tuple[Any, ...] | None = None) -> SafeString:
    """What ``{% include "desk/_fields.html" with form=form %}`` renders. An unbound form with a ``key`` (what
    its HTML depends on besides its class and the language) is rendered once per process; a bound one (errors,
    the user's input) every time."""
    if form.is_bound or key is None:
        return mark_safe(render_to_string("desk/_fields.html", {"form": form}))
    full_key = (type(form), get_language(), *key)
    html = _FIELDS.get(full_key)
    if html is None:
        if len(_FIELDS) >= _FIELDS_MAX:
            _FIELDS.clear()
        html = _FIELDS[full_key] = mark_safe(render_to_string("desk/_fields.html", {"form": form}))
    return html


# URL makers by (script prefix, URL name, the other arguments): ``reverse`` once, then string joins.
_URLS: dict[tuple[Any, ...], Callable[[str], str]] = {}
_REF_MARKER = "REF0MARKER"


def url_for(name: str, ref: str = "", *args: str) -> str:
    """``{% url name ref *args %}`` (``{% url name %}`` without a ref) for a ticket ref ([A-Za-z0-9]: nothing to
    quote), escaped as the tag writes it into a page."""
    key = (get_script_prefix(), name, *args)
    maker = _URLS.get(key)
    if maker is None:
        if ref:
            head, tail = reverse(name, args=[_REF_MARKER, *args]).split(_REF_MARKER)
        else:
            head, tail = reverse(name, args=list(args) or None), ""
        head, tail = conditional_escape(head), conditional_escape(tail)
        maker = _URLS[key] = lambda r: f"{head}{r}{tail}"
    return mark_safe(maker(ref))
