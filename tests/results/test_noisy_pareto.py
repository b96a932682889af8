"""The noise-aware frontier on synthetic latencies: a difference counts only with separated
intervals, the frontier keeps its ties together, and the pruning rule counts dominators."""

from __future__ import annotations

import math

import numpy as np

from factories import from_raw, run_record
from reef.results.noisy_pareto import (
    Estimate,
    better,
    dominates,
    dominators_of,
    estimate_latency,
    estimates_of,
    noisy_frontier,
)
from reef.results.pareto import Objective

MIN_MAX = ["min", "max"]


def latencies(median_ms: float, n: int = 3000, seed: int = 0, spread: float = 0.2) -> list[int]:
    """Log-normal latencies in ns around ``median_ms``, as a model's queries scatter."""
    rng = np.random.default_rng(seed)
    return (rng.lognormal(math.log(median_ms * 1e6), spread, n)).astype(np.int64).tolist()


def est(value: float, half: float) -> Estimate:
    return Estimate(value=value, low=value - half, high=value + half, method="bootstrap")


def test_the_interval_holds_the_statistic_and_narrows_with_more_latencies() -> None:
    few = estimate_latency(latencies(2.0, n=200), "p99")
    many = estimate_latency(latencies(2.0, n=20000), "p99")
    for e in (few, many):
        assert e.method == "bootstrap"
        assert e.low <= e.value <= e.high
    assert (many.high - many.low) < (few.high - few.low)
    p50 = estimate_latency(latencies(2.0), "p50")
    assert 1.9 < p50.value < 2.1 and p50.low < p50.value < p50.high


def test_too_few_latencies_give_a_summary_interval() -> None:
    e = estimate_latency([1_000_000] * 5, "p50")
    assert e.method == "summary" and e.low < 1.0 < e.high


def test_better_needs_separated_intervals_and_more_than_the_tolerance() -> None:
    assert better(est(1.0, 0.1), est(2.0, 0.1), "min")
    assert not better(est(1.0, 0.6), est(2.0, 0.6), "min")  # intervals overlap
    assert better(est(2.0, 0.1), est(1.0, 0.1), "max")
    # Separated, but 2% apart: within the 5% tolerance, as `reef compare` would say.
    assert not better(est(1.00, 0.001), est(1.02, 0.001), "min")
    assert not better(Estimate(value=math.nan, low=math.nan, high=math.nan, method="missing"),
                      est(2.0, 0.1), "min")  # fmt: skip


def test_dominance_is_on_every_objective() -> None:
    fast_busy = [est(1.0, 0.1), est(1000, 10)]
    slow_busy = [est(2.0, 0.1), est(1000, 10)]
    slow_idle = [est(2.0, 0.1), est(2000, 10)]
    assert dominates(fast_busy, slow_busy, MIN_MAX)
    assert not dominates(slow_busy, fast_busy, MIN_MAX)
    assert not dominates(fast_busy, slow_idle, MIN_MAX)  # a trade-off
    assert not dominates(slow_idle, fast_busy, MIN_MAX)
    assert not dominates(fast_busy, fast_busy, MIN_MAX)


def test_noise_is_no_domination_where_the_plain_frontier_sees_one() -> None:
    """Two runs of one configuration: one has the lower p99 by chance. Plain dominance would
    drop the other; the noisy frontier keeps both, as one group of ties."""
    objectives = [Objective.parse("latency_p99:min"), Objective.parse("throughput:max")]
    runs = {}
    for seed in (1, 2):
        raw = latencies(2.0, seed=seed)
        runs[f"seed{seed}"] = estimates_of([run_record(raw=raw, **from_raw(raw))], objectives)
    a, b = runs["seed1"], runs["seed2"]
    assert a[0].value != b[0].value  # the figures differ...
    front = noisy_frontier(runs, MIN_MAX)
    assert front.groups == [["seed1", "seed2"]]  # ...and the difference is noise
    assert front.dominated == {}


def test_frontier_groups_ties_and_lists_dominators() -> None:
    objectives = [Objective.parse("latency_p99:min"), Objective.parse("throughput:max")]
    configs = {}
    for key, median, seed in [("fast", 1.0, 1), ("fast-again", 1.0, 2), ("slow", 3.0, 3)]:
        raw = latencies(median, seed=seed)
        configs[key] = estimates_of([run_record(raw=raw, **from_raw(raw))], objectives)
    front = noisy_frontier(configs, MIN_MAX)
    assert front.groups == [["fast", "fast-again"]]
    assert front.dominated == {"slow": ["fast", "fast-again"]}
    assert front.members == ["fast", "fast-again"]


def test_a_trade_off_is_two_groups_best_first() -> None:
    configs = {
        "b": [est(2.0, 0.1), est(2000, 10)],
        "a": [est(1.0, 0.1), est(1000, 10)],
        "c": [est(3.0, 0.1), est(900, 10)],
    }
    front = noisy_frontier(configs, MIN_MAX)
    assert front.groups == [["a"], ["b"]]
    assert front.dominated == {"c": ["a", "b"]}


def test_the_pruning_rule_counts_finished_configurations_that_dominate() -> None:
    finished = {
        "0": [est(1.0, 0.1), est(1000, 10)],
        "1": [est(1.1, 0.1), est(990, 10)],
        "2": [est(5.0, 0.1), est(5000, 10)],
    }
    clearly_worse = [est(3.0, 0.2), est(500, 50)]
    assert dominators_of(clearly_worse, finished, MIN_MAX) == ["0", "1"]
    # A brief measurement is wide: overlapping its neighbours, it is not pruned.
    unsure = [est(1.5, 0.6), est(950, 100)]
    assert dominators_of(unsure, finished, MIN_MAX) == []


def test_throughput_interval_follows_the_mean_query_time() -> None:
    objectives = [Objective.parse("throughput:max")]
    raw = latencies(2.0)
    [e] = estimates_of([run_record(raw=raw, **from_raw(raw))], objectives)
    assert e.method == "bootstrap"
    assert e.low < e.value < e.high
    assert (e.high - e.low) / e.value < 0.1
    offline = run_record(raw=raw, scenario="Offline", **from_raw(raw))
    [s] = estimates_of([offline], objectives)
    assert s.method == "summary"


def test_runs_of_one_configuration_are_pooled() -> None:
    objectives = [Objective.parse("latency_p50:min"), Objective.parse("accuracy:max")]
    a, b = latencies(2.0, n=500, seed=1), latencies(2.0, n=1500, seed=2)
    alone = estimates_of([run_record(raw=a, **from_raw(a), accuracy=0.9)], objectives)
    pooled = estimates_of(
        [run_record(raw=a, **from_raw(a), accuracy=0.9), run_record(raw=b, **from_raw(b))],
        objectives,
    )
    assert pooled[0].high - pooled[0].low < alone[0].high - alone[0].low
    assert pooled[1] == Estimate(value=0.9, low=0.9, high=0.9, method="exact")


def test_the_interval_of_several_runs_takes_in_each_run() -> None:
    """Two runs of one configuration at different moments: 2 ms, then 3 ms on a busier
    machine. The pooled bootstrap alone would be narrow around the pooled figure; the
    interval spans both runs' figures, so a third configuration at 2.5 ms is not beaten."""
    objectives = [Objective.parse("latency_p50:min"), Objective.parse("throughput:max")]
    a, b = latencies(2.0, seed=1), latencies(3.0, seed=2)
    [lat, tput] = estimates_of(
        [run_record(raw=a, **from_raw(a)), run_record(raw=b, **from_raw(b))], objectives
    )
    assert lat.method == "runs" and lat.low <= 2.0 * 1.01 and lat.high >= 3.0 * 0.99
    assert tput.method == "runs" and tput.high >= 1000 / 2.0 * 0.95
    c = latencies(2.5, seed=3)
    middle = estimates_of([run_record(raw=c, **from_raw(c))], objectives)
    assert not dominates(middle, [lat, tput], MIN_MAX)
    assert not dominates([lat, tput], middle, MIN_MAX)


def test_without_raw_latencies_the_summary_rule_applies() -> None:
    objectives = [Objective.parse("latency_p90:min")]
    [e] = estimates_of([run_record(latency_ms={**_figures(3.0)})], objectives)
    assert e.method == "summary" and e.value == 3.0
    near = estimates_of([run_record(latency_ms=_figures(3.2))], objectives)[0]
    far = estimates_of([run_record(latency_ms=_figures(4.0))], objectives)[0]
    assert not better(e, near, "min")  # 7% apart: no test possible, not a difference
    assert better(e, far, "min")


def _figures(p90: float) -> dict[str, float]:
    return {"min": 1.0, "mean": 2.0, "p50": 2.0, "p90": p90, "p95": 3.5, "p99": 4.0, "max": 9.0}
