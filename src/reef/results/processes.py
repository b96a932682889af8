"""Latency compared with the process as the unit: a hierarchical bootstrap.

Most of the variance of a latency lies between processes, so the queries of one process are
not independent samples of "the model on this machine": two processes of the same model can
sit 1.7x apart while each is tight inside. With several processes on a side (``--repeat``),
the statistic is the median of the processes' medians, and its interval comes from resampling
processes, then the queries within each chosen process (when it kept raw latencies; otherwise
its median stands for it). The spread between a side's processes is reported next to it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from reef.meta.run import RunRecord

# Bootstrap resamples, and the most queries of one process resampled (evenly spaced order
# statistics beyond): a thousand points already give a median as steady as the process allows.
RESAMPLES = 2000
POINTS_PER_PROCESS = 1000


@dataclass(frozen=True)
class ProcessLatency:
    """One process of a run: its median latency (ms) and, when kept, its raw latencies (ns)."""

    median_ms: float
    raw_ns: tuple[int, ...] | None = None


def processes_of(
    record: RunRecord, *, raw: bool = True, metric: str = "p50"
) -> list[ProcessLatency]:
    """The processes of ``record`` (one for a run without ``--repeat``); empty when it has no
    latency figures. With ``raw`` (both sides of a comparison kept raw latencies), a process
    stands for its raw latencies and their median; else for LoadGen's ``metric``: the two are
    different quantities (in Offline, compute time per batch against time to answer) and are
    never compared with each other."""
    kept = record.latencies_ns if raw else None
    if record.processes:
        found, start = [], 0
        for p in record.processes:
            count = p.latencies_kept if kept else 0
            chunk = tuple(kept[start : start + count]) if kept and count else None
            start += count
            if chunk:
                found.append(ProcessLatency(statistics.median(chunk) / 1e6, chunk))
            elif p.latency_ms is not None and not raw:
                found.append(ProcessLatency(float(getattr(p.latency_ms, metric))))
        return found
    if kept:
        return [ProcessLatency(statistics.median(kept) / 1e6, tuple(kept))]
    if record.performance is not None and not raw:
        return [ProcessLatency(float(getattr(record.performance.latency_ms, metric)))]
    return []


def spread(processes: list[ProcessLatency]) -> float | None:
    """How far apart a side's processes are: (slowest - fastest) / median of their medians;
    None for fewer than two."""
    if len(processes) < 2:
        return None
    medians = [p.median_ms for p in processes]
    middle = statistics.median(medians)
    return (max(medians) - min(medians)) / middle if middle > 0 else None


@dataclass(frozen=True)
class ProcessComparison:
    """B against A, processes as the unit. Ratios are B / A: above 1 means B is slower."""

    ratio: float
    ci_low: float
    ci_high: float
    median_a_ms: float
    median_b_ms: float
    processes_a: int
    processes_b: int
    spread_a: float | None
    spread_b: float | None
    confidence: float


def compare_processes(
    a: list[ProcessLatency], b: list[ProcessLatency], *, alpha: float = 0.05, seed: int = 0
) -> ProcessComparison:
    """The ratio of the medians of process medians, with a hierarchical bootstrap interval at
    ``1 - alpha``. Both sides need a process at least."""
    import numpy as np

    if not a or not b:
        raise ValueError("each side needs at least one process")
    rng = np.random.default_rng(seed)
    stat_a, stat_b = _resampled(a, rng), _resampled(b, rng)
    ratios = stat_b / stat_a
    low, high = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
    med_a = statistics.median(p.median_ms for p in a)
    med_b = statistics.median(p.median_ms for p in b)
    return ProcessComparison(
        ratio=med_b / med_a,
        ci_low=float(low),
        ci_high=float(high),
        median_a_ms=med_a,
        median_b_ms=med_b,
        processes_a=len(a),
        processes_b=len(b),
        spread_a=spread(a),
        spread_b=spread(b),
        confidence=1 - alpha,
    )


def _resampled(side: list[ProcessLatency], rng: np.random.Generator) -> NDArray[np.float64]:
    """``RESAMPLES`` draws of the side's statistic: processes drawn with replacement, each
    chosen process's median drawn from its own queries (one query resample per process and
    resample: a process drawn twice in a resample counts its draw twice)."""
    import numpy as np

    from reef.results.stats import _bootstrap_medians, _quantiles

    # medians[i, r]: process i's median in resample r.
    medians = np.empty((len(side), RESAMPLES))
    for i, process in enumerate(side):
        if process.raw_ns is None or len(process.raw_ns) < 2:
            medians[i] = process.median_ms
            continue
        # Evenly spaced order statistics, not a random subset: the same median and shape.
        points = _quantiles(np.asarray(process.raw_ns, dtype=np.float64) / 1e6, POINTS_PER_PROCESS)
        medians[i] = _bootstrap_medians(points, RESAMPLES, rng)
    chosen = rng.integers(0, len(side), size=(RESAMPLES, len(side)))
    picked = medians[chosen, np.arange(RESAMPLES)[:, None]]
    result: NDArray[np.float64] = np.median(picked, axis=1)
    return result
