"""reef run / reef validate / reef reproduce"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from reef.cli._common import emit_json, stderr, stdout
from reef.errors import EXIT_FAILED, EXIT_INCONCLUSIVE

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

_STATUS = {
    "ok": "[green]ok[/green]",
    "cached": "[cyan]cached[/cyan]",
    "failed": "[red]FAILED[/red]",
    "skipped": "[yellow]skipped[/yellow]",
    "pending": "pending",
}

MLFLOW_HELP = (
    "also log the runs to this MLflow tracking URI, in the experiment MLFLOW_EXPERIMENT_NAME "
    "[reef] (needs reef-bench[mlflow])"
)


class _StepLines:
    """One line per step on stderr as it starts and ends."""

    def step_started(self, step: Any) -> None:
        stderr.print(f"[dim]reef:[/dim] step {escape(f'{step.name} ({step.uses})')}", markup=True)

    def step_finished(self, step: Any) -> None:
        took = ""
        if step.duration_s is not None:
            took = (
                f" (took {step.duration_s:.2f} s)"
                if step.status == "cached"
                else (f" in {step.duration_s:.2f} s")
            )
        note = f": {escape(step.reason)}" if step.reason and step.status != "cached" else ""
        stderr.print(f"      {_STATUS[step.status]} {step.name}{took}{note}", markup=True)
        if step.status == "failed":
            from reef.api.solutions import log_tail

            for line in log_tail(step.log):
                stderr.print(f"      [dim]| {escape(line)}[/dim]", markup=True, highlight=False)


def _check_mlflow(uri: str | None) -> None:
    if uri is not None:
        from reef.api.export import mlflow_target

        mlflow_target(uri)


def _export(uri: str | None, runs: Sequence[str | RunRecord], parent: str | None = None) -> None:
    if uri is None or not runs:
        return
    from reef.api.export import mlflow_log

    done = mlflow_log(runs, uri, parent_name=parent)
    stderr.print(
        f"logged {len(done.runs)} run(s) to MLflow at {done.uri}, experiment {done.experiment!r}",
        markup=False,
    )


def run(
    solution: str = typer.Argument(
        ..., help="a solution: name[@version], its folder, or a reef.lock"
    ),
    step: str | None = typer.Option(None, "--step", help="run this step (and what it needs)"),
    force: bool = typer.Option(
        False, "--force", help="run the step (every step, without --step) even when cached"
    ),
    in_process: bool = typer.Option(
        False, "--in-process", help="bench steps measure in this process, not in a worker"
    ),
    mlflow: str | None = typer.Option(None, "--mlflow", metavar="URI", help=MLFLOW_HELP),
    json_out: bool = typer.Option(False, "--json", help="print the run's record as JSON"),
) -> None:
    """Run a solution's steps; a step whose inputs did not change is taken from the cache."""
    from reef.api import solutions
    from reef.cli.progress import RichReporter

    _check_mlflow(mlflow)
    failure = None
    with RichReporter() as reporter:
        try:
            record = solutions.run(
                solution,
                step=step,
                force=force,
                events=_StepLines(),
                reporter=reporter,
                in_process=in_process,
            )
        except solutions.RunFailed as exc:
            failure, record = exc, exc.run
    _export(mlflow, record.bench_runs(), parent=f"{record.solution} {record.id[:8]}")
    if json_out:
        # One JSON document: the record, whose status says it failed; then exit 1.
        emit_json(record.model_dump(mode="json"))
        if failure is not None:
            stderr.print(f"[bold red]error:[/bold red] {escape(failure.message)}", markup=True)
            if failure.hint:
                stderr.print(f"[dim]hint:[/dim] {escape(failure.hint)}", markup=True)
            raise typer.Exit(failure.exit_code)
    else:
        table = Table(
            title=f"{record.solution}@{record.version}  run {record.id[:12]}", title_justify="left"
        )
        for name in ("step", "uses", "status", "seconds", "metrics / runs"):
            table.add_column(name)
        for s in record.steps:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in list(s.metrics.items())[:4])
            if s.runs:
                shown += (", " if shown else "") + "runs " + " ".join(r[:8] for r in s.runs)
            took = f"{s.duration_s:.2f}" if s.duration_s is not None else "-"
            table.add_row(s.name, s.uses, _STATUS[s.status], took, shown)
        stdout.print(table)
        stderr.print(f"record: {record.folder}")
    if failure is not None:
        raise failure


def _checks_table(validation: Any) -> Table:
    table = Table(title=f"{validation.solution}: checks", title_justify="left")
    for name in ("", "check", "run", "found", "expected", "note"):
        table.add_column(name)
    for r in validation.results:
        mark = "[green]PASS[/green]" if r.passed else "[red]FAIL[/red]"
        table.add_row(mark, r.check, r.subject, r.value, r.expected, r.detail)
    return table


def validate(
    subject: str = typer.Argument(
        ..., metavar="SOLUTION|RUN", help="a solution to benchmark and check, or a run to check"
    ),
    in_process: bool = typer.Option(
        False, "--in-process", help="measure in this process, not in a worker"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the checks as JSON"),
) -> None:
    """Run a solution's checks and print a pass / fail table; exit 1 if any fails."""
    from reef.api import solutions
    from reef.cli.progress import RichReporter

    with RichReporter() as reporter:
        validation = solutions.validate(subject, reporter=reporter, in_process=in_process)
    if json_out:
        emit_json(validation.model_dump(mode="json"))
    else:
        stdout.print(_checks_table(validation))
        passed = sum(1 for r in validation.results if r.passed)
        verdict = "[green]passed[/green]" if validation.passed else "[red]failed[/red]"
        stdout.print(f"{passed} of {len(validation.results)} checks passed: {verdict}")
    if not validation.passed:
        raise typer.Exit(EXIT_FAILED)


def reproduce(
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="a recorded run (a unique prefix)"),
    alpha: float = typer.Option(0.05, help="significance level of the latency test"),
    tolerance: float = typer.Option(
        0.05,
        help="latency medians closer than this fraction are never called different",
    ),
    repeat: int | None = typer.Option(
        None,
        "--repeat",
        help="worker processes to measure, so that the process is the verdict's unit "
        "[the original's count when it had several, else 5; 1 with --in-process]",
    ),
    in_process: bool = typer.Option(
        False, "--in-process", help="measure in this process, not in a worker"
    ),
    mlflow: str | None = typer.Option(None, "--mlflow", metavar="URI", help=MLFLOW_HELP),
    json_out: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
) -> None:
    """Run a recorded benchmark again from its record and lock, and compare the two."""
    from reef.api.solutions import reproduce as do_reproduce
    from reef.cli.progress import RichReporter

    _check_mlflow(mlflow)

    def say(message: str) -> None:
        stderr.print(f"[dim]reef:[/dim] {escape(message)}", markup=True, highlight=False)

    with RichReporter() as reporter:
        report = do_reproduce(
            run_id,
            reporter=reporter,
            in_process=in_process,
            progress=say,
            alpha=alpha,
            latency_tolerance=tolerance,
            repeat=repeat,
        )
    _export(mlflow, [report.original, report.reproduction])
    result = report.result
    if json_out:
        emit_json(report.model_dump(mode="json"))
    else:
        _print_reproduction(result)
    if result.verdict == "differs":
        raise typer.Exit(EXIT_FAILED)
    if result.verdict == "inconclusive":
        raise typer.Exit(EXIT_INCONCLUSIVE)


def _print_reproduction(result: Any) -> None:
    stdout.print(f"original {result.original[:12]}, reproduction {result.reproduction[:12]}")
    same = sum(1 for c in result.components if c["identical"])
    stdout.print(f"components: {same} of {len(result.components)} identical")
    for c in result.components:
        if not c["identical"]:
            stdout.print(f"  [red]{c['name']}: {c['original']} -> {c['reproduction']}[/red]")
    if result.environment:
        stdout.print(f"environment: {len(result.environment)} differences")
        for d in result.environment[:15]:
            stdout.print(f"  {d['group']}.{d['key']}: {d['a']} -> {d['b']}", highlight=False)
    else:
        stdout.print("environment: identical")
    if result.accuracy:
        a = result.accuracy
        found = "none" if a["reproduction"] is None else f"{a['reproduction']:.4f}"
        stdout.print(
            f"accuracy: {a['metric']} {a['original']:.4f} -> {found} "
            f"({'equal' if a['equal'] else 'DIFFERENT'} within {a['tolerance']:.4f})"
        )
    if result.latency_summary:
        stdout.print(f"latency: {escape(result.latency_summary)}", highlight=False)
    for caveat in result.caveats:
        stdout.print(f"  [dim]note: {escape(caveat)}[/dim]", highlight=False)
    if result.verdict == "reproduced":
        stdout.print("verdict: [green]reproduced[/green]")
    elif result.verdict == "inconclusive":
        stdout.print("verdict: [yellow]inconclusive[/yellow]")
        for cause in result.causes:
            stdout.print(f"  - {escape(cause)}", highlight=False)
        if result.advice:
            stdout.print(f"  what to do: {escape(result.advice)}", highlight=False)
    else:
        stdout.print("verdict: [red]differs[/red]")
        for reason in result.reasons:
            stdout.print(f"  - {escape(reason)}", highlight=False)
