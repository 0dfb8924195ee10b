from __future__ import annotations

import sys
from pathlib import Path

# Make tests/services.py importable as ``services`` from every test file.
sys.path.insert(0, str(Path(__file__).parent))

DATA = Path(__file__).parent / "data"
