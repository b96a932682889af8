"""reef pareto --objective METRIC:DIR ... [filters]"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli import filters
from reef.cli._common import emit_json, fmt, stderr, stdout

if TYPE_CHECKING:
    from rich.table import Table

    from reef.api import Frontier, RunFilter


@filters.selecting_runs()
def pareto(
    objective: list[str] = typer.Option(
        None,
        "--objective",
        "-o",
        metavar="METRIC:DIR",
        help="a metric and min or max, given 2 or 3 times: latency_p90:min, throughput:max, "
        "accuracy:max (accuracy.top1:max for one accuracy metric); latency_min/mean/p50/p90/"
        "p95/p99/max (ms), throughput (qps), accuracy, samples, queries, duration (s), "
        "energy_per_sample (J), power (W)",
    ),
    run_filter: RunFilter = filters.FROM_OPTIONS,
    shown: int = typer.Option(
        20, "--dominated", "-n", min=0, help="how many dominated runs to list (0: all)"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the frontier as JSON"),
) -> None:
    """The Pareto frontier of recorded runs over 2 or 3 objectives, then the dominated runs
    with the frontier runs that dominate them.

    A run dominates another when it is no worse in every objective and better in one. Runs
    lacking a metric are left out, with a warning. A bad objective, or filters that leave no
    run, exit with 2.
    """
    from reef.api import pareto as do_pareto

    result = do_pareto(objective or [], run_filter=run_filter)
    if json_out:
        emit_json(result.model_dump(mode="json"))
    else:
        stdout.print(_frontier_table(result))
        if result.dominated:
            stdout.print(_dominated_table(result, shown or len(result.dominated)))
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/yellow] {_escape(warning)}", markup=True)


def _escape(text: object) -> str:
    from rich.markup import escape

    return escape(str(text))


def _heading(result: Frontier) -> list[str]:
    return [f"{o.name} ({o.direction}{', ' + o.unit if o.unit else ''})" for o in result.objectives]


def _frontier_table(result: Frontier) -> Table:
    from rich.table import Table

    table = Table(
        title=f"Pareto frontier: {len(result.frontier)} of {result.considered} runs",
        title_justify="left",
    )
    table.add_column("id")
    table.add_column("model")
    table.add_column("scenario")
    table.add_column("backend")
    table.add_column("status")
    for heading in _heading(result):
        table.add_column(heading, justify="right")
    for run in result.frontier:
        table.add_row(
            run.id[:12],
            _escape(run.model),
            run.scenario,
            _escape(run.backend or "-"),
            run.status,
            *(fmt(v) for v in run.values),
        )
    return table


def _dominated_table(result: Frontier, limit: int) -> Table:
    from rich.table import Table

    total = len(result.dominated)
    more = f" (first {limit}; --dominated 0 lists all)" if limit < total else ""
    table = Table(title=f"Dominated: {total} runs{more}", title_justify="left")
    table.add_column("id")
    for heading in _heading(result):
        table.add_column(heading, justify="right")
    table.add_column("dominated by")
    for run in result.dominated[:limit]:
        by = ", ".join(i[:12] for i in run.dominated_by)
        extra = run.dominated_by_count - len(run.dominated_by)
        if extra > 0:
            by += f" and {extra} more"
        table.add_row(run.id[:12], *(fmt(v) for v in run.values), by)
    return table
