"""Shared Playwright helpers for the desk's browser tests: Debian's Chromium against pytest-django's live server.

The fixtures ``chromium`` (one browser for the whole session) and ``desk_page`` are registered once in
``tests/conftest.py`` — re-exporting them per module would start a second Playwright while the first still runs::

    from browser import login, make_user, screenshot

    @pytest.mark.browser
    def test_something(desk_page, live_server):
        make_user(username="amy", role="customer", organisation=org)
        login(desk_page, live_server.url, "amy")
        ...

``live_server`` (pytest-django) runs the desk in a thread on a transactional test database, so rows created in
the test are visible to the server and vice versa. Never run ``playwright install``: the browser is Debian's
``chromium`` package (``.ci/run`` installs it); without it the test fails in CI and skips elsewhere.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services import require_binary

# Flags that keep Chromium quiet and offline in a container: no sandbox (we run as root), no GPU, no
# background fetches (updates, sync, QUIC probes) that would wait for an internet that is not there.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1366, "height": 860}
# `make screenshots` (CASEWORK_SCREENSHOTS=1) refreshes the README's pictures; an ordinary test run writes its
# screenshots to a scratch folder, so running the suite never leaves the work tree changed.
SCREENSHOTS = (
    Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    if os.environ.get("CASEWORK_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "casework-screenshots"
)
DEFAULT_PASSWORD = "desk-pass-123"


def chromium_path() -> str:
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return require_binary("chromium")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole session (each test gets its own context, so no shared cookies)."""
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test thread; Django then refuses ORM calls from the
    # test body ("cannot call this from an async context") although they are plain synchronous calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def desk_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser page (own cookies) with the live server running; ``page.base_url`` is its address."""
    context = chromium.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base_url = live_server.url  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def login(page: Any, base_url: str, username: str, password: str = DEFAULT_PASSWORD) -> None:
    """Sign in through the desk's login form (a fresh session: earlier cookies are dropped first)."""
    # Let the previous page's htmx panels finish first: an answer still in flight could set the old session's
    # cookies again after they were cleared, and the login POST would then carry a stale CSRF cookie.
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    # Wait for the POST's navigation itself: waiting for a load state right after the click can return while
    # the browser is still on the login page, before the answer arrived.
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click("form.login button[type=submit]")
    if "/login/" in page.url:
        errors = page.locator(".errorlist, .flash").all_inner_texts()
        raise AssertionError(f"login as {username!r} failed: still on {page.url}: {errors}")


def logout(page: Any) -> None:
    page.context.clear_cookies()


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save ``<name>.png`` under SCREENSHOTS (``docs/screenshots`` with CASEWORK_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def make_user(
    *,
    username: str,
    role: str,
    password: str = DEFAULT_PASSWORD,
    organisation: Any | None = None,
    lines: Iterable[Any] = (),
    readiness: Iterable[Any] = (),
    display_name: str = "",
    on_shift_always: bool = False,
    language: str = "en",
) -> Any:
    """A desk user with a profile. ``lines``/``readiness`` take Line/Product objects or codes.

    ``on_shift_always`` gives the engineer a 24h shift every day, so automatic assignment may pick them.
    """
    from datetime import time

    from django.contrib.auth import get_user_model

    from casework.desk.team.models import Line, Product, Profile, Shift

    user = get_user_model().objects.create_user(username=username, password=password)
    profile = Profile.objects.create(
        user=user, role=role, organisation=organisation, display_name=display_name or username, language=language
    )
    line_objs = [Line.objects.get(code=x) if isinstance(x, str) else x for x in lines]
    product_objs = [Product.objects.get(code=x) if isinstance(x, str) else x for x in readiness]
    if line_objs:
        profile.lines.set(line_objs)
    if product_objs:
        profile.readiness.set(product_objs)
    if on_shift_always:
        for weekday in range(7):
            Shift.objects.create(engineer=user, weekday=weekday, start=time(0), end=time(23, 59, 59), timezone="UTC")
    return user


def publish_rules(rules: list[dict[str, Any]], *, version: int = 1) -> Any:
    """Publish a dispatch rule set directly (the routing work's editor does this through its services).

    Clears the dispatcher's compiled-rules cache: test databases reuse version numbers.
    """
    from django.utils import timezone

    from casework.desk.routing import dispatch
    from casework.desk.routing.models import RuleSet

    for name in dir(dispatch):
        cached = getattr(dispatch, name)
        if callable(getattr(cached, "cache_clear", None)):
            cached.cache_clear()
    RuleSet.objects.filter(state="published").update(state="retired")
    return RuleSet.objects.create(version=version, state="published", rules=rules, published_at=timezone.now())


# The rules the desk tests publish: the seed's OSS 403 rule, then product lines, everything else to fallback.
DEMO_RULES: list[dict[str, Any]] = [
    {"name": "oss-403-acl", "when": {"products": ["oss"], "keywords": ["403", "AccessDenied"]},
     "then": {"line": "storage", "tags": ["acl"]}},
    {"name": "cdn-products", "when": {"products": ["cdn", "dcdn"]}, "then": {"line": "cdn"}},
    {"name": "storage-products", "when": {"products": ["oss", "nas"]}, "then": {"line": "storage"}},
    {"name": "compute-products", "when": {"products": ["ecs", "ess"]}, "then": {"line": "compute"}},
    {"name": "database-products", "when": {"products": ["rds-mysql", "rds-postgresql", "mongodb", "redis"]},
     "then": {"line": "database"}},
    {"name": "network-products", "when": {"products": ["slb", "vpc", "vpn", "cen", "expressconnect", "eip"]},
     "then": {"line": "network"}},
]
