"""Opaque keyset cursors over (created_at, id): stable under inserts, O(1) per page whatever the depth.

The cursor is signed so that clients treat it as opaque and a tampered one is refused (422 on ``cursor``)
instead of silently paging from somewhere else.
"""

from __future__ import annotations

from datetime import datetime

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from casework.desk.errors import DeskError

_SALT = "casework.desk.api.cursor"


def encode(*, created_at: datetime, pk: int) -> str:
    return signing.dumps([created_at.isoformat(), pk], salt=_SALT, compress=True)


def decode(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, pk = signing.loads(cursor, salt=_SALT)
        return datetime.fromisoformat(stamp), int(pk)
    except (signing.BadSignature, ValueError, TypeError):
        raise DeskError({"cursor": [_("Invalid cursor; use the 'next' value of the previous page.")]}, status=422) from None


def after(qs: QuerySet, cursor: str | None) -> QuerySet:
    """The rows after ``cursor`` in the order (-created_at, -id)."""
    if not cursor:
        return qs
    return after_key(qs, *decode(cursor))


def after_key(qs: QuerySet, created_at: datetime, pk: int) -> QuerySet:
    """The rows after the row (created_at, pk) in the order (-created_at, -id)."""
    return qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
