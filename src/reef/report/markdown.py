"""A ``Document`` as Markdown (GitHub-flavoured tables) with its figures as files beside it,
SVG from Reef's own renderer or PNG / PDF / SVG through matplotlib, ready for a paper."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from reef.report.document import Column, Document, Figure, Paragraph, Table, format_cell

__all__ = ["FIGURE_FORMATS", "render_markdown", "write_figures"]

FigureFormat = Literal["svg", "png", "pdf", "mpl-svg"]
FIGURE_FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "mpl-svg")
_PARALLEL_FROM = 6  # figures; fewer are drawn here, as starting workers costs more


def figure_file(figure: Figure, figure_format: str) -> str:
    suffix = "svg" if figure_format == "mpl-svg" else figure_format
    return f"{figure.name}.{suffix}"


def write_figures(
    document: Document, folder: Path, figure_format: str, *, workers: int | None = None
) -> list[Path]:
    """Each figure of ``document`` as a file in ``folder`` (which must exist). matplotlib
    takes about 0.2 s a figure, so many figures are drawn by ``workers`` processes (default:
    one per core, at most 8)."""
    figures = document.figures()
    paths = [folder / figure_file(f, figure_format) for f in figures]
    if figure_format == "svg":
        from reef.report.svg import render_svg

        for figure, path in zip(figures, paths, strict=True):
            path.write_text(render_svg(figure.chart, chart_id=figure.name), encoding="utf-8")
        return paths
    from reef.report.figures import render_figure

    charts = [f.chart for f in figures]
    workers = min(os.cpu_count() or 1, 8) if workers is None else workers
    if workers > 1 and len(figures) >= _PARALLEL_FROM:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(workers, len(figures))) as pool:
            list(pool.map(render_figure, charts, paths, chunksize=2))
    else:
        for chart, path in zip(charts, paths, strict=True):
            render_figure(chart, path)
    return paths


def render_markdown(document: Document, *, figures: str, figure_format: str) -> str:
    """The Markdown text; figures are linked as ``FIGURES/NAME.FORMAT`` (relative)."""
    lines = [f"# {_inline(document.title)}", ""]
    lines += [f"- **{_inline(k)}:** {_inline(v)}" for k, v in document.facts]
    lines.append("")
    for warning in document.warnings:
        lines += [f"> **Warning:** {_inline(warning)}", ""]
    for section in document.sections:
        lines += [f"## {_inline(section.title)}", ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                text = _inline(block.text)
                lines += [f"*{text}*" if block.tone == "note" else text, ""]
                if block.tone == "warning":
                    lines[-2] = f"> **Warning:** {text}"
            elif isinstance(block, Table):
                lines += _table(block)
            elif isinstance(block, Figure):
                target = f"{figures}/{figure_file(block, figure_format)}"
                alt = _inline(block.caption or block.name)
                lines += [f"![{alt}]({target})", ""]
                if block.caption:
                    lines += [f"*{_inline(block.caption)}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _table(table: Table) -> list[str]:
    lines = []
    if table.caption:
        lines += [f"**{_inline(table.caption)}**", ""]
    lines.append("| " + " | ".join(_inline(c.name) for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if c.numeric else "---" for c in table.columns) + "|")
    for row in table.rows:
        cells = (_text(value, column) for value, column in zip(row, table.columns, strict=True))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _text(value: object, column: Column) -> str:
    return _inline(format_cell(value, column))  # type: ignore[arg-type]


def _inline(text: str) -> str:
    """Text that stays one table cell and renders literally."""
    text = " ".join(text.split())
    for char in "\\|*_`[]<>":
        text = text.replace(char, "\\" + char)
    return text
