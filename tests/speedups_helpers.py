"""The C speedups' tests import the extension through :func:`c_speedups`."""

from __future__ import annotations

import os
from types import ModuleType

import pytest


def c_speedups() -> ModuleType:
    """``slowlog._speedups``, or skip the calling test module (at import) when it is not under test here.

    ``CASEWORK_NO_SPEEDUPS`` set: the pure-Python path is under test. Not built: ``make install`` builds the
    extension (setup.py; gcc and the Python headers are on CI); without a compiler the install succeeds without it
    and the pure-Python code runs (the other slow-log tests cover that path) — but on CI a missing extension is a
    failed build, not a reason to skip."""
    if os.environ.get("CASEWORK_NO_SPEEDUPS", "") not in ("", "0"):
        pytest.skip(reason="CASEWORK_NO_SPEEDUPS is set: the pure-Python path is under test", allow_module_level=True)
    try:
        from casework.diagnostics.slowlog import _speedups
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(reason="the C extension is not built here (no compiler at install time?)", allow_module_level=True)
    return _speedups
