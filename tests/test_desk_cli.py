"""`casework desk …` end to end in a fresh working directory: migrate, a small demo, a token that works, serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CASEWORK = [sys.executable, "-m", "casework.cli"]


def run(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run(CASEWORK + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def desk_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("desk")
    assert run(["desk", "migrate"], home).returncode == 0
    done = run(["desk", "demo", "--tickets", "60", "--weeks", "2"], home)
    assert done.returncode == 0, done.stderr
    assert "60 tickets" in done.stdout
    return home


def test_demo_if_empty_leaves_an_existing_desk_alone(desk_home: Path) -> None:
    again = run(["desk", "demo", "--if-empty"], desk_home)
    assert again.returncode == 0 and "already has tickets" in again.stdout


def test_token_for_an_unknown_user_is_a_one_line_error(desk_home: Path) -> None:
    out = run(["desk", "token", "nobody"], desk_home)
    assert out.returncode == 2
    assert "no such user: nobody" in out.stderr and "Traceback" not in out.stderr


def test_serve_answers_the_api_with_a_printed_token(desk_home: Path) -> None:
    token = run(["desk", "token", "t0.li"], desk_home)
    assert token.returncode == 0, token.stderr
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    server = subprocess.Popen(CASEWORK + ["desk", "serve", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
                              cwd=desk_home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/tickets?limit=2",
                                         headers={"Authorization": f"Bearer {token.stdout.strip()}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        assert '"items"' in body
    finally:
        server.terminate()
        server.wait(timeout=30)
