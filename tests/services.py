"""Access to the machine's real services for tests.

In CI (``CI=true``) a test that needs PostgreSQL, MariaDB, Redis or a Debian binary must run against it: a
missing service fails the test. Elsewhere the test skips with a reason that says what is missing.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

POSTGRES_URL = os.environ.get("CASEWORK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
REDIS_URL = os.environ.get("CASEWORK_TEST_REDIS", "redis://127.0.0.1:6379/0")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere — never a silent skip."""
    if IN_CI:
        pytest.fail(f"required in CI but unavailable: {reason}")
    pytest.skip(reason=f"unavailable here: {reason}")


def require_port(name: str, host: str, port: int) -> None:
    if not port_open(host, port):
        unavailable(f"{name} is not listening on {host}:{port}")


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"the {name!r} binary is not installed")
    assert path is not None
    return path
