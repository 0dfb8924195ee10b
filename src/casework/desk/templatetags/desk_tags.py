"""Small template helpers for the desk pages (percentages, role checks, query strings)."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from casework.desk.access import permissions
from casework.desk.team.models import Role
from casework.desk.views.urlcache import url_for

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


@register.simple_tag
def desk_url(name: str) -> SafeString:
    """``{% url name %}`` reversed once per process (``views/urlcache.py``): every page links home."""
    return url_for(name)


_ROLE_LABELS: dict[tuple[str | None, str], str] = {}


def _role_label(value: str) -> str:
    """``profile.get_role_display()``, which rebuilds a dict of the choices on every call; once per language here."""
    key = (get_language(), value)
    label = _ROLE_LABELS.get(key)
    if label is None:
        label = _ROLE_LABELS[key] = str(dict(Role.choices).get(value, value))
    return label


_STATIC: dict[str, str] = {}


@register.simple_tag
def desk_static(path: str) -> str:
    """``{% static path %}`` once per process: the storage's hashed names do not change while serving."""
    url = _STATIC.get(path)
    if url is None:
        url = _STATIC[path] = static(path)
    return url


def _csrf_input(context: Any) -> str:
    """``{% csrf_token %}``."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{conditional_escape(token)}">'


@register.simple_tag(takes_context=True)
def desk_user_bar(context: Any) -> SafeString:
    """The top bar's language switch and the signed-in user with the sign-out button, as base.html wrote them with
    ``{% url %}``, ``{% csrf_token %}`` and a dozen variable look-ups (a fifth of a queue page's template CPU).
    ``tests/test_base_page_render.py`` compares it with that markup (``tests/data/base_page/``)."""
    request = context.get("request")
    user = context.get("user")
    lang = get_language()
    csrf = _csrf_input(context)
    path = escape(request.get_full_path()) if request is not None else ""
    html = (
        f'<form class="lang" action="{url_for("set_language")}" method="post">{csrf}\n'
        f'      <input type="hidden" name="next" value="{path}">\n'
        f'      <button type="submit" name="language" value="en" class="{"on" if lang == "en" else ""}">EN</button>\n'
        f'      <button type="submit" name="language" value="zh-hans" class="{"on" if lang == "zh-hans" else ""}">'
        f'中文</button>\n'
        f'    </form>\n'
        f'    '
    )
    if user is not None and user.is_authenticated:
        username = user.get_username()
        try:
            profile = user.profile
        except (ObjectDoesNotExist, AttributeError):  # the template read a missing profile as ""
            profile = None
        name = (profile.display_name if profile is not None else "") or username
        role_name = permissions.role_of(user) or ""
        role_html = ""
        if role_name:
            label = (_role_label(profile.role) if profile is not None else "") or role_name
            role_html = f' <span class="role">{conditional_escape(label)}</span>'
        sign_out = conditional_escape(_("Sign out"))  # outside the f-string: makemessages does not read f-strings
        html += (
            f'\n      <span class="who" title="{conditional_escape(username)}">{conditional_escape(name)}{role_html}</span>\n'
            f'      <form action="{url_for("logout")}" method="post" class="logout">{csrf}'
            f'<button type="submit">{sign_out}</button></form>\n'
            f'    '
        )
    return mark_safe(html)
