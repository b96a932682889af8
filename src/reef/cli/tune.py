"""reef tune TARGET --space KEY=V1,V2 --objective METRIC:DIR ... [--constraint ...]"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._common import emit_json, fmt, stderr, stdout
from reef.errors import EXIT_FAILED

if TYPE_CHECKING:
    from rich.table import Table

    from reef.api.tune import Estimate, TuneReport

_DASH = "\u2013"


def tune(
    target: str = typer.Argument(
        ..., metavar="TARGET", help="what `reef bench` takes: a manifest, an ONNX file, a component"
    ),
    space: list[str] = typer.Option(
        [],
        "--space",
        metavar="KEY=V1,V2",
        help="a setting and the values to try, repeatable: threads, batch_size, "
        "samples_per_query, target_qps, graph_optimization, inter_op_threads, execution_mode",
    ),
    objective: list[str] = typer.Option(
        [],
        "--objective",
        "-o",
        metavar="METRIC:DIR",
        help="1 to 3, e.g. latency_p99:min, throughput:max, accuracy:max (TPE for one, "
        "NSGA-II for several)",
    ),
    constraint: list[str] = typer.Option(
        [],
        "--constraint",
        metavar="EXPR",
        help='a bound every recommended configuration meets, repeatable: "accuracy >= '
        '0.99*reference", "latency_p99 <= 5"',
    ),
    budget: int | None = typer.Option(
        None, "--budget", help="configurations to measure [the whole space, at most 40]"
    ),
    time_limit: str | None = typer.Option(
        None, "--time", metavar="DURATION", help="start no trial after this long: 90s, 10m, 1h"
    ),
    study: str | None = typer.Option(
        None, "--study", help="the study's name [the target's name and the time]"
    ),
    resume: bool = typer.Option(False, "--resume", help="continue the study named by --study"),
    scenario: str = typer.Option(
        "SingleStream", "--scenario", "-s", help="the LoadGen scenario of every trial"
    ),
    duration: float = typer.Option(5.0, "--duration", help="a trial's full measurement, seconds"),
    probe: float = typer.Option(
        0.25, "--probe", help="share of --duration a trial is first measured for, to prune"
    ),
    prune_k: int = typer.Option(
        2,
        "--prune-k",
        help="prune a trial once this many finished configurations dominate it (0: never)",
    ),
    tolerance: float = typer.Option(
        0.05, "--tolerance", help="differences within this fraction are not differences"
    ),
    in_process: bool = typer.Option(
        False, "--in-process", help="measure in this process instead of a worker per run"
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        metavar="ADDR",
        help="measure each trial on an agent of this Dask scheduler (reef-bench[cluster])",
    ),
    json_out: bool = typer.Option(False, "--json", help="print the study's report as JSON"),
) -> None:
    """Search a space of settings for the configurations on a noise-aware Pareto frontier.

    Optuna picks configurations; each is measured with Reef's benchmark and stored, tagged
    tune:STUDY. A configuration dominates another only when their intervals are separated;
    a trial dominated early by --prune-k finished ones is pruned. Bad input exits with 2
    before anything starts.
    """
    import contextlib

    from reef import api
    from reef.cli.progress import RichReporter

    if scheduler and in_process:
        raise typer.BadParameter("give --scheduler or --in-process, not both")
    with contextlib.ExitStack() as stack:
        runner = None
        if scheduler:
            from reef.cluster.connect import close, connect
            from reef.cluster.runner import trial_runner

            client = connect(scheduler)
            stack.callback(close, client)
            runner = trial_runner(client)
        reporter = stack.enter_context(RichReporter())
        report = api.tune_study(
            target,
            space,
            objective,
            constraints=constraint,
            budget=budget,
            time_s=time_limit,
            study=study,
            resume=resume,
            scenario=scenario,
            duration_s=duration,
            probe=probe,
            prune_k=prune_k,
            tolerance=tolerance,
            in_process=in_process,
            runner=runner,
            reporter=reporter,
            progress=lambda line: stderr.print(_escape(line)),
        )
    show(report, json_out)
    if not any(t.state == "complete" for t in report.trials):
        raise typer.Exit(EXIT_FAILED)


def show(report: TuneReport, json_out: bool) -> None:
    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    stdout.print(_trials_table(report))
    stdout.print(_frontier_table(report))
    for rec in report.recommended:
        ties = f" (tied with {', '.join(map(str, rec.ties))})" if rec.ties else ""
        stdout.print(
            f"best {rec.objective}: trial {rec.trial} {_config(rec.config)}: "
            f"{_interval(rec.estimate)}{ties}"
        )
    if report.spec.constraints:
        passing = sum(1 for t in report.trials if t.state == "complete" and t.feasible)
        complete = sum(1 for t in report.trials if t.state == "complete")
        shown = "; ".join(c.text for c in report.spec.constraints)
        stdout.print(f"constraints ({shown}): met by {passing} of {complete} finished trials")
    p = report.pruning
    stdout.print(
        f"pruning: {p.pruned} of {p.trials} trials pruned; measured {p.measured_s:g} s of "
        f"{p.without_pruning_s:g} s, saving {p.saved_share:.0%}"
    )
    stderr.print(f"study {report.study}: its runs are tagged {report.tag} (reef pareto --tag)")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _escape(text: object) -> str:
    from rich.markup import escape

    return escape(str(text))


def _config(config: dict[str, int | float | str]) -> str:
    return _escape(", ".join(f"{k}={v}" for k, v in config.items()))


def _interval(e: Estimate) -> str:
    if e.method in ("exact", "missing"):
        return fmt(e.value, 4)
    return f"{fmt(e.value, 4)} ({fmt(e.low, 4)}{_DASH}{fmt(e.high, 4)})"


def _trials_table(report: TuneReport) -> Table:
    from rich.table import Table

    table = Table(title=f"Study {report.study}: {len(report.trials)} trials", title_justify="left")
    table.add_column("trial", justify="right")
    table.add_column("configuration")
    table.add_column("state")
    for o in report.spec.objectives:
        table.add_column(_escape(o), justify="right")
    for t in report.trials:
        state: str = t.state
        if t.state == "pruned":
            state = f"pruned by {', '.join(map(str, t.pruned_by))}"
        elif t.state == "complete" and not t.feasible:
            state = "fails constraint"
        table.add_row(
            str(t.number),
            _config(t.config),
            state,
            *(_interval(e) for e in t.estimates),
            *([""] * (len(report.spec.objectives) - len(t.estimates))),
        )
    return table


def _frontier_table(report: TuneReport) -> Table:
    from rich.table import Table

    by_number = {t.number: t for t in report.trials}
    count = sum(len(g) for g in report.frontier)
    table = Table(
        title=f"Noise-aware frontier: {_plural(count, 'configuration')} in "
        f"{_plural(len(report.frontier), 'group')} of ties",
        title_justify="left",
    )
    table.add_column("group", justify="right")
    table.add_column("trial", justify="right")
    table.add_column("configuration")
    for o in report.spec.objectives:
        table.add_column(_escape(o), justify="right")
    for g, group in enumerate(report.frontier, start=1):
        for n in group:
            t = by_number[n]
            table.add_row(str(g), str(n), _config(t.config), *(_interval(e) for e in t.estimates))
    return table
