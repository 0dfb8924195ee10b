"""``{% url %}`` for the desk's hot pages at the cost of one ``reverse`` per URL name and process.

``reverse`` walks the URL resolver on every call (~20-30 µs); the desk's pages link the same few URLs on every
request, and the URL configuration does not change while serving. A ticket ref is ``[A-Za-z0-9]``: nothing to quote,
so a URL with a ref is the reversed URL's head and tail around it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

# By (script prefix, with a ref, URL name, the other arguments): the URL maker for a ref, or the URL.
_URLS: dict[tuple[Any, ...], Any] = {}
_REF_MARKER = "REF0MARKER"


def url_maker(name: str, *args: str) -> Callable[[str], str]:
    """The function ``ref -> {% url name ref *args %}`` (escaped, as the tag writes it), for many refs of a page."""
    key = (get_script_prefix(), True, name, *args)
    maker = _URLS.get(key)
    if maker is None:
        head, tail = reverse(name, args=[_REF_MARKER, *args]).split(_REF_MARKER)
        head, tail = conditional_escape(head), conditional_escape(tail)
        maker = _URLS[key] = lambda r: SafeString(f"{head}{r}{tail}")
    return maker


def url_for(name: str, ref: str = "", *args: str) -> SafeString:
    """``{% url name ref *args %}`` (``{% url name %}`` without a ref), escaped as the tag writes it into a page."""
    if ref:
        return url_maker(name, *args)(ref)  # type: ignore[return-value]
    key = (get_script_prefix(), False, name, *args)
    url = _URLS.get(key)
    if url is None:
        url = _URLS[key] = SafeString(conditional_escape(reverse(name, args=list(args) or None)))
    return url  # type: ignore[return-value]
