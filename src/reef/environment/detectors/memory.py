"""Main memory: its size (stable) and what is free now (volatile)."""

from __future__ import annotations

from typing import Any

from reef.environment.detect import detector


@detector("memory", group="hardware")
def memory() -> dict[str, Any]:
    import psutil

    vm = psutil.virtual_memory()
    swap = psutil.swap_memory()
    return {
        "total_bytes": vm.total,
        "volatile": {"available_bytes": vm.available, "swap_total_bytes": swap.total},
    }
