"""One configuration measured in several worker processes (``--repeat N``), kept as one run.

Most of the variance of a latency lies between processes (where the allocator put the
buffers, which core the scheduler chose, what else ran), not between the queries of one: a
run of one process says nothing about the next. So ``--repeat N`` measures N fresh processes
one after another, and the record keeps each one's summary in ``processes``; verdicts then take
the process as their unit (``reef.results.verdict``).

The merged record: each latency percentile is the median of the processes' (and ``min`` and
``max`` the extremes, ``mean`` the query-weighted mean); throughput is the median; queries and
samples add up; the raw latencies, when every process kept them, follow one another in process
order (``processes[i].latencies_kept`` each); so does energy (``reef.environment.energy.merge``).
Accuracy is measured once, in the first process. The status is the worst of the processes', and
each reason names its process.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from reef.bench.job import BenchJob
from reef.bench.progress import Reporter
from reef.environment import energy
from reef.meta.run import Interference, Latency, Performance, ProcessRun, RunRecord, Status

# Worst first: the merged run is as good as its worst process.
_STATUS_ORDER: tuple[Status, ...] = ("failed", "interrupted", "invalid", "valid")


def process_job(job: BenchJob, index: int) -> BenchJob:
    """The job of process ``index`` (1-based): one process (the merged record keeps the
    ``repeat`` asked), its own folder for LoadGen's logs, accuracy in the first process only."""
    settings = job.settings.model_copy(update={"repeat": 1})
    if index > 1 and settings.mode == "both":
        settings = settings.model_copy(update={"mode": "performance"})
    return job.model_copy(
        update={"run_dir": str(Path(job.run_dir) / f"process-{index}"), "settings": settings}
    )


def run_repeated(
    job: BenchJob,
    reporter: Reporter,
    run_one: Callable[[BenchJob], RunRecord],
    failed: Callable[[BenchJob, Exception], RunRecord | None],
) -> RunRecord:
    """Run ``job.settings.repeat`` processes with ``run_one`` and merge their records.
    ``failed(job, exc)`` turns a process's crash into its record (None: re-raise)."""
    count = job.settings.repeat
    records = []
    for index in range(1, count + 1):
        reporter.note(f"process {index} of {count}")
        one = process_job(job, index)
        try:
            records.append(run_one(one))
        except Exception as exc:
            record = failed(one, exc)
            if record is None:
                raise
            records.append(record)
    return merge(job, records)


def merge(job: BenchJob, records: list[RunRecord]) -> RunRecord:
    """One record of ``records`` (the processes of ``job``, in order)."""
    # The predictor, LoadGen and accuracy facts come from the first process that got that far
    # (process 1 may have crashed before measuring anything).
    base = next((r for r in records if r.loadgen is not None), records[0])
    merged = base.model_copy(deep=True)
    merged.created_at = records[0].created_at
    merged.settings = job.settings
    merged.finished_at = records[-1].finished_at
    merged.processes = [_process(i, r) for i, r in enumerate(records, start=1)]
    merged.status = min((r.status for r in records), key=_STATUS_ORDER.index)
    merged.reasons = [f"process {i}: {why}" for i, r in enumerate(records, 1) for why in r.reasons]
    merged.performance = _performance([r.performance for r in records])
    kept = [r.latencies_ns for r in records]
    if all(k is not None for k in kept):
        merged.latencies_ns = [value for k in kept for value in (k or [])]
    else:
        merged.latencies_ns = None
        for process in merged.processes:
            process.latencies_kept = 0
    merged.interference = _interference([r.interference for r in records], merged.performance)
    merged.energy = energy.merge([r.energy for r in records])
    if merged.loadgen is not None:
        results = [r.loadgen.result if r.loadgen else None for r in records]
        merged.loadgen.result = (
            "INVALID" if "INVALID" in results else None if None in results else "VALID"
        )
    return merged


def _process(index: int, record: RunRecord) -> ProcessRun:
    perf = record.performance
    return ProcessRun(
        index=index,
        status=record.status,
        reasons=list(record.reasons),
        latency_ms=perf.latency_ms if perf else None,
        throughput_qps=perf.throughput_qps if perf else None,
        queries=perf.queries if perf else 0,
        latencies_kept=len(record.latencies_ns or []),
        interference=record.interference,
        energy=record.energy,
        log_dir=record.artifacts.get("loadgen_performance"),
    )


def _performance(found: list[Performance | None]) -> Performance | None:
    perfs = [p for p in found if p is not None]
    if not perfs:
        return None
    lat = [p.latency_ms for p in perfs]
    queries = sum(p.queries for p in perfs)
    mean = (
        sum(p.latency_ms.mean * p.queries for p in perfs) / queries
        if queries
        else statistics.fmean(x.mean for x in lat)
    )
    durations = [p.duration_s for p in perfs]
    return Performance(
        latency_ms=Latency(
            min=min(x.min for x in lat),
            mean=mean,
            p50=statistics.median(x.p50 for x in lat),
            p90=statistics.median(x.p90 for x in lat),
            p95=statistics.median(x.p95 for x in lat),
            p99=statistics.median(x.p99 for x in lat),
            max=max(x.max for x in lat),
        ),
        throughput_qps=statistics.median(p.throughput_qps for p in perfs),
        samples=sum(p.samples for p in perfs),
        queries=queries,
        duration_s=None if None in durations else sum(d or 0.0 for d in durations),
        early_stopping=perfs[0].early_stopping,
    )


def _interference(
    found: list[Interference | None], performance: Performance | None
) -> Interference | None:
    known = [(i, x) for i, x in enumerate(found, start=1) if x is not None]
    if not known:
        return None

    def most(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return max(present) if present else None

    def total(values: list[int | None]) -> int | None:
        return None if any(v is None for v in values) else sum(v or 0 for v in values)

    items = [x for _, x in known]
    busy = [(i, x) for i, x in known if x.busy]
    switches = total([x.involuntary_switches for x in items])
    queries = performance.queries if performance else 0
    lows = [x.freq_mhz_min for x in items if x.freq_mhz_min is not None]
    highs = [x.freq_mhz_max for x in items if x.freq_mhz_max is not None]
    if busy:
        reason = "; ".join(f"process {i}: {x.reason}" for i, x in busy)
    else:
        reason = (
            f"{len(items)} processes, none busy; the busiest: "
            + max(items, key=lambda x: x.others_cpu_share or 0.0).reason
        )
    return Interference(
        cpus=items[0].cpus,
        seconds=round(sum(x.seconds for x in items), 3),
        others_cpu_share=most([x.others_cpu_share for x in items]),
        steal_share=most([x.steal_share for x in items]),
        involuntary_switches=switches,
        switches_per_1k_queries=(
            round(switches * 1000 / queries, 2) if switches is not None and queries else None
        ),
        migrations=total([x.migrations for x in items]),
        freq_mhz_min=min(lows) if lows else None,
        freq_mhz_max=max(highs) if highs else None,
        throttle_events=total([x.throttle_events for x in items]),
        busy=bool(busy),
        reason=reason,
    )
