"""Small template helpers for the desk pages (percentages, role checks, query strings)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from casework.desk.access import permissions

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.125 -> "12.5%"; no denominator -> "—"."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}%"


@register.filter
def role(user: Any) -> str:
    return permissions.role_of(user) or ""


@register.simple_tag
def can(user: Any, action: str) -> bool:
    return permissions.can(user, action)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


# (role, language, url name, view name, app name) -> the navigation's HTML. Everything the navigation shows is a
# function of these (links are reversed from the URL configuration, which does not change while serving), and
# rendering it — a dozen ``{% url %}`` and ``resolver_match`` look-ups — was a noticeable part of every page.
_NAV_CACHE: dict[tuple[str, str | None, str | None, str | None, str | None], SafeString] = {}


@register.simple_tag(takes_context=True)
def desk_nav(context: Any) -> SafeString:
    request = context.get("request")
    role_name = permissions.role_of(context.get("user")) or ""
    match = getattr(request, "resolver_match", None)
    key = (role_name, get_language(), getattr(match, "url_name", None), getattr(match, "view_name", None),
           getattr(match, "app_name", None))
    html = _NAV_CACHE.get(key)
    if html is None:
        html = mark_safe(render_to_string("desk/_nav.html", {"r": role_name, "request": request}))
        if len(_NAV_CACHE) > 1000:
            _NAV_CACHE.clear()
        _NAV_CACHE[key] = html
    return html
