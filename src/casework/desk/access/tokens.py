"""API bearer tokens: random, shown once, stored as SHA-256 so a database leak does not leak tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from casework.desk.team.models import ApiToken

PREFIX = "cw_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, user: Any, label: str = "") -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=_digest(token), label=label)
    return token


def user_for_token(token: str) -> Any | None:
    if not token.startswith(PREFIX):
        return None
    row = ApiToken.objects.select_related("user", "user__profile").filter(digest=_digest(token)).first()
    if row is None or not row.user.is_active:
        return None
    # Touch at most once a minute: a busy API client should not turn every read into a write.
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
