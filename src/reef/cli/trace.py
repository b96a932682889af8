"""reef trace ID [--export PATH] [--otel]"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._common import emit_json, stderr, stdout

if TYPE_CHECKING:
    from reef.api.trace import TraceReport


def trace(
    run_id: str = typer.Argument(..., metavar="ID", help="a run id (a unique prefix is enough)"),
    export: str | None = typer.Option(
        None,
        "--export",
        metavar="PATH",
        help="write the trace as Chrome trace-event JSON (gzipped if PATH ends in .gz), "
        "for Perfetto or chrome://tracing",
    ),
    otel: bool = typer.Option(
        False,
        "--otel",
        help="send the model spans to the OTLP endpoint set by OTEL_EXPORTER_OTLP_* "
        "(needs reef-bench[otel])",
    ),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Show where a traced run's time went: per stage, per operator, cold vs steady state."""
    from reef.api import trace as api_trace

    if export is not None:
        api_trace.check_export_path(export)
    report = api_trace.trace_summary(run_id)
    if export is not None:
        path = api_trace.trace_export(run_id, export)
        err(f"trace written to {path} (open it in https://ui.perfetto.dev)")
    if otel:
        sent = api_trace.trace_otel(run_id)
        err(f"{sent} spans sent to the OpenTelemetry exporter")
    if json_out:
        emit_json(report.model_dump(mode="json"))
    else:
        show(report)


def out(text: object) -> None:
    stdout.print(text, markup=False)


def err(text: str) -> None:
    stderr.print(text, markup=False)


def _us(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.3g} ms"
    return f"{value:.3g} us"


def show(report: TraceReport) -> None:
    from rich.table import Table

    s = report.summary
    counts = report.counts
    out(
        f"run {report.run_id[:12]}  trace level {report.level} ({', '.join(report.layers)})  "
        f"{report.path}"
    )
    out(
        f"queries traced {counts.get('queries_recorded', 0)}, kept in the file "
        f"{counts.get('queries_kept', 0)}, dropped {counts.get('queries_dropped', 0)} "
        "(see the policy with --json)"
    )
    if s.stages:
        table = Table(
            title=f"time per stage: {s.phase} ({s.queries} queries)", title_justify="left"
        )
        for col in ("stage", "share", "total", "mean"):
            table.add_column(col, justify="left" if col == "stage" else "right")
        for st in s.stages:
            table.add_row(st.stage, f"{st.share:.1%}", f"{st.total_ms:.4g} ms", _us(st.mean_us))
        out(table)
    for title, ops in (
        ("by total time", s.operators_by_total),
        ("by mean time", s.operators_by_mean),
    ):
        if not ops:
            continue
        table = Table(title=f"top operators {title} ({s.operator_calls} profiled calls)",
                      title_justify="left")  # fmt: skip
        for col in ("operator", "type", "calls", "total", "mean", "share"):
            table.add_column(col, justify="left" if col in ("operator", "type") else "right")
        for op in ops:
            table.add_row(op.name, op.op, str(op.calls), f"{op.total_ms:.4g} ms",
                          _us(op.mean_us), f"{op.share:.1%}")  # fmt: skip
        out(table)
    for label, q in (("cold (first call)", s.cold), ("median query", s.median),
                     ("slowest query", s.slowest)):  # fmt: skip
        if q is None:
            continue
        stages = ", ".join(f"{k} {_us(v)}" for k, v in q.stages_us.items())
        out(f"{label}: #{q.seq} ({q.phase}) {_us(q.latency_us)}: {stages}")
        if q.operators_us:
            ops_text = ", ".join(f"{name} {_us(v)}" for name, v in q.operators_us)
            out(f"    slowest operators: {ops_text}")
    if s.cold_over_median is not None:
        out(f"cold / median predict time: {s.cold_over_median:.2f}x")
    if s.system is not None:
        sys_ = s.system
        line = (
            f"system: {sys_.samples} samples, CPU {sys_.cpu_mean_pct:.0f}% mean over "
            f"{sys_.cores} cores (busiest {sys_.cpu_busiest_core_pct:.0f}%), "
            f"process memory up to {sys_.rss_max_mb:.0f} MB"
        )
        for g in sys_.gpus:
            line += (
                f"; GPU{int(g['index'])} {g['util_mean_pct']:.0f}% mean, "
                f"{g['memory_max_mb']:.0f} MB max"
            )
        out(line)
    for note in report.notes:
        err(f"note: {note}")
