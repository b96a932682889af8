"""A Pareto frontier that does not call noise a difference: what ``reef tune`` reports.

Each configuration has, per objective, an ``Estimate``: the figure and a 95% interval around
it. Configuration A is *better* than B on an objective only when their intervals are separated
(A's whole interval is on the better side of B's) and the figures differ by more than a
tolerance, as ``reef compare`` demands before it calls a run faster (``reef.results.stats``).
A *dominates* B when B is better than A on no objective and A is better than B on at least
one. The frontier is the configurations nothing dominates; frontier configurations that are
better than one another on no objective are statistically indistinguishable, and are
reported together as one group of ties.

How each interval is made:

- **latency** (``latency_p99``, ``latency_p50``, ``latency_mean``, ...), from the raw
  per-query latencies: a percentile bootstrap of that statistic, drawn as
  ``stats.compare_latencies`` draws its interval of the ratio of medians (the sample reduced
  to 5,000 evenly spaced order statistics, resamples drawn in chunks). Intervals are made
  per configuration rather than per pair, so that n configurations cost n bootstraps, not
  n squared; two separated 95% intervals are a stricter test than one interval of their
  ratio, never a looser one.
- **throughput**, from the same per-query data: in SingleStream and MultiStream LoadGen
  issues a query when the previous one completes, so samples per second are samples per
  query over the mean time per query, and the measured throughput moves with the mean query
  latency. Its interval is the measured throughput scaled by the bootstrap interval of the
  mean latency (``mean / mean*``). Repeating whole measurements would capture drift between
  processes too, but would cost a run per point; the per-query interval costs nothing more.
  Offline and Server runs issue queries by another rule, so their throughput gets the
  summary interval below.
- **several runs** of one configuration (``reef tune`` measures each in two: a brief probe,
  then the rest) are pooled, and the interval is widened to take in each run's own figure.
  Runs made at different moments differ by more than the queries within one run scatter (on
  a busy machine, by far more: the same configuration's p99 was measured at 1.3 ms and 6 ms
  on a 2-core VM running other test suites), and a bootstrap of one run's queries cannot see
  that; the spread between runs keeps it from being called a difference between
  configurations. Such an estimate's method is ``runs``.
- **accuracy** is exact: the same samples through a deterministic model give the same
  figure, so its interval is the point.
- any figure without raw latencies (a run that kept none, energy) gets a *summary* interval
  of ``SUMMARY_SPREAD`` either side: only a difference of about twice that counts, the
  10% that ``stats.compare_summaries`` asks of percentiles when no test is possible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from reef.results.stats import JsonFloat

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from reef.meta.run import RunRecord
    from reef.results.pareto import Objective

__all__ = [
    "SUMMARY_SPREAD",
    "Estimate",
    "NoisyFrontier",
    "better",
    "dominates",
    "dominators_of",
    "estimate_latency",
    "estimates_of",
    "noisy_frontier",
]

Method = Literal["bootstrap", "runs", "summary", "exact", "missing"]
Direction = Literal["min", "max"]

SUMMARY_SPREAD = 0.05
DEFAULT_TOLERANCE = 0.05  # reef compare's
_POINTS = 5000  # as stats' bootstrap: evenly spaced order statistics of a larger sample
_CHUNK = 200
_LATENCY_STATS = {"min": 0.0, "p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "max": 1.0}


class Estimate(BaseModel):
    """A figure with its 95% interval (``low`` to ``high``) and how the interval was made:
    ``bootstrap`` (raw latencies), ``runs`` (that, widened to each run's own figure),
    ``summary`` (a fixed spread: no raw data), ``exact`` (no
    noise: accuracy) or ``missing`` (the run has no such figure: NaN)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    value: JsonFloat
    low: JsonFloat
    high: JsonFloat
    method: Method

    @classmethod
    def summary(cls, value: float) -> Estimate:
        return cls.model_construct(
            value=value,
            low=value / (1 + SUMMARY_SPREAD),
            high=value * (1 + SUMMARY_SPREAD),
            method="summary",
        )


MISSING = Estimate.model_construct(value=math.nan, low=math.nan, high=math.nan, method="missing")


def better(a: Estimate, b: Estimate, direction: str, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether ``a`` is better than ``b`` with separated intervals and beyond ``tolerance``
    (a fraction of the worse figure). A missing figure is better than nothing and worse than
    nothing: it never separates."""
    if a.method == "missing" or b.method == "missing":
        return False
    if direction == "min":
        return a.high < b.low and a.value * (1 + tolerance) < b.value
    return a.low > b.high and a.value > b.value * (1 + tolerance)


def dominates(
    a: Sequence[Estimate],
    b: Sequence[Estimate],
    directions: Sequence[str],
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """A dominates B: at least as good on every objective (B is better on none, noise
    allowed for) and better on at least one, with the intervals separated."""
    pairs = list(zip(a, b, directions, strict=True))
    if any(better(y, x, d, tolerance) for x, y, d in pairs):
        return False
    return any(better(x, y, d, tolerance) for x, y, d in pairs)


def dominators_of(
    candidate: Sequence[Estimate],
    others: Mapping[str, Sequence[Estimate]],
    directions: Sequence[str],
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[str]:
    """The keys of ``others`` that dominate ``candidate``, in their order: what the pruning
    rule counts (a trial is stopped once k finished configurations dominate it)."""
    return [k for k, est in others.items() if dominates(est, candidate, directions, tolerance)]


class NoisyFrontier(BaseModel):
    """``groups``: the frontier, as groups of configurations that are statistically
    indistinguishable (ties), best first by the first objective; ``dominated``: every other
    configuration with the frontier configurations that dominate it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    groups: list[list[str]]
    dominated: dict[str, list[str]]

    @property
    def members(self) -> list[str]:
        return [k for group in self.groups for k in group]


def noisy_frontier(
    estimates: Mapping[str, Sequence[Estimate]],
    directions: Sequence[str],
    tolerance: float = DEFAULT_TOLERANCE,
) -> NoisyFrontier:
    """The noise-aware frontier of the configurations in ``estimates`` (key -> one
    ``Estimate`` per objective, in ``directions``' order)."""
    keys = list(estimates)
    front = [
        k
        for k in keys
        if not any(dominates(estimates[o], estimates[k], directions, tolerance) for o in keys)
    ]
    groups = _ties(front, estimates, directions, tolerance)
    first = directions[0] if directions else "min"

    def rank(group: list[str]) -> float:
        best = [estimates[k][0].value for k in group] if directions else [0.0]
        value = min(best) if first == "min" else -max(best)
        return value if math.isfinite(value) else math.inf

    groups.sort(key=rank)
    front = [k for group in groups for k in group]
    dominated = {
        k: dominators_of(estimates[k], {f: estimates[f] for f in front}, directions, tolerance)
        for k in keys
        if k not in front
    }
    # A dominated configuration is dominated by another one, not always by a frontier one
    # (noisy dominance is not transitive); name whoever dominates it then.
    for k, by in dominated.items():
        if not by:
            dominated[k] = dominators_of(
                estimates[k], {o: estimates[o] for o in keys if o != k}, directions, tolerance
            )
    return NoisyFrontier.model_construct(groups=groups, dominated=dominated)


def _ties(
    front: list[str],
    estimates: Mapping[str, Sequence[Estimate]],
    directions: Sequence[str],
    tolerance: float,
) -> list[list[str]]:
    """Frontier configurations joined when neither is better than the other on any
    objective (and through such chains): the groups of ties, each in frontier order."""
    parent = {k: k for k in front}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, a in enumerate(front):
        for b in front[i + 1 :]:
            apart = any(
                better(x, y, d, tolerance) or better(y, x, d, tolerance)
                for x, y, d in zip(estimates[a], estimates[b], directions, strict=True)
            )
            if not apart:
                parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for k in front:
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


# -- estimates from runs ---------------------------------------------------------------------


def estimate_latency(
    latencies_ns: Sequence[int] | NDArray[Any],
    stat: str,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> Estimate:
    """The latency statistic ``stat`` (``p50``, ``p99``, ``mean``, ...) in ms with its
    bootstrap 95% interval; a summary interval when there are too few latencies."""
    import numpy as np

    from reef.results.stats import MIN_SAMPLES, _quantiles

    x = np.asarray(latencies_ns, dtype=np.float64).reshape(-1) / 1e6
    if x.size == 0:
        return MISSING
    value = float(np.mean(x)) if stat == "mean" else float(np.quantile(x, _LATENCY_STATS[stat]))
    if x.size < MIN_SAMPLES:
        return Estimate.summary(value)
    xs = np.sort(_quantiles(x, _POINTS))
    draws = _bootstrap(xs, stat, resamples, np.random.default_rng(seed))
    low, high = (float(v) for v in np.quantile(draws, [0.025, 0.975]))
    return Estimate.model_construct(
        value=value, low=min(low, value), high=max(high, value), method="bootstrap"
    )


def _bootstrap(
    xs: NDArray[Any], stat: str, resamples: int, rng: np.random.Generator
) -> NDArray[Any]:
    """``stat`` of ``resamples`` resamples of sorted ``xs``. An order statistic of a resample
    of sorted data is the data at that order statistic of the drawn indices, so only small
    integers are partitioned (as ``stats._bootstrap_medians`` does for the median)."""
    import numpy as np

    n = xs.size
    out = np.empty(resamples)
    at = min(n - 1, max(0, round(_LATENCY_STATS.get(stat, 0.5) * (n - 1))))
    for start in range(0, resamples, _CHUNK):
        rows = min(_CHUNK, resamples - start)
        idx = rng.integers(0, n, size=(rows, n), dtype=np.int32)
        if stat == "mean":
            out[start : start + rows] = xs[idx].mean(axis=1)
        else:
            out[start : start + rows] = xs[np.partition(idx, at, axis=1)[:, at]]
    return out


def estimates_of(
    records: Sequence[RunRecord], objectives: Sequence[Objective], *, seed: int = 0
) -> list[Estimate]:
    """One ``Estimate`` per objective for a configuration measured by ``records`` (one run,
    or several of the same configuration, e.g. a brief probe and the rest of its
    measurement: their raw latencies are pooled, their throughputs weighted by duration)."""
    import numpy as np

    measured = [r for r in records if r.performance is not None]
    pooled = [np.asarray(r.latencies_ns, dtype=np.int64) for r in measured if r.latencies_ns]
    raw = np.concatenate(pooled) if pooled else np.empty(0, dtype=np.int64)
    out: list[Estimate] = []
    for o in objectives:
        if o.metric.startswith("latency_"):
            stat = o.metric.removeprefix("latency_")
            if raw.size:
                each = [_stat(p, stat) for p in pooled] if len(pooled) > 1 else []
                out.append(_spanning(estimate_latency(raw, stat, seed=seed), each))
            else:
                values = [getattr(r.performance.latency_ms, stat, None) for r in measured]  # type: ignore[union-attr]
                out.append(_summary_of(values, measured))
        elif o.metric == "throughput":
            out.append(_throughput(measured, raw, seed))
        elif o.metric == "accuracy":
            acc = [r.accuracy for r in records if r.accuracy is not None]
            found = [
                a.value
                for a in acc
                if a.value is not None
                and (o.accuracy_metric is None or a.metric.lower() == o.accuracy_metric.lower())
            ]
            out.append(
                Estimate.model_construct(
                    value=found[0], low=found[0], high=found[0], method="exact"
                )
                if found
                else MISSING
            )
        else:
            out.append(_summary_of([_dig(r, o) for r in records], records))
    return out


def _throughput(measured: Sequence[RunRecord], raw: NDArray[Any], seed: int) -> Estimate:
    values = [r.performance.throughput_qps for r in measured if r.performance is not None]
    if not values:
        return MISSING
    weights = [
        (r.performance.duration_s or 1.0) if r.performance is not None else 0.0 for r in measured
    ]
    value = sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)
    back_to_back = all(r.settings.scenario in ("SingleStream", "MultiStream") for r in measured)
    if not back_to_back or raw.size == 0:
        return Estimate.summary(value)
    mean = estimate_latency(raw, "mean", seed=seed)
    if mean.method != "bootstrap" or not mean.low > 0:
        return Estimate.summary(value)
    interval = Estimate.model_construct(
        value=value,
        low=value * mean.value / mean.high,
        high=value * mean.value / mean.low,
        method="bootstrap",
    )
    return _spanning(interval, values if len(values) > 1 else [])


def _stat(latencies_ns: NDArray[Any], stat: str) -> float:
    import numpy as np

    ms = latencies_ns.astype(np.float64) / 1e6
    return float(np.mean(ms)) if stat == "mean" else float(np.quantile(ms, _LATENCY_STATS[stat]))


def _spanning(estimate: Estimate, each: Sequence[float]) -> Estimate:
    """``estimate`` widened to take in each run's own figure (method ``runs``)."""
    kept = [v for v in each if math.isfinite(v)]
    if not kept or estimate.method != "bootstrap":
        return estimate
    return Estimate.model_construct(
        value=estimate.value,
        low=min(estimate.low, *kept),
        high=max(estimate.high, *kept),
        method="runs",
    )


def _summary_of(values: Sequence[Any], records: Sequence[RunRecord]) -> Estimate:
    weights = [
        (r.performance.duration_s or 1.0) if r.performance is not None else 1.0 for r in records
    ]
    kept = [
        (float(v), w)
        for v, w in zip(values, weights, strict=False)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    if not kept:
        return MISSING
    total = sum(w for _, w in kept)
    return Estimate.summary(sum(v * w for v, w in kept) / total)


def _dig(record: RunRecord, objective: Objective) -> Any:
    from reef.results.fields import dig
    from reef.results.pareto import METRICS

    return dig(record.model_dump(mode="json"), METRICS[objective.metric].path)
