"""Run records as tables for people."""

from __future__ import annotations

from rich.table import Table

from reef.cli._common import emit_json, fmt, stderr, stdout
from reef.meta.run import RunRecord

_STATUS_STYLE = {"valid": "green", "invalid": "yellow", "failed": "red", "interrupted": "red"}


def _accuracy(record: RunRecord) -> str:
    a = record.accuracy
    if a is None:
        return "-"
    if a.value is None:
        return "n/a"
    verdict = "" if a.passed is None else (" pass" if a.passed else " FAIL")
    return f"{a.metric} {a.value:.4f}{verdict}"


def runs_table(records: list[RunRecord], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in [
        ("run", "left"),
        ("model", "left"),
        ("scenario", "left"),
        ("status", "left"),
        ("p50 ms", "right"),
        ("p90 ms", "right"),
        ("p99 ms", "right"),
        ("samples/s", "right"),
        ("accuracy", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in records:
        perf = r.performance
        lat = perf.latency_ms if perf else None
        style = _STATUS_STYLE.get(r.status, "")
        model = r.target.name + (f"@{r.target.version}" if r.target.version else "")
        table.add_row(
            r.id[:8],
            model,
            r.settings.scenario,
            f"[{style}]{r.status}[/{style}]",
            fmt(lat.p50 if lat else None),
            fmt(lat.p90 if lat else None),
            fmt(lat.p99 if lat else None),
            fmt(perf.throughput_qps if perf else None, 4),
            _accuracy(r),
        )
    return table


def show_records(records: list[RunRecord], json_out: bool) -> None:
    if json_out:
        emit_json([r.summary_json() for r in records])
    else:
        stdout.print(runs_table(records))
    for r in records:
        for reason in r.reasons:
            stderr.print(f"[yellow]{r.id[:8]} {r.status}:[/yellow] {reason}")
        if r.accuracy and r.accuracy.note:
            stderr.print(f"[dim]{r.id[:8]} accuracy {r.accuracy.note}[/dim]")
