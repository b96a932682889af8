"""What every command shares: JSON output, error reporting, and the stderr console."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# The most a --limit can be: the databases count rows in signed 64-bit integers.
MAX_LIMIT = 2**63 - 1

# Messages are not wrapped when stderr is a file or a pipe: a wrapped path cannot be grepped.
stderr = Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())
stdout = Console(highlight=False)
if not stdout.is_terminal:
    stdout.width = max(stdout.width, 140)  # pipes and logs get whole tables, not wrapped ones


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:,.0f}"
