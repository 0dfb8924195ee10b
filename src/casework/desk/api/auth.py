"""API authentication: a bearer token for scripts, the session cookie for the desk's own pages.

Both only answer "who is this"; what they may do is decided by ``casework.desk.access.permissions`` alone.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from casework.desk.access.tokens import user_for_token


class BearerToken(HttpBearer):
    """``Authorization: Bearer cw_…`` as printed by ``casework desk token USERNAME``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        return user_for_token(token)


# Order matters only for speed: a request carrying a token never touches the session.
API_AUTH = [BearerToken(), django_auth]


def actor(request: HttpRequest) -> Any:
    """The authenticated user of an API request, whichever way they authenticated."""
    return request.auth  # type: ignore[attr-defined]
