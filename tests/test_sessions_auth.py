"""The desk's session engine and auth backend read with SQL compiled once, and accept exactly what Django's do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.desk.access.backends import ProfileBackend
from casework.desk.access.sessions import SessionStore
from casework.desk.team.models import Profile, Role

pytestmark = pytest.mark.django_db


def test_sessions_load_like_djangos_and_refuse_expired_or_unknown_keys() -> None:
    store = SessionStore()
    store["k"] = "v"
    store.create()
    assert SessionStore(store.session_key).load() == DjangoStore(store.session_key).load() == {"k": "v"}
    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(store.session_key)
    assert expired.load() == DjangoStore(store.session_key).load() == {}
    assert expired.session_key is None  # a new session would be started, as Django does
    assert SessionStore("nosuchsessionkey0000000000000000").load() == {}


def test_backend_loads_the_profile_with_the_user_and_refuses_inactive_users() -> None:
    user = get_user_model().objects.create_user(username="eng", password="pw")
    Profile.objects.create(user=user, role=Role.T0, display_name="Eng One")
    got = ProfileBackend().get_user(user.pk)
    assert got == user and got.profile.display_name == "Eng One"
    assert ProfileBackend().get_user(str(user.pk)) == user  # session ids are strings
    assert ProfileBackend().get_user(10**9) is None
    assert ProfileBackend().get_user("not-a-number") is None
    user.is_active = False
    user.save()
    assert ProfileBackend().get_user(user.pk) is None


def test_login_logout_through_the_pages_uses_them() -> None:
    user = get_user_model().objects.create_user(username="eng2", password="pw")
    Profile.objects.create(user=user, role=Role.T0)
    c = Client()
    assert c.post(reverse("login"), {"username": "eng2", "password": "pw"}).status_code == 302
    assert c.session["_auth_user_backend"] == "casework.desk.access.backends.ProfileBackend"
    assert c.get(reverse("queue")).status_code == 200
    c.post(reverse("logout"))
    assert c.get(reverse("queue")).status_code == 302  # back to the login page
