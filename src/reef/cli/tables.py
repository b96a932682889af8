"""Run records as tables for people."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from reef.cli._common import emit_json, fmt, stderr, stdout
from reef.meta.summary import RunSummary

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

_STATUS_STYLE = {"valid": "green", "invalid": "yellow", "failed": "red", "interrupted": "red"}


def _accuracy(run: RunSummary) -> str:
    if run.accuracy_metric is None:
        return "-"
    if run.accuracy_value is None:
        return "n/a"
    passed = run.accuracy_passed
    verdict = "" if passed is None else (" pass" if passed else " FAIL")
    return f"{run.accuracy_metric} {run.accuracy_value:.4f}{verdict}"


def runs_table(runs: list[RunSummary], title: str | None = None) -> Table:
    """One row a run; a backend column where the runs differ in backend, so that runs of one
    model on several backends read side by side."""
    table = Table(title=title, title_justify="left")
    backends = len({r.backend for r in runs}) > 1
    for name, justify in [
        ("run", "left"),
        ("model", "left"),
        *([("backend", "left")] if backends else []),
        ("scenario", "left"),
        ("status", "left"),
        ("p50 ms", "right"),
        ("p90 ms", "right"),
        ("p99 ms", "right"),
        ("samples/s", "right"),
        ("accuracy", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in runs:
        style = _STATUS_STYLE.get(r.status, "")
        table.add_row(
            r.id[:8],
            r.model
            + (f"@{r.version}" if r.version else "")
            # Read from an MLPerf submission tree (reef runs import-mlperf), not measured here.
            + (" [dim](imported)[/dim]" if r.backend == "imported" else ""),
            *([r.backend or "-"] if backends else []),
            r.scenario,
            f"[{style}]{r.status}[/{style}]",
            fmt(r.p50_ms),
            fmt(r.p90_ms),
            fmt(r.p99_ms),
            fmt(r.throughput_qps, 4),
            _accuracy(r),
        )
    return table


def show_records(records: list[RunRecord], json_out: bool) -> None:
    if json_out:
        emit_json([r.summary_json() for r in records])
    else:
        stdout.print(runs_table([RunSummary.of(r) for r in records]))
    for r in records:
        for reason in r.reasons:
            stderr.print(f"[yellow]{r.id[:8]} {r.status}:[/yellow] {reason}")
        if r.interference is not None and r.interference.busy:
            # Measured and kept, not refused: compare and reproduce call it inconclusive.
            stderr.print(
                f"[yellow]{r.id[:8]} measured on a busy machine:[/yellow] "
                f"{escape(r.interference.reason)}; `reef env check` says what to change"
            )
        if r.accuracy and r.accuracy.note:
            stderr.print(f"[dim]{r.id[:8]} accuracy {r.accuracy.note}[/dim]")
