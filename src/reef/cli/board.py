"""reef board [--metric METRIC[:DIR]] [filters]"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli import filters
from reef.cli._common import emit_json, fmt, stderr, stdout

if TYPE_CHECKING:
    from rich.table import Table

    from reef.api import Board, RunFilter


@filters.selecting_runs(without=("status",))
def board(
    metric: str = typer.Option(
        "auto",
        "--metric",
        "-m",
        metavar="METRIC[:DIR]",
        help="what ranks the runs: auto (MLPerf's metric per scenario: latency_p90 in "
        "SingleStream, latency_p99 in MultiStream, throughput in Server and Offline), or one of "
        "latency_min/mean/p50/p90/p95/p99/max, throughput, accuracy, accuracy.NAME, samples, "
        "queries, duration, energy_per_sample, power; throughput, accuracy and samples are "
        "maximised, the rest minimised unless :min or :max is given",
    ),
    run_filter: RunFilter = filters.FROM_OPTIONS,
    hardware: str | None = typer.Option(
        None, help="only hardware whose label contains this text (any case)"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the board as JSON"),
) -> None:
    """The best valid run for each model, scenario and hardware, like CK's result dashboards.

    Each row names the winning run, its version and backend, how many valid runs competed
    and their median. An unknown metric, one no run has, or filters that leave no valid run
    exit with 2.
    """
    from reef.api import board as do_board

    result = do_board(metric, run_filter=run_filter, hardware=hardware)
    if json_out:
        emit_json(result.model_dump(mode="json"))
    else:
        stdout.print(_table(result))
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {_escape(warning)}", markup=True)


def _escape(text: object) -> str:
    from rich.markup import escape

    return escape(str(text))


def _table(result: Board) -> Table:
    from rich.table import Table

    single = result.metric != "auto"
    title = (
        f"Best valid runs by {result.metric if single else 'the MLPerf metric of each scenario'}"
    )
    table = Table(title=f"{title} ({result.considered} valid runs)", title_justify="left")
    for heading in ("model", "scenario", "hardware"):
        table.add_column(heading)
    table.add_column("best", justify="right", no_wrap=True)
    table.add_column("median", justify="right", no_wrap=True)
    table.add_column("runs", justify="right")
    for heading in ("run", "version", "backend", "date"):
        table.add_column(heading)
    for row in result.rows:
        unit = f" {row.unit}" if row.unit else ""
        name = "" if single else row.metric.removeprefix("latency_") + " "
        cells = [
            _escape(row.model),
            row.scenario,
            _escape(row.hardware),
            name + fmt(row.value) + unit,
            fmt(row.median) + unit,
            str(row.runs),
            row.run_id[:12],
            _escape(row.version or "-"),
            _escape(row.backend or "-"),
            row.created_at[:10],
        ]
        table.add_row(*cells)
    return table
