"""Writing a report, or one of its figures, of recorded runs to a file (``reef report``,
``reef plot``).

The runs are those named by id, or those a filter selects (``reef.report.selection``); the
report is built once (``reef.report.builder.build_document``) and written as one offline HTML
file or as Markdown with figure files. Everything that can be wrong with the request (the
output path, the format, an unknown run or metric, an empty selection, matplotlib missing for
PNG) is refused before anything is written; files are written to a temporary name and
renamed, so a failure leaves nothing behind.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from reef.files import check_output, check_output_folder, staged_folder, staged_output, write_output
from reef.report.builder import build_document, generator
from reef.report.errors import MATPLOTLIB_HINT, ReportError
from reef.report.plots import PLOT_KINDS, SERIES_PER_CHART, one_chart
from reef.report.selection import select_runs

if TYPE_CHECKING:
    from reef.results.pareto import Objective
    from reef.results.query import RunFilter

__all__ = ["DEFAULT_LIMIT", "PlotResult", "ReportResult", "write_plot", "write_report"]

DEFAULT_LIMIT = 1000  # runs in one report unless asked for more
_SVG_ONLY = (".svg", ".html")
_MATPLOTLIB = (".png", ".pdf")


class ReportResult(BaseModel):
    """The report ``report`` wrote: where, in which format, on how many runs."""

    path: str
    format: str  # html or md
    runs: int
    figures: list[str]  # the figure files of a Markdown report
    warnings: list[str] = Field(default_factory=list)


class PlotResult(BaseModel):
    """The figure ``plot`` wrote: where, of which kind, on how many runs and series."""

    path: str
    kind: str
    runs: int
    series: int
    warnings: list[str] = Field(default_factory=list)


def write_report(
    path: Path,
    run_ids: Sequence[str] = (),
    *,
    format: str | None = None,
    figure_format: str = "svg",
    title: str | None = None,
    objectives: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    run_filter: RunFilter | None = None,
) -> ReportResult:
    """Write the report on ``run_ids`` (or on the newest ``limit`` runs ``run_filter``
    selects) to ``path``: HTML, or Markdown (``format``, else from the suffix) with its
    figures as ``figure_format`` in ``<name>_figures/`` beside it."""
    from reef.report.markdown import FIGURE_FORMATS

    chosen = format or ("md" if path.suffix.lower() == ".md" else "html")
    if chosen not in ("html", "md"):
        raise ReportError(f"--format: unknown format {chosen!r}", hint="html or md")
    if figure_format not in FIGURE_FORMATS:
        raise ReportError(
            f"--figures: unknown figure format {figure_format!r}",
            hint="one of " + ", ".join(FIGURE_FORMATS),
        )
    if chosen == "html" and figure_format != "svg":
        raise ReportError(
            "--figures applies to Markdown reports",
            hint="an HTML report inlines its figures as SVG; add --format md",
        )
    if chosen == "md" and figure_format != "svg":
        _need_matplotlib(figure_format)
    figures_dir = path.with_name(path.stem + "_figures")
    check_output(path, "report")
    if chosen == "md":
        check_output_folder(figures_dir, "report's figures folder")
    parsed = _objectives(objectives)
    records, warnings = select_runs(run_ids, limit, run_filter)
    document = build_document(records, title=title, objectives=parsed, warnings=warnings)
    written: list[str] = []
    if chosen == "html":
        from reef.report.html import render_html

        write_output(path, render_html(document, generator=generator()), "report")
    else:
        from reef.report.markdown import render_markdown, write_figures

        text = render_markdown(document, figures=figures_dir.name, figure_format=figure_format)
        with staged_folder(figures_dir, "report's figures folder") as staging:
            written = [
                str(figures_dir / p.name) for p in write_figures(document, staging, figure_format)
            ]
            write_output(path, text, "report")
    return ReportResult(
        path=str(path),
        format=chosen,
        runs=len(records),
        figures=written,
        warnings=document.warnings,
    )


def write_plot(
    kind: str,
    path: Path,
    run_ids: Sequence[str] = (),
    *,
    objectives: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    max_series: int = SERIES_PER_CHART,
    run_filter: RunFilter | None = None,
) -> PlotResult:
    """Write one figure (one of ``PLOT_KINDS``) of the runs selected as for a report to
    ``path``, whose suffix picks the format: .svg and .html from Reef's own renderer, .png and
    .pdf through matplotlib."""
    if kind not in PLOT_KINDS:
        raise ReportError(f"unknown plot {kind!r}", hint="one of " + ", ".join(PLOT_KINDS))
    suffix = path.suffix.lower()
    if suffix not in _SVG_ONLY + _MATPLOTLIB:
        raise ReportError(
            f"{path}: cannot tell the figure format from {suffix or 'no suffix'!r}",
            hint="name the file .svg, .html, .png or .pdf",
        )
    if max_series < 1:
        raise ReportError("--max-series must be at least 1")
    if suffix in _MATPLOTLIB:
        _need_matplotlib(suffix[1:])
    check_output(path, "figure")
    parsed = _objectives(objectives)
    records, warnings = select_runs(run_ids, limit, run_filter)
    chart, series, notes = one_chart(kind, records, parsed, max_series)
    warnings += notes
    if suffix == ".svg":
        from reef.report.svg import render_svg

        write_output(path, render_svg(chart), "figure")
    elif suffix == ".html":
        from reef.report.document import Document, Figure, Section
        from reef.report.html import render_html

        name = f"{kind}-plot"
        page = Document(chart.title, [], [Section(chart.title, name, [Figure(name, chart)])])
        write_output(path, render_html(page, generator=generator()), "figure")
    else:
        from reef.report.figures import render_figure

        with staged_output(path, "figure") as staging:
            render_figure(chart, staging)
    return PlotResult(
        path=str(path), kind=kind, runs=len(records), series=series, warnings=warnings
    )


# -- checks made before anything is written ------------------------------------------------


def _need_matplotlib(what: str) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise ReportError(
            f"{what.upper()} figures need matplotlib, which is not installed",
            hint=f"{MATPLOTLIB_HINT}, or use SVG figures",
        )


def _objectives(given: Sequence[str] | None) -> list[Objective] | None:
    from reef.results.pareto import Objective, ParetoError

    if not given:
        return None
    try:
        parsed = [Objective.parse(text) for text in given]
    except ParetoError as e:
        raise ReportError(e.message, hint=e.hint) from e
    if len(parsed) != 2:
        raise ReportError(
            f"--objective: the scatter takes 2 objectives, not {len(parsed)}",
            hint="for example --objective latency_p90:min --objective accuracy:max",
        )
    return parsed
