"""The authentication backend: Django's ``ModelBackend`` (passwords, active flag, permissions), except that the
user of a session is read together with their desk profile.

Every desk page needs the profile (role, tier, time zone, lines) right after the user; reading both in one query
saves a query on every request (the role and time zone are read before the view runs)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ProfileBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any | None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("profile").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
