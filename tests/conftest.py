from __future__ import annotations

import sys
from pathlib import Path

# Make tests/services.py importable as ``services`` from every test file.
sys.path.insert(0, str(Path(__file__).parent))

DATA = Path(__file__).parent / "data"

# The browser fixtures live here, once: a session-scoped fixture re-exported by several modules would be several
# fixtures, and a second sync Playwright cannot start while the first one runs.
import pytest  # noqa: E402

from browser import chromium, desk_page  # noqa: E402,F401


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    """PBKDF2 is slow on purpose; tests create many users, so they hash with MD5 (never in production)."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test that touches the desk database is a "desk" test, so `make test` can rerun exactly those on
    # PostgreSQL without each file having to remember a marker.
    for item in items:
        if item.get_closest_marker("django_db") is not None:
            item.add_marker(pytest.mark.desk)


@pytest.fixture
def media_root(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Uploaded files go to a fresh folder per test, never into the checkout's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
