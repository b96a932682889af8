"""The serving tests start `reef serve` with tests/e2e's support module (a free port)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
