"""reef runs list / reef runs show ID / reef runs import PATH / reef runs import-mlperf DIR"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer

from reef.cli import filters
from reef.cli._choices import choice
from reef.cli._common import MAX_LIMIT, emit_json, fmt, stdout
from reef.meta.choices import RUNS_FORMAT

if TYPE_CHECKING:
    from reef.api import RunFilter
    from reef.meta.run import EnergyInfo, RunRecord
    from reef.meta.summary import RunSummary

app = typer.Typer(help="List, show, import and export recorded runs.", no_args_is_help=True)


@app.command("list")
@filters.selecting_runs()
def list_runs(
    limit: int = typer.Option(
        20, "--limit", "-n", min=0, max=MAX_LIMIT, help="how many runs (0: all)"
    ),
    run_filter: RunFilter = filters.FROM_OPTIONS,
    sort: str = typer.Option(
        "-created_at",
        "--sort",
        help="created_at, p50, p90, p99, throughput, accuracy, model, scenario or status; "
        "ascending, or descending with a leading - (--sort=-throughput)",
    ),
    output: str = typer.Option(
        "table", "--format", **choice(RUNS_FORMAT), help="a table, JSON or CSV"
    ),
    json_out: bool = typer.Option(False, "--json", help="the same as --format json"),
) -> None:
    """List recorded runs: filtered, sorted (newest first by default), as a table, JSON or CSV.

    Filters given must all hold. When they leave no run, the command says which filter
    emptied the selection and exits with 2.
    """
    from reef import api

    shape = "json" if json_out else output
    if shape == "json":
        records = api.runs_list(run_filter, limit=limit or None, sort=sort, allow_empty=False)
        emit_json([r.summary_json() for r in records])
        return
    rows = api.runs_summaries(run_filter, limit=limit or None, sort=sort, allow_empty=False)
    if shape == "csv":
        _write_csv(rows)
    elif not rows:
        stdout.print("no runs recorded yet: try [bold]reef demo[/bold]")
    else:
        from reef.cli.tables import runs_table

        stdout.print(runs_table(rows))


def _write_csv(rows: list[RunSummary]) -> None:
    import csv
    import sys

    from reef.meta.summary import COLUMNS

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, column)) for column in COLUMNS])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@app.command("show")
def show_run(
    run_id: str = typer.Argument(..., help="a run id or a unique prefix of one"),
    raw: bool = typer.Option(False, "--raw", help="include the raw per-query latencies"),
    json_out: bool = typer.Option(False, "--json", help="print the run record as JSON"),
) -> None:
    """Show one run: settings, LoadGen verdict, latency, accuracy, environment."""
    from reef import api

    record = api.runs_show(run_id, with_latencies=raw)
    if json_out:
        data = record.model_dump(mode="json") if raw else record.summary_json()
        emit_json(data)
        return
    _print_record(record)


def _endpoint_lines(r: RunRecord) -> list[str]:
    """A remote run's server, and what its sha256 hashes."""
    e = r.target.endpoint
    if e is None:
        return []
    server = " ".join(p for p in (e.server_name, e.server_version) if p) or "unknown server"
    extra = f"  extensions {', '.join(e.extensions)}" if e.extensions else ""
    return [
        f"served by  {server} (remote: the latencies include HTTP){extra}",
        f"sha256 of  {e.sha256_of}"
        + (f"; samples of {e.local_model}" if e.local_model else "; synthetic samples"),
    ]


def _imported_lines(r: RunRecord) -> list[str]:
    """Where a run read from an MLPerf submission tree came from: not measured here."""
    from rich.markup import escape

    i = r.imported
    if i is None:
        return []
    who = " / ".join(p for p in (i.division, i.submitter, i.system) if p)
    lines = [
        f"imported   from MLPerf {escape(i.round or '(round unknown)')}  {escape(who)}  "
        f"{i.imported_at:%Y-%m-%d %H:%M} UTC: read, not measured here"
    ]
    lines.extend(f"           [dim]{escape(note)}[/dim]" for note in i.notes)
    return lines


def _print_record(r: RunRecord) -> None:
    s = r.settings
    lines = [
        f"[bold]run[/bold] {r.id}  [bold]{r.status}[/bold]  {r.created_at:%Y-%m-%d %H:%M:%S} UTC",
        f"target     {r.target.kind} {r.target.name}"
        + (f"@{r.target.version}" if r.target.version else "")
        + f"  ({r.target.path})",
        f"model sha  {r.target.sha256}",
        *_endpoint_lines(r),
        *_imported_lines(r),
        f"scenario   {s.scenario}  mode {s.mode}  duration {s.duration_s:g} s  "
        f"batch {s.batch_size}  threads {s.threads or 'default'}",
    ]
    if r.predictor:
        lines.append(
            f"predictor  {r.predictor.name} {r.predictor.version}  "
            + ", ".join(r.predictor.providers)
        )
    if r.loadgen:
        lg = r.loadgen
        lines.append(f"loadgen    {lg.version}  result {lg.result or '-'}  logs {lg.log_dir}")
        for reason in r.reasons:
            lines.append(f"           [yellow]{reason}[/yellow]")
        if lg.calibration:
            c = lg.calibration
            lines.append(
                f"warm-up    {c.warmup_queries} queries  p50 {fmt(c.latency_p50_ms)} ms  "
                f"{fmt(c.throughput_qps, 4)} samples/s"
            )
    if r.performance:
        p, lat = r.performance, r.performance.latency_ms
        lines.append(
            f"latency ms min {fmt(lat.min)}  mean {fmt(lat.mean)}  p50 {fmt(lat.p50)}  "
            f"p90 {fmt(lat.p90)}  p95 {fmt(lat.p95)}  p99 {fmt(lat.p99)}  max {fmt(lat.max)}"
        )
        lines.append(
            f"throughput {fmt(p.throughput_qps, 4)} samples/s  ({p.queries:,} queries, "
            f"{p.samples:,} samples)"
        )
    if r.accuracy:
        a = r.accuracy
        if a.value is None:
            lines.append(f"accuracy   {a.note}")
        else:
            lines.append(
                f"accuracy   {a.metric} {a.value:.4f}  reference {a.reference}  "
                f"threshold {a.threshold}  {_passed(a.passed)}  ({a.samples} samples)"
            )
    if r.energy:
        lines.extend(_energy_lines(r.energy))
    env = r.environment
    if env:
        hw, os_ = env.get("hardware", {}), env.get("os", {})
        # Records from before detectors existed keep their facts one level up.
        cpu, system = hw.get("cpu", hw), os_.get("system", os_)
        if not isinstance(system, dict):
            system = os_
        lines.append(
            f"machine    {cpu.get('model', cpu.get('cpu_model'))}  "
            f"{cpu.get('logical_cores')} cores  {system.get('name', system.get('system'))} "
            f"{system.get('kernel', system.get('release')) or ''}  "
            f"env {str(env.get('hash', ''))[:12]}"
        )
    for line in lines:
        stdout.print(line, highlight=False)


def _passed(passed: bool | None) -> str:
    return "not judged" if passed is None else "pass" if passed else "FAIL"


def _energy_lines(e: EnergyInfo) -> list[str]:
    """The measured joules, then one line for each counter that could not be read."""
    from rich.markup import escape

    lines = []
    if e.joules is not None:
        per = f"  {fmt(e.joules_per_sample, 4)} J/sample" if e.joules_per_sample else ""
        lines.append(
            f"energy     {fmt(e.joules)} J in {fmt(e.seconds)} s  {fmt(e.watts)} W{per}  ("
            + ", ".join(f"{d.name} {fmt(d.joules)} J {d.method}" for d in e.domains)
            + ")"
        )
    lines.extend(f"energy     [dim]{escape(note)}[/dim]" for note in e.notes)
    return lines


@app.command("import")
def import_runs(
    path: str = typer.Argument(
        ...,
        metavar="PATH",
        help="a record.json, a run's folder, or a folder of run folders",
    ),
    json_out: bool = typer.Option(False, "--json", help="print what was imported as JSON"),
) -> None:
    """Store run records kept as files: those a full disk or a failed database left behind
    (the error named where), or another REEF_HOME's runs folder.

    Runs already stored are reported as such, not stored twice. Every file is checked first:
    one that is not a run record is named, with exit 2, and nothing is imported.
    """
    from pathlib import Path

    from reef import api

    report = api.runs_import(Path(path))
    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    for run in report.runs:
        stdout.print(f"{run.result:<14}  {run.id}  {run.status:<11}  {run.path}", markup=False)
    stdout.print(
        f"{report.imported} imported, {report.already_stored} already stored", markup=False
    )


@app.command("import-mlperf")
def import_mlperf(
    path: str = typer.Argument(
        ...,
        metavar="DIR",
        help="an MLPerf submission tree: the tree, a division, a submitter's folder or one "
        "results/SYSTEM/BENCHMARK/SCENARIO folder",
    ),
    mlperf_round: str | None = typer.Option(
        None,
        "--round",
        metavar="ROUND",
        help="the MLPerf round the results are of (v5.0); without it, a folder name ending "
        "in one (inference_results_v5.0) names it",
    ),
    json_out: bool = typer.Option(False, "--json", help="print what was imported as JSON"),
) -> None:
    """Store the results of an MLPerf inference submission tree (Reef's own export or anyone's
    published results) as runs marked as imported: target kind mlperf, backend imported.

    Each results/SYSTEM/BENCHMARK/SCENARIO folder with LoadGen's logs becomes one run, with
    LoadGen's figures and verdict, the accuracy from accuracy.txt and the system from
    systems/SYSTEM.json; its logs are copied to the run's folder. Results already imported
    are reported as such, not stored twice. A folder that lacks what a result needs is
    skipped, with the reason. A missing DIR, a tree with no LoadGen detail log, or a detail
    log that is not LoadGen's (named by file and line) exits with 2, and nothing is stored.
    """
    from pathlib import Path

    from reef import api

    report = api.import_mlperf(Path(path), mlperf_round=mlperf_round)
    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    for run in report.runs:
        where = "/".join(p for p in (run.submitter, run.system, run.benchmark, run.scenario) if p)
        stdout.print(f"{run.result:<14}  {run.id}  {run.status:<7}  {where}", markup=False)
    from reef.cli._common import stderr

    for skip in report.skipped:
        stderr.print(f"skipped  {skip.path}: {skip.reason}", markup=False)
    stdout.print(
        f"{report.imported} imported, {report.already_stored} already stored, "
        f"{len(report.skipped)} skipped",
        markup=False,
    )


@app.command("export")
@filters.selecting_runs()
def export_runs(
    runs: list[str] | None = typer.Argument(
        None, metavar="[RUN]...", help="run ids or unique prefixes; without them, the filters"
    ),
    mlflow: str | None = typer.Option(
        None,
        "--mlflow",
        metavar="URI",
        help="the MLflow tracking store: sqlite:///mlflow.db, http(s)://host:port, "
        "postgresql://... [MLFLOW_TRACKING_URI] (needs reef-bench[mlflow])",
    ),
    experiment: str | None = typer.Option(
        None, "--experiment", help="the MLflow experiment [MLFLOW_EXPERIMENT_NAME, else reef]"
    ),
    limit: int = typer.Option(
        0,
        "--limit",
        "-n",
        min=0,
        max=MAX_LIMIT,
        help="at most this many runs, newest first (0: all)",
    ),
    run_filter: RunFilter = filters.FROM_OPTIONS,
    json_out: bool = typer.Option(False, "--json", help="print what was exported as JSON"),
) -> None:
    """Export runs already stored to MLflow: the runs given, or those the filters select.

    Each run becomes one MLflow run (params, metrics, tags, its record and files); a run
    exported before is not exported twice. The store is checked, and the runs found, before
    anything is exported; filters that leave no run exit with 2.
    """
    from reef.api.export import runs_export

    done = runs_export(
        runs or [], run_filter, mlflow=mlflow, experiment=experiment, limit=limit or None
    )
    if json_out:
        emit_json(done.model_dump(mode="json"))
        return
    for run in done.runs:
        stdout.print(f"{run.run_id}  ->  MLflow run {run.mlflow_run_id}", markup=False)
    from reef.cli._common import stderr

    stderr.print(
        f"exported {len(done.runs)} run(s) to MLflow at {done.uri}, experiment {done.experiment!r}",
        markup=False,
    )
