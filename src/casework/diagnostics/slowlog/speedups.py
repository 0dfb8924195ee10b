"""The optional C speedups of the slow-log digest (``_speedups.c``), when built and not disabled.

``setup.py`` builds the extension as optional: without a compiler the install still succeeds and the pure-Python
code runs. ``CASEWORK_NO_SPEEDUPS=1`` selects the pure-Python code even when the extension is there (to compare,
or to rule it out). Each user keeps its pure-Python version as the reference; ``tests/test_slowlog_speedups.py``
checks that both give identical results."""

from __future__ import annotations

import os
from types import ModuleType

ext: ModuleType | None = None
if os.environ.get("CASEWORK_NO_SPEEDUPS", "") in ("", "0"):
    try:
        from casework.diagnostics.slowlog import _speedups as ext
    except ImportError:  # not built (no compiler at install time)
        ext = None

ENABLED = ext is not None
