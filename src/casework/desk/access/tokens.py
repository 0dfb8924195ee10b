"""API bearer tokens: random, shown once, stored as SHA-256 so a database leak does not leak tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from casework.desk.prepared import PreparedQuery
from casework.desk.team.models import ApiToken

PREFIX = "cw_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, user: Any, label: str = "") -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=_digest(token), label=label)
    return token


# Every API request: compiled once per connection (``PreparedQuery``); digests are unique, so one row at most.
_BY_DIGEST = PreparedQuery(
    lambda digest: ApiToken.objects.select_related("user", "user__profile").filter(digest=digest)[:1],
    "DIGEST0MARKER",
)


def user_for_token(token: str) -> Any | None:
    if not token.startswith(PREFIX):
        return None
    rows = _BY_DIGEST.models(_digest(token))
    row = rows[0] if rows else None
    if row is None or not row.user.is_active:
        return None
    # Touch at most once a minute: a busy API client should not turn every read into a write.
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
