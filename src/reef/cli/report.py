"""reef report [RUN ...] [filters] -o FILE   and   reef plot KIND [RUN ...] [filters] -o FILE"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reef.cli import filters
from reef.cli._choices import choice
from reef.cli._common import MAX_LIMIT, emit_json, stderr
from reef.meta.choices import FIGURE_FORMAT, PLOT_KIND, REPORT_FORMAT

if TYPE_CHECKING:
    from reef.api import RunFilter

Runs = list[str] | None
_RUNS_HELP = "run ids or unique prefixes; without them, the runs the filters select"
_OBJECTIVE_HELP = (
    "the scatter's axes, given twice as METRIC:min|max (default latency_p90:min and "
    "accuracy:max, or throughput:max when no run has accuracy)"
)


@filters.selecting_runs()
def report(
    runs: Runs = typer.Argument(None, metavar="[RUN]...", help=_RUNS_HELP),
    output: Path = typer.Option(
        Path("reef-report.html"),
        "--output",
        "-o",
        help="the file to write; .md makes a Markdown report with figures in NAME_figures/",
    ),
    format: str | None = typer.Option(
        None,
        "--format",
        **choice(REPORT_FORMAT),
        help="HTML or Markdown (md, markdown) [from the file's suffix]",
    ),
    figures: str = typer.Option(
        "svg",
        "--figures",
        **choice(FIGURE_FORMAT),
        help="a Markdown report's figure files: svg, or png, pdf or mpl-svg through matplotlib",
    ),
    title: str | None = typer.Option(None, help="the report's title"),
    objective: list[str] = typer.Option(
        None, "--objective", metavar="METRIC:DIR", help=_OBJECTIVE_HELP
    ),
    limit: int = typer.Option(
        1000, "--limit", "-n", max=MAX_LIMIT, help="at most this many runs, newest first"
    ),
    run_filter: RunFilter = filters.FROM_OPTIONS,
    json_out: bool = typer.Option(False, "--json", help="print what was written as JSON"),
) -> None:
    """Write a report on recorded runs: one self-contained HTML file that works offline, or
    Markdown with SVG or PNG figures for a paper.

    It has the runs' summary, latency CDFs and histograms for each model and scenario,
    throughput bars, the Pareto scatter with its frontier, LoadGen verdicts and the
    environments. Unknown or ambiguous runs, an unknown metric, filters that leave no run or an
    output that cannot be written exit with 2, and nothing is written.
    """
    from reef.api import report as do_report

    result = do_report(
        output,
        runs or [],
        format=format,
        figure_format=figures,
        title=title,
        objectives=objective or None,
        limit=limit,
        run_filter=run_filter,
    )
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {_escape(warning)}", markup=True)
    if json_out:
        emit_json(result.model_dump(mode="json"))
        return
    extra = f" and {len(result.figures)} figures" if result.figures else ""
    stderr.print(f"wrote {_escape(result.path)}{extra} ({result.runs:,} runs)")


@filters.selecting_runs()
def plot(
    kind: str = typer.Argument(
        ...,
        **choice(PLOT_KIND, metavar="KIND"),
        help="cdf, histogram, throughput or pareto",
    ),
    runs: Runs = typer.Argument(None, metavar="[RUN]...", help=_RUNS_HELP),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="the file: .svg or .html (built in), .png or .pdf (matplotlib); default KIND.svg",
    ),
    objective: list[str] = typer.Option(
        None, "--objective", metavar="METRIC:DIR", help=_OBJECTIVE_HELP
    ),
    max_series: int = typer.Option(
        8, "--max-series", help="at most this many runs drawn (bars: the fastest)"
    ),
    limit: int = typer.Option(
        1000, "--limit", "-n", max=MAX_LIMIT, help="at most this many runs, newest first"
    ),
    run_filter: RunFilter = filters.FROM_OPTIONS,
    json_out: bool = typer.Option(False, "--json", help="print what was written as JSON"),
) -> None:
    """Write one figure of recorded runs: a latency CDF or histogram, throughput bars, or the
    Pareto scatter with its frontier."""
    from reef.api import plot as do_plot

    result = do_plot(
        kind,
        output or Path(f"{kind}.svg"),
        runs or [],
        objectives=objective or None,
        max_series=max_series,
        limit=limit,
        run_filter=run_filter,
    )
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {_escape(warning)}", markup=True)
    if json_out:
        emit_json(result.model_dump(mode="json"))
        return
    stderr.print(f"wrote {_escape(result.path)} ({result.series} of {result.runs:,} runs drawn)")


def _escape(text: object) -> str:
    from rich.markup import escape

    return escape(str(text))
