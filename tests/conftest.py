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
