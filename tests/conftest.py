from __future__ import annotations

import sys
from pathlib import Path

# Make tests/services.py importable as ``services`` from every test file.
sys.path.insert(0, str(Path(__file__).parent))

DATA = Path(__file__).parent / "data"


import pytest  # noqa: E402


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
