"""Small template helpers for the desk pages (percentages, role checks, query strings)."""

from __future__ import annotations

from typing import Any

from django import template

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
