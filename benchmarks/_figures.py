"""How the benchmark scripts print a figure: a median with its range over the rounds, and the
closing Markdown table of figures (what benchmarks/README.md quotes)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable


def spread(values: list[float], unit: str = "", digits: int = 1, *, scale: float = 1.0) -> str:
    """``median unit (range min-max)`` of ``values`` times ``scale``; ``-`` for none."""
    if not values:
        return "-"
    vals = [v * scale for v in values]
    med = statistics.median(vals)
    return f"{med:,.{digits}f}{unit} (range {min(vals):,.{digits}f}-{max(vals):,.{digits}f})"


def print_table(rows: Iterable[tuple[str, str, str]]) -> None:
    """The figures as a Markdown table: figure, median (range over rounds), target."""
    print()
    print("| figure | median (range over rounds) | target |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
