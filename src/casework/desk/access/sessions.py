"""Database sessions (Django's ``db`` engine), with the session read by one SQL statement compiled once.

Every page request reads its session first; Django's engine builds and compiles that ``SELECT`` anew each time.
Here it is a :class:`~casework.desk.prepared.PreparedQuery` on the session key, and the expiry is compared in
Python — the same rows are accepted (``expire_date > now``), stored sessions and cookies are unchanged, so the
setting can be switched either way without logging anyone out. ``SESSION_ENGINE = "casework.desk.access.sessions"``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from casework.desk.prepared import PreparedQuery

_SESSION = PreparedQuery(lambda key: Session.objects.filter(session_key=key)[:1], "SESSIONKEY0MARKER")


class SessionStore(DbSessionStore):
    def _get_session_from_db(self) -> Any | None:
        if self.get_model_class() is not Session or not self.session_key:
            return super()._get_session_from_db()
        rows = _SESSION.models(self.session_key)
        if rows and rows[0].expire_date > timezone.now():
            return rows[0]
        self._session_key = None
        return None
