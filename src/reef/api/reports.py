"""``reef report`` and ``reef plot``: reports and figures of recorded runs.

The work, and every check made before anything is written, is ``reef.report.write``'s:
``report`` writes one offline HTML file or Markdown with figure files, ``plot`` one figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reef.report.errors import ReportError
from reef.report.plots import PLOT_KINDS, SERIES_PER_CHART
from reef.report.write import DEFAULT_LIMIT, PlotResult, ReportResult, write_plot, write_report

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.results.query import RunFilter

__all__ = ["PLOT_KINDS", "PlotResult", "ReportError", "ReportResult", "plot", "report"]


def report(
    out: Path | str,
    runs: Sequence[str | RunRecord] = (),
    *,
    format: str | None = None,
    figure_format: str = "svg",
    title: str | None = None,
    objectives: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    run_filter: RunFilter | None = None,
) -> ReportResult:
    """Write a report on the runs ``runs`` name (ids, unique prefixes or stored
    ``RunRecord``s), or else on the runs
    ``run_filter`` selects (newest ``limit`` first). ``format`` defaults from the suffix
    (``.md``: Markdown, else HTML); a Markdown report puts its figures in ``<name>_figures/``
    beside it, as ``figure_format`` (svg; png, pdf or mpl-svg through matplotlib).
    ``objectives`` are the Pareto scatter's two axes (default: ``latency_p90:min`` against
    ``accuracy:max``, or ``throughput:max`` when no run has accuracy)."""
    return write_report(
        Path(out),
        _ids(runs),
        format=format,
        figure_format=figure_format,
        title=title,
        objectives=objectives,
        limit=limit,
        run_filter=run_filter,
    )


def plot(
    kind: str,
    out: Path | str,
    runs: Sequence[str | RunRecord] = (),
    *,
    objectives: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    max_series: int = SERIES_PER_CHART,
    run_filter: RunFilter | None = None,
) -> PlotResult:
    """One figure of the selected runs: ``cdf`` or ``histogram`` of latency (at most
    ``max_series`` runs, spread over the range of their medians), ``throughput`` bars or the
    ``pareto`` scatter. The suffix of ``out`` picks the format: .svg and .html from Reef's own
    renderer, .png and .pdf through matplotlib."""
    return write_plot(
        kind,
        Path(out),
        _ids(runs),
        objectives=objectives,
        limit=limit,
        max_series=max_series,
        run_filter=run_filter,
    )


def _ids(runs: Sequence[str | RunRecord]) -> list[str]:
    # A record is read again from the store: the figures need its raw latencies.
    return [r if isinstance(r, str) else r.id for r in runs]
