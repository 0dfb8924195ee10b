"""Every analyzer's report renders its own section without the caller importing anything for side effects."""

from __future__ import annotations

import subprocess
import sys

import pytest

from casework.diagnostics.render.registry import SECTION_MODULES


@pytest.mark.parametrize("kind", sorted(SECTION_MODULES))
def test_a_fresh_process_finds_the_sections_of(kind: str) -> None:
    # A fresh interpreter: nothing imported yet but the registry, as in a script or the desk.
    code = (
        "from casework.diagnostics.render.registry import terminal_section, markdown_section;"
        f"assert terminal_section({kind!r}) is not None and markdown_section({kind!r}) is not None"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
