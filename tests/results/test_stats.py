"""Latency comparison: noise is "same", a real shift is found and sized, small samples are safe."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest

from reef.results.stats import (
    StatsError,
    cliffs_delta,
    compare_latencies,
    compare_summaries,
    effect_label,
)


def latencies(n: int, seed: int, scale: float = 1.0) -> np.ndarray[Any, Any]:
    """Right-skewed latencies around 2 ms, in nanoseconds, like a real SingleStream run."""
    rng = np.random.default_rng(seed)
    return (rng.lognormal(np.log(2e6), 0.25, n) * scale).astype(np.int64)


def test_same_distribution_is_same_over_many_seeds() -> None:
    verdicts = [
        compare_latencies(latencies(400, seed), latencies(400, seed + 100), resamples=300).verdict
        for seed in range(12)
    ]
    assert verdicts.count("same") == len(verdicts)


def test_a_small_but_significant_shift_within_tolerance_is_same() -> None:
    result = compare_latencies(latencies(20000, 1), latencies(20000, 2, scale=1.02), resamples=400)
    assert result.p_value < 0.05  # the shift is real ...
    assert result.verdict == "same"  # ... but too small to call a difference
    assert "no significant difference" in result.describe()


def test_a_30_percent_slowdown_is_found_and_sized() -> None:
    result = compare_latencies(latencies(3000, 1), latencies(3000, 2, scale=1.3))
    assert result.verdict == "slower"
    assert result.ci_low < 1.3 < result.ci_high
    assert result.ci_low > 1
    assert result.p_value < 0.001
    assert result.effect_label == "large" and 0.474 <= result.effect_size <= 1
    assert result.describe().startswith("B is 1.3")
    assert "slower" in result.describe() and "Cliff's delta" in result.describe()
    assert result.median_a_ms == pytest.approx(2.0, rel=0.03)


def test_a_speedup_is_faster_and_described_as_a_factor_above_one() -> None:
    result = compare_latencies(latencies(3000, 1), latencies(3000, 2, scale=0.7))
    assert result.verdict == "faster"
    assert result.ratio == pytest.approx(0.7, rel=0.03)
    assert result.effect_size < 0
    assert result.describe().startswith("B is 1.4")  # 1 / 0.7


def test_results_are_deterministic_for_a_seed() -> None:
    a, b = latencies(500, 1), latencies(500, 2, scale=1.1)
    assert compare_latencies(a, b, seed=3) == compare_latencies(a, b, seed=3)


@pytest.mark.parametrize("n_a, n_b", [(0, 100), (5, 100), (100, 19)])
def test_too_few_samples_is_same_and_says_so(n_a: int, n_b: int) -> None:
    result = compare_latencies(latencies(n_a, 1), latencies(n_b, 2, scale=3.0))
    assert result.verdict == "same"
    assert result.insufficient
    assert "too few latencies" in result.describe()
    json.dumps(result.model_dump(mode="json"), allow_nan=False)  # unknown figures are null, not NaN


def test_the_json_dump_is_plain_json() -> None:
    data = compare_latencies(latencies(100, 1), latencies(100, 2)).model_dump(mode="json")
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["verdict"] == "same"
    assert "description" in data


def test_cliffs_delta_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 30, 200).astype(float)  # many ties
    b = rng.integers(5, 35, 150).astype(float)
    pairwise = np.sign(b[:, None] - a[None, :]).mean()
    assert cliffs_delta(a, b) == pytest.approx(pairwise)


@pytest.mark.parametrize(
    "delta, label",
    [(0.1, "negligible"), (-0.2, "small"), (0.4, "medium"), (-0.5, "large"), (1.0, "large")],
)
def test_effect_labels(delta: float, label: str) -> None:
    assert effect_label(delta) == label


def test_a_million_latencies_each_compare_quickly() -> None:
    a, b = latencies(1_000_000, 1), latencies(1_000_000, 2, scale=1.3)
    start = time.perf_counter()
    result = compare_latencies(a, b)
    elapsed = time.perf_counter() - start
    assert result.verdict == "slower" and result.n_a == 1_000_000
    assert elapsed < 5  # about 1.3 s on a 2-core laptop-class machine


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": 0}, "alpha"),
        ({"tolerance": -0.1}, "tolerance"),
        ({"resamples": 10}, "resamples"),
        ({"max_points": 5}, "max_points"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(StatsError, match=message):
        compare_latencies([1] * 50, [1] * 50, **kwargs)


def test_bad_latencies_are_refused() -> None:
    with pytest.raises(StatsError, match="NaN"):
        compare_latencies([1.0] * 30 + [float("nan")], [1] * 50)
    with pytest.raises(StatsError, match="negative"):
        compare_latencies([1] * 50, [-1] * 50)


SUMMARY = {"min": 1.0, "mean": 2.1, "p50": 2.0, "p90": 3.0, "p95": 3.5, "p99": 5.0, "max": 9.0}


def test_summaries_slower_only_when_every_percentile_moves_past_tolerance() -> None:
    slower = compare_summaries(SUMMARY, {k: v * 1.5 for k, v in SUMMARY.items()})
    assert slower.verdict == "slower" and slower.ratio == pytest.approx(1.5)
    assert "percentiles only" in slower.describe() and "1.50x slower" in slower.describe()
    json.dumps(slower.model_dump(mode="json"), allow_nan=False)

    mixed = dict(SUMMARY, p50=SUMMARY["p50"] * 1.5)  # the median moved, the tail did not
    assert compare_summaries(SUMMARY, mixed).verdict == "same"
    noise = {k: v * 1.05 for k, v in SUMMARY.items()}
    assert compare_summaries(SUMMARY, noise).verdict == "same"
    faster = compare_summaries(SUMMARY, {k: v / 2 for k, v in SUMMARY.items()})
    assert faster.verdict == "faster" and "2.00x faster" in faster.describe()


def test_summaries_with_nothing_in_common_are_not_compared() -> None:
    result = compare_summaries({"p50": 1.0}, {"p90": 2.0})
    assert result.verdict == "same" and "not compared" in result.describe()
    json.dumps(result.model_dump(mode="json"), allow_nan=False)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shift", [1.0, 1.03, 1.2])
def test_the_u_test_agrees_with_scipy(seed: int, shift: float) -> None:
    from scipy.stats import mannwhitneyu

    from reef.results.stats import _mann_whitney

    rng = np.random.default_rng(seed)
    # Rounded to whole microseconds, as clocks are: many ties, which the correction handles.
    a = np.round(rng.lognormal(4, 0.2, 300))
    b = np.round(rng.lognormal(4, 0.2, 250) * shift)
    expected = mannwhitneyu(b, a, alternative="two-sided", method="asymptotic").pvalue
    assert _mann_whitney(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_the_interval_bounds_the_ratio_of_bimodal_medians(seed: int) -> None:
    # Two modes with a gap, as a small model's latencies often have: the median sits at the
    # edge of one mode, where a random subsample easily puts it in the other.
    rng = np.random.default_rng(seed)

    def bimodal(n: int, share_fast: float) -> np.ndarray:
        fast = rng.normal(14_000, 500, int(n * share_fast))
        slow = rng.normal(26_000, 1_500, n - fast.size)
        return np.concatenate([fast, slow])

    result = compare_latencies(bimodal(46_000, 0.503), bimodal(40_000, 0.497), seed=seed)
    assert result.ci_low <= result.ratio <= result.ci_high
