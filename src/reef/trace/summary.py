"""Where the time went: what `reef trace ID` prints first.

Computed when the trace is written, from every query recorded (the rows kept in the file and
the totals of those the cap left out), and stored in the trace file's metadata.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from reef.trace.recorder import DONE, ISSUE, PRE, PRED, QID, SEQ, STAGES, WARMUP_QID
from reef.trace.recorder import stage_durations as _stage_durations

if TYPE_CHECKING:
    import numpy as np

    from reef.trace.ort import FrameworkEvent
    from reef.trace.recorder import QueryRecorder
    from reef.trace.system import SystemSampler

TOP_OPERATORS = 10
QUERY_OPERATORS = 5


class StageShare(BaseModel):
    stage: str
    total_ms: float
    share: float = Field(description="of the time in all stages together")
    mean_us: float


class OperatorStat(BaseModel):
    name: str = Field(description="the node's name in the graph")
    op: str = Field(description="the operator type")
    calls: int
    total_ms: float
    mean_us: float
    share: float = Field(description="of the time in all operators together")


class QueryBreakdown(BaseModel):
    seq: int = Field(description="the order in which it was issued, warm-up calls first")
    query_id: int | None = Field(None, description="LoadGen's id; None for a warm-up call")
    phase: str
    latency_us: float = Field(description="from its issue to its completion")
    stages_us: dict[str, float]
    operators_us: list[tuple[str, float]] = Field(
        default_factory=list, description="its slowest operators, where profiled"
    )


class SystemStats(BaseModel):
    samples: int
    cores: int
    cpu_mean_pct: float = Field(description="all cores, averaged over the run")
    cpu_busiest_core_pct: float = Field(description="the busiest core's mean")
    rss_max_mb: float
    gpus: list[dict[str, float]] = Field(default_factory=list)


class TraceSummary(BaseModel):
    level: str
    layers: list[str]
    phase: str | None = Field(None, description="the phase the stage shares describe")
    queries: int = Field(0, description="queries in that phase, dropped ones included")
    queries_kept: int = 0
    stages: list[StageShare] = Field(default_factory=list)
    operators_by_total: list[OperatorStat] = Field(default_factory=list)
    operators_by_mean: list[OperatorStat] = Field(default_factory=list)
    operator_calls: int = Field(0, description="operator events profiled")
    cold: QueryBreakdown | None = Field(None, description="the very first call")
    median: QueryBreakdown | None = Field(
        None, description="the phase's median query (a sampled query counting k times)"
    )
    cold_over_median: float | None = Field(
        None, description="the first call's predict time over the median query's"
    )
    slowest: QueryBreakdown | None = None
    system: SystemStats | None = None
    notes: list[str] = Field(default_factory=list)


def main_phase(names: Sequence[str]) -> str | None:
    """The phase the summary describes: the last performance run, else accuracy, else any."""
    for prefix in ("performance", "accuracy", "warm-up"):
        found = [n for n in names if n.startswith(prefix)]
        if found:
            return found[-1]
    return names[-1] if names else None


def summarize(
    recorder: QueryRecorder,
    level: str,
    layers: list[str],
    operators: Sequence[FrameworkEvent] = (),
    system: SystemSampler | None = None,
    notes: Sequence[str] = (),
) -> TraceSummary:
    import numpy as np

    table = recorder.table()
    phases = recorder.phases()
    phase = main_phase([p.name for p in phases])
    summary = TraceSummary(level=level, layers=list(layers), phase=phase, notes=list(notes))
    ops = [e for e in operators if e.cat == "operator"]
    starts = [e.start_ns for e in ops]

    def breakdown(row: Sequence[int] | np.ndarray, name: str | None = None) -> QueryBreakdown:
        r = np.asarray(row, dtype=np.int64).reshape(1, -1)
        stages = _stage_durations(r)[0]
        lo = bisect.bisect_left(starts, int(r[0, PRE]))
        hi = bisect.bisect_right(starts, int(r[0, PRED]))
        inside = sorted(ops[lo:hi], key=lambda e: -e.dur_ns)[:QUERY_OPERATORS]
        return QueryBreakdown(
            seq=int(r[0, SEQ]),
            query_id=None if r[0, QID] == WARMUP_QID else int(r[0, QID]),
            phase=name or recorder.phase_of(int(r[0, ISSUE])),
            latency_us=float(r[0, DONE] - r[0, ISSUE]) / 1e3,
            stages_us={s: float(v) / 1e3 for s, v in zip(STAGES, stages, strict=True) if v},
            operators_us=[(e.name, e.dur_ns / 1e3) for e in inside],
        )

    if table.shape[0]:
        summary.cold = breakdown(table[int(table[:, SEQ].argmin())])
    window = next((p for p in reversed(phases) if p.name == phase), None)
    if window is not None:
        in_phase = table[(table[:, ISSUE] >= window.start_ns) & (table[:, ISSUE] <= window.end_ns)]
        dropped = recorder.dropped.get(window.name)
        stage_ns = _stage_durations(in_phase).sum(axis=0)
        count = in_phase.shape[0]
        if dropped is not None:
            stage_ns = stage_ns + np.asarray(dropped.stage_ns, dtype=np.int64)
            count += dropped.count
        summary.queries, summary.queries_kept = count, int(in_phase.shape[0])
        total = float(stage_ns.sum()) or 1.0
        summary.stages = [
            StageShare(
                stage=s,
                total_ms=float(v) / 1e6,
                share=float(v) / total,
                mean_us=float(v) / 1e3 / max(count, 1),
            )
            for s, v in zip(STAGES, stage_ns, strict=True)
        ]
        if in_phase.shape[0]:
            latency = in_phase[:, DONE] - in_phase[:, ISSUE]
            order = np.argsort(latency, kind="stable")
            # A sampled row stands for k queries, a row kept in full for itself.
            head = in_phase[:, SEQ] <= table[min(recorder.first, table.shape[0]) - 1, SEQ]
            weight = np.where(head, 1, recorder.k)[order]
            middle = int(np.searchsorted(np.cumsum(weight), weight.sum() / 2))
            summary.median = breakdown(in_phase[order[min(middle, len(order) - 1)]], phase)
            slowest = in_phase[order[-1]]
            pinned = recorder.slowest_dropped.get(window.name)
            if pinned is not None and pinned[DONE] - pinned[ISSUE] > latency[order[-1]]:
                summary.slowest = breakdown(pinned, phase)
            else:
                summary.slowest = breakdown(slowest, phase)
    if summary.cold is not None and summary.median is not None:
        median_predict = summary.median.stages_us.get("predict")
        cold_predict = summary.cold.stages_us.get("predict")
        if median_predict and cold_predict:
            summary.cold_over_median = cold_predict / median_predict
    if ops:
        summary.operator_calls = len(ops)
        stats = operator_stats(ops)
        summary.operators_by_total = sorted(stats, key=lambda s: -s.total_ms)[:TOP_OPERATORS]
        summary.operators_by_mean = sorted(stats, key=lambda s: -s.mean_us)[:TOP_OPERATORS]
    if system is not None and system.samples:
        summary.system = system_stats(system)
    return summary


def operator_stats(ops: Sequence[FrameworkEvent]) -> list[OperatorStat]:
    by_name: dict[str, list[int]] = {}
    kinds: dict[str, str] = {}
    for e in ops:
        by_name.setdefault(e.name, []).append(e.dur_ns)
        kinds[e.name] = e.op
    whole = float(sum(sum(d) for d in by_name.values())) or 1.0
    return [
        OperatorStat(
            name=name,
            op=kinds[name],
            calls=len(d),
            total_ms=sum(d) / 1e6,
            mean_us=sum(d) / len(d) / 1e3,
            share=sum(d) / whole,
        )
        for name, d in by_name.items()
    ]


def system_stats(system: SystemSampler) -> SystemStats:
    samples = system.samples
    cores = max(len(s.cpu) for s in samples)
    per_core = [
        sum(s.cpu[c] for s in samples if c < len(s.cpu)) / len(samples) for c in range(cores)
    ]
    gpus: list[dict[str, float]] = []
    for g in range(max(len(s.gpus) for s in samples)):
        util = [s.gpus[g][0] for s in samples if g < len(s.gpus)]
        mem = [s.gpus[g][1] for s in samples if g < len(s.gpus)]
        gpus.append(
            {
                "index": float(g),
                "util_mean_pct": sum(util) / len(util),
                "util_max_pct": max(util),
                "memory_max_mb": max(mem) / 2**20,
            }
        )
    return SystemStats(
        samples=len(samples),
        cores=cores,
        cpu_mean_pct=sum(per_core) / cores if cores else 0.0,
        cpu_busiest_core_pct=max(per_core) if per_core else 0.0,
        rss_max_mb=max(s.rss for s in samples) / 2**20,
        gpus=gpus,
    )
