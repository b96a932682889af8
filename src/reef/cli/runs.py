"""reef runs list / reef runs show ID"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._common import emit_json, fmt, stdout

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

app = typer.Typer(help="List and show recorded runs.", no_args_is_help=True)


@app.command("list")
def list_runs(
    limit: int = typer.Option(
        20, "--limit", "-n", min=0, help="how many runs, newest first (0: all)"
    ),
    scenario: str | None = typer.Option(None, help="only this scenario"),
    status: str | None = typer.Option(None, help="valid, invalid, interrupted or failed"),
    model: str | None = typer.Option(None, help="only runs of this model"),
    json_out: bool = typer.Option(False, "--json", help="print the run records as JSON"),
) -> None:
    """List recorded runs, newest first."""
    from reef import api
    from reef.cli.tables import runs_table

    records = api.runs_list(limit=limit or None, scenario=scenario, status=status, model=model)
    if json_out:
        emit_json([r.summary_json() for r in records])
    elif not records:
        stdout.print("no runs recorded yet: try [bold]reef demo[/bold]")
    else:
        stdout.print(runs_table(records))


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


def _print_record(r: RunRecord) -> None:
    s = r.settings
    lines = [
        f"[bold]run[/bold] {r.id}  [bold]{r.status}[/bold]  {r.created_at:%Y-%m-%d %H:%M:%S} UTC",
        f"target     {r.target.kind} {r.target.name}"
        + (f"@{r.target.version}" if r.target.version else "")
        + f"  ({r.target.path})",
        f"model sha  {r.target.sha256}",
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
                f"threshold {a.threshold}  {'pass' if a.passed else 'FAIL'}  ({a.samples} samples)"
            )
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
            f"{system.get('kernel', system.get('release'))}  env {str(env.get('hash', ''))[:12]}"
        )
    for line in lines:
        stdout.print(line, highlight=False)
