"""The authentication backend: Django's ``ModelBackend`` (passwords, active flag, permissions), except that the
user of a session is read together with their desk profile.

Every desk page needs the profile (role, tier, time zone, lines) right after the user; reading both in one query
saves a query on every request (the role and time zone are read before the view runs)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from casework.desk.prepared import PreparedQuery

# Compiled once per connection (``PreparedQuery``): this runs on every request.
_USER = PreparedQuery(lambda pk: get_user_model()._default_manager.select_related("profile").filter(pk=pk)[:1],
                      -918273645)


class ProfileBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any | None:
        try:
            pk = get_user_model()._meta.pk.to_python(user_id)
        except Exception:  # noqa: BLE001 — a malformed id in a session: nobody, as ModelBackend answers
            return None
        rows = _USER.models(pk)
        if not rows:
            return None
        user = rows[0]
        return user if self.user_can_authenticate(user) else None
