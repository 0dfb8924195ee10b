"""Glue every page shares: turning the permission module's refusals into HTTP answers, and service errors into
form errors next to the fields they are about."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from casework.desk.access import permissions
from casework.desk.errors import DeskError, NotAllowed


def desk_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required; a ``NotAllowed`` from the permission module becomes 404 (invisible) or 403 (visible)."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _activate_timezone(request.user)
        try:
            return view(request, *args, **kwargs)
        except NotAllowed as exc:
            if exc.status == 404:
                raise Http404(exc.errors["__all__"][0]) from None
            raise PermissionDenied(exc.errors["__all__"][0]) from None

    return wrapper


def _activate_timezone(user: Any) -> None:
    """Show times (and read datetime inputs) in the person's own time zone; the database stays in UTC."""
    profile = getattr(user, "profile", None)
    name = getattr(profile, "timezone", "") or ""
    try:
        zone = ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        timezone.deactivate()
    else:
        timezone.activate(zone)


def require(user: Any, action: str) -> None:
    """A global (not per-ticket) permission check; raises ``NotAllowed`` for :func:`desk_view` to answer 403."""
    permissions.require(user, action)


def apply_errors(form: forms.Form, exc: DeskError) -> forms.Form:
    """Put a service's field errors on the form fields of the same name; the rest become form-wide errors."""
    for name, messages in exc.errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
    return form


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def role_of(user: Any) -> str | None:
    return permissions.role_of(user)


allowed_actions = permissions.allowed_actions  # one visibility check per ticket, then the tables
