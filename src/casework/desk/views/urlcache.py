"""``{% url %}`` for the desk's hot pages at the cost of one ``reverse`` per URL name and process.

``reverse`` walks the URL resolver on every call (~20-30 µs); the desk's pages link the same few URLs on every
request, and the URL configuration does not change while serving. A ticket ref is ``[A-Za-z0-9]``: nothing to quote,
so a URL with a ref is the reversed URL's head and tail around it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

# URL makers by (script prefix, with a ref, URL name, the other arguments).
_URLS: dict[tuple[Any, ...], Callable[[str], str]] = {}
_REF_MARKER = "REF0MARKER"


def url_for(name: str, ref: str = "", *args: str) -> SafeString:
    """``{% url name ref *args %}`` (``{% url name %}`` without a ref), escaped as the tag writes it into a page."""
    key = (get_script_prefix(), bool(ref), name, *args)
    maker = _URLS.get(key)
    if maker is None:
        if ref:
            head, tail = reverse(name, args=[_REF_MARKER, *args]).split(_REF_MARKER)
        else:
            head, tail = reverse(name, args=list(args) or None), ""
        head, tail = conditional_escape(head), conditional_escape(tail)
        maker = _URLS[key] = lambda r: f"{head}{r}{tail}"
    return mark_safe(maker(ref))
