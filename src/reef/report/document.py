"""A report as data: sections of paragraphs, tables and figures, for the HTML and Markdown
writers to render the same way. ``reef.report.builder`` fills it from recorded runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reef.report.charts import Chart

Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False  # right-aligned, sorted as numbers
    digits: int = 3  # significant digits shown for floats


@dataclass(frozen=True)
class Table:
    """Rows of cells under ``columns``; ``run_ids`` (one per row, when the rows are runs)
    let the HTML page link rows and plotted marks of the same run."""

    columns: list[Column]
    rows: list[list[Cell]]
    caption: str | None = None
    run_ids: list[str] | None = None
    collapsed: bool = False  # shown folded (HTML) when long


@dataclass(frozen=True)
class Paragraph:
    text: str
    tone: Literal["plain", "note", "warning"] = "plain"


@dataclass(frozen=True)
class Figure:
    """A chart; ``name`` becomes its file name in a Markdown report (``NAME.svg``)."""

    name: str
    chart: Chart
    caption: str | None = None


Block = Paragraph | Table | Figure


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    title: str
    facts: list[tuple[str, str]]  # shown under the title: generated at, selection, ...
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


def format_cell(value: Cell, column: Column) -> str:
    """How a cell reads in a table: floats to ``column.digits`` significant digits, thousands
    grouped; None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 10**column.digits:
            return f"{value:,.0f}"
        return f"{value:.{column.digits}g}"
    if isinstance(value, int):
        return f"{value:,}" if column.numeric else str(value)
    return value
