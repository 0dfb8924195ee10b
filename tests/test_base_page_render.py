"""The top bar of every desk page written in Python (``desk_tags.desk_user_bar``, ``desk_url``) shows exactly what
``desk/base.html`` showed with ``{% url %}``, ``{% csrf_token %}`` and its variable look-ups.

The reference is that markup as it was (``tests/data/base_page/user_bar_reference.html``), rendered with the same
request: signed out, a customer, engineers with and without a display name, a user without a profile, a superuser
without a role, in English and Chinese, on a path whose query string needs escaping. The CSRF token is masked anew
on every read, so both are compared with it replaced by a marker (after checking it is there).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.template import engines
from django.templatetags.static import static
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from casework.desk.team.models import Profile, Role
from casework.desk.team.reference import ensure_reference_data
from desk_fixtures import make_user

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).parent / "data" / "base_page" / "user_bar_reference.html"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _users() -> list[Any]:
    ensure_reference_data()
    customer = make_user("cust <a>", Role.CUSTOMER)
    named = make_user("t0_named", Role.T0, lines=["storage"])
    Profile.objects.filter(user=named).update(display_name='Chen "T0" & co')
    plain = make_user("l1_plain", Role.L1, lines=["storage"])
    no_profile = get_user_model().objects.create_user(username="robot", password="pw")
    superuser = get_user_model().objects.create_superuser(username="root", password="pw")
    return [AnonymousUser(), customer, named, plain, no_profile, superuser,
            make_user("lead", Role.LEAD, lines=["storage"])]


def _render(source: str, user: Any, path: str) -> str:
    request = RequestFactory().get(path)
    request.user = user
    return engines["django"].from_string(source).render({}, request=request)


def test_user_bar_equals_the_markup_it_replaced() -> None:
    compared = 0
    for user in _users():
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                path = '/queue/?tab=lines&q=<b>"x"&severity=P1'
                expected = _render(REFERENCE.read_text(), user, path)
                got = _render("{% load desk_tags %}    {% desk_user_bar %}\n", user, path)
            assert len(TOKEN.findall(expected)) == (2 if user.is_authenticated else 1)
            assert TOKEN.sub("TOKEN", got) == TOKEN.sub("TOKEN", expected)
            compared += 1
    assert compared == 14


def test_pages_show_the_user_bar_and_home_link() -> None:
    ensure_reference_data()
    user = make_user("t0_page", Role.T0, lines=["storage"])
    Profile.objects.filter(user=user).update(display_name="Wang <T0>")
    c = Client()
    c.force_login(user)
    page = c.get(reverse("queue") + "?tab=mine").content.decode()
    assert f'<a class="brand" href="{reverse("home")}">' in page
    assert '<span class="who" title="t0_page">Wang &lt;T0&gt; <span class="role">' in page
    assert f'<form action="{reverse("logout")}" method="post" class="logout"><input type="hidden"' in page
    assert 'name="next" value="/queue/?tab=mine"' in page
    assert f'<link rel="stylesheet" href="{static("desk/desk.css")}">' in page
    assert f'<script src="{static("desk/htmx.min.js")}" defer></script>' in page
    login = Client().get(reverse("login")).content.decode()
    assert 'class="who"' not in login and 'class="lang"' in login
