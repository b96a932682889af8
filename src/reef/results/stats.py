"""Comparing two latency samples without calling noise a difference.

Two runs of the same model never give the same latencies. A difference is declared only when
every test agrees it is real *and* large enough to matter: the Mann-Whitney U test rejects
"same distribution", the bootstrap confidence interval of the ratio of medians excludes 1,
Cliff's delta is at least "small" and the medians differ by more than a tolerance. Otherwise
the verdict is "same" (pyperf's "Not significant!").

When only the summary percentiles of a run were kept, ``compare_summaries`` compares those,
with a wider tolerance and saying plainly that no significance test was possible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer, computed_field

from reef.errors import ResultsError

if TYPE_CHECKING:
    from typing import TypeAlias

    import numpy as np
    from numpy.typing import NDArray

    Latencies: TypeAlias = Sequence[int] | Sequence[float] | NDArray[Any]

Verdict = Literal["same", "slower", "faster"]

MIN_SAMPLES = 20
# Romano et al. (2006): |delta| below .147 is negligible, below .33 small, below .474 medium.
_EFFECT_THRESHOLDS = ((0.147, "negligible"), (0.33, "small"), (0.474, "medium"))
# Bootstrap resamples drawn at once: bounds memory to about this many x n int32 indices.
_CHUNK = 200
# The bootstrap draws resamples x points indices: a few thousand points already give an
# interval as narrow as the noise allows, and fewer only widen it (more cautious).
_BOOTSTRAP_POINTS = 5000
# Percentiles compared when only summaries exist, most telling first.
_SUMMARY_KEYS = ("p50", "p90", "p95", "p99", "mean")


class StatsError(ResultsError):
    """A comparison was asked with nonsensical parameters."""


def json_number(value: float | None) -> float | None:
    """NaN and infinities are not JSON: unknown figures become null."""
    if value is not None and not math.isfinite(value):
        return None
    return value


# A figure that may be unknown (NaN) or infinite: null in JSON, as it is nowhere a number.
JsonFloat = Annotated[
    float, PlainSerializer(json_number, return_type=float | None, when_used="json")
]


class LatencyComparison(BaseModel):
    """B against A, from raw per-query latencies. Ratios are B / A: above 1 means B is slower.

    ``model_dump(mode="json")`` gives every field (unknown figures as null), then
    ``description``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    n_a: int
    n_b: int
    median_a_ms: JsonFloat
    median_b_ms: JsonFloat
    ratio: JsonFloat
    ci_low: JsonFloat
    ci_high: JsonFloat
    p_value: JsonFloat
    effect_size: JsonFloat
    effect_label: str
    verdict: Verdict
    alpha: JsonFloat = 0.05
    tolerance: JsonFloat = 0.05
    insufficient: bool = False
    note: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def description(self) -> str:
        return self.describe()

    def describe(self) -> str:
        if self.insufficient:
            return f"not compared: {self.note}"
        if self.verdict == "same":
            why = f"; {self.note}" if self.note else ""
            return (
                f"no significant difference (ratio {self.ratio:.2f}, "
                f"{self.ci_low:.2f}-{self.ci_high:.2f}{why})"
            )
        times, low, high = factor(self.ratio, self.ci_low, self.ci_high)
        return (
            f"B is {times:.2f}x {self.verdict} ({low:.2f}-{high:.2f}, {format_p(self.p_value)}, "
            f"Cliff's delta {self.effect_size:.2f} {self.effect_label})"
        )


class SummaryComparison(BaseModel):
    """B against A from summary percentiles only: no spread is known, so no test is made.

    ``ratios`` are B / A by percentile; ``ratio`` is the one of ``key``, the first of them
    (NaN: none in common)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    ratio: JsonFloat
    key: str
    verdict: Verdict
    tolerance: JsonFloat
    ratios: dict[str, JsonFloat]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def description(self) -> str:
        return self.describe()

    def describe(self) -> str:
        note = "from percentiles only: raw latencies were not kept, so no significance test"
        if not self.ratios:
            return f"not compared: no latency percentile in common ({note})"
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in self.ratios.items())
        if self.verdict == "same":
            return (
                f"no clear difference (ratios {ratios}: not all beyond "
                f"{self.tolerance:.0%} the same way; {note})"
            )
        times, _, _ = factor(self.ratio, self.ratio, self.ratio)
        return f"B's {self.key} is {times:.2f}x {self.verdict} (ratios {ratios}; {note})"


LatencyResult = LatencyComparison | SummaryComparison


def compare_latencies(
    a_ns: Latencies,
    b_ns: Latencies,
    *,
    alpha: float = 0.05,
    tolerance: float = 0.10,
    resamples: int = 2000,
    seed: int = 0,
    max_points: int = 20000,
) -> LatencyComparison:
    """Compare B's latencies (nanoseconds) with A's; deterministic for a given ``seed``.

    Medians and Cliff's delta use every latency; the U test a seeded subsample of at most
    ``max_points`` per side, and the bootstrap of at most 5,000, which keeps a million
    latencies fast and only makes the test and interval more cautious, never less.
    """
    import numpy as np

    _check_params(alpha, tolerance, resamples, max_points)
    a = _as_array(a_ns, "A")
    b = _as_array(b_ns, "B")
    if min(a.size, b.size) < MIN_SAMPLES:
        return _insufficient(a, b, alpha, tolerance)

    rng = np.random.default_rng(seed)
    med_a, med_b = float(np.median(a)), float(np.median(b))
    ratio = _ratio(med_b, med_a)
    delta = cliffs_delta(a, b)
    sub_a, sub_b = _subsample(a, max_points, rng), _subsample(b, max_points, rng)
    ci_low, ci_high = _bootstrap_ratio_ci(
        _quantiles(a, _BOOTSTRAP_POINTS), _quantiles(b, _BOOTSTRAP_POINTS), resamples, rng
    )
    p_value = _mann_whitney(sub_a, sub_b)
    label = effect_label(delta)
    verdict, note = _verdict(ratio, ci_low, ci_high, p_value, label, alpha, tolerance)
    return LatencyComparison.model_construct(
        n_a=int(a.size),
        n_b=int(b.size),
        median_a_ms=med_a / 1e6,
        median_b_ms=med_b / 1e6,
        ratio=ratio,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        effect_size=delta,
        effect_label=label,
        verdict=verdict,
        alpha=alpha,
        tolerance=tolerance,
        note=note,
    )


def compare_summaries(
    a: Mapping[str, float], b: Mapping[str, float], *, tolerance: float = 0.10
) -> SummaryComparison:
    """Compare latency percentiles (e.g. ``RunRecord.performance.latency_ms``) of B with A.

    Without the raw latencies nothing is known of the noise, so a difference is declared only
    when every shared percentile moves the same way by more than ``tolerance``.
    """
    if not tolerance >= 0:
        raise StatsError(f"tolerance must be >= 0, got {tolerance}")
    ratios = {
        k: _ratio(float(b[k]), float(a[k]))
        for k in _SUMMARY_KEYS
        if k in a and k in b and float(a[k]) > 0 and float(b[k]) > 0
    }
    if not ratios:
        return SummaryComparison.model_construct(
            ratio=math.nan, key="", verdict="same", tolerance=tolerance, ratios={}
        )
    key = next(iter(ratios))
    verdict: Verdict = "same"
    if all(r > 1 + tolerance for r in ratios.values()):
        verdict = "slower"
    elif all(r < 1 / (1 + tolerance) for r in ratios.values()):
        verdict = "faster"
    return SummaryComparison.model_construct(
        ratio=ratios[key], key=key, verdict=verdict, tolerance=tolerance, ratios=ratios
    )


def cliffs_delta(a: NDArray[Any], b: NDArray[Any]) -> float:
    """P(b > a) - P(b < a) over all pairs, in O(n log n) by sorting instead of pairing."""
    import numpy as np

    sa, sb = np.sort(a), np.sort(b)
    below = np.searchsorted(sa, sb, side="left")  # a values strictly below each b
    above = sa.size - np.searchsorted(sa, sb, side="right")  # a values strictly above it
    diff = int(below.sum(dtype=np.int64)) - int(above.sum(dtype=np.int64))
    return diff / (sa.size * sb.size)


def effect_label(delta: float) -> str:
    size = abs(delta)
    for bound, label in _EFFECT_THRESHOLDS:
        if size < bound:
            return label
    return "large"


def _verdict(
    ratio: float,
    ci_low: float,
    ci_high: float,
    p_value: float,
    label: str,
    alpha: float,
    tolerance: float,
) -> tuple[Verdict, str]:
    """The verdict, and for "same" the first reason a difference was not declared."""
    if not p_value < alpha:
        return "same", f"p={p_value:.2g} >= {alpha:g}"
    if ci_low <= 1 <= ci_high:
        return "same", "the interval contains 1"
    if label == "negligible":
        return "same", "negligible effect"
    if not abs(ratio - 1) > tolerance:
        return "same", f"within the {tolerance:.0%} tolerance"
    return ("slower" if ratio > 1 else "faster"), ""


def _bootstrap_ratio_ci(
    a: NDArray[Any], b: NDArray[Any], resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of median(b) / median(a)."""
    import numpy as np

    med_a = _bootstrap_medians(a, resamples, rng)
    med_b = _bootstrap_medians(b, resamples, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = med_b / med_a
    low, high = np.quantile(ratios, [0.025, 0.975])
    return float(low), float(high)


def _bootstrap_medians(x: NDArray[Any], resamples: int, rng: np.random.Generator) -> NDArray[Any]:
    """Medians of ``resamples`` resamples of ``x``, drawn in chunks to bound memory.

    The median of a resample of sorted data is the data at the median of the drawn indices,
    so only small integers are partitioned and no values are gathered.
    """
    import numpy as np

    xs = np.sort(x)
    n = xs.size
    mid = [n // 2 - 1, n // 2] if n % 2 == 0 else [n // 2]
    out = np.empty(resamples)
    for start in range(0, resamples, _CHUNK):
        rows = min(_CHUNK, resamples - start)
        idx = rng.integers(0, n, size=(rows, n), dtype=np.int32)
        middle = np.partition(idx, mid, axis=1)[:, mid]
        out[start : start + rows] = xs[middle].mean(axis=1)
    return out


def _mann_whitney(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Two-sided p-value of the Mann-Whitney U test of B against A: the normal approximation
    with the tie correction and the continuity correction (what ``scipy.stats.mannwhitneyu``
    computes with ``method="asymptotic"``). Exact p-values are for small samples, and at
    least ``MIN_SAMPLES`` per side are compared; importing scipy.stats would cost more than
    the test itself."""
    import math

    import numpy as np

    n1, n2 = b.size, a.size
    n = n1 + n2
    _, inverse, counts = np.unique(np.concatenate([b, a]), return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0  # tied values share the mean of their ranks
    u1 = float(mean_rank[inverse[:n1]].sum()) - n1 * (n1 + 1) / 2.0
    u = max(u1, n1 * n2 - u1)
    ties = float((counts.astype(np.float64) ** 3 - counts).sum())
    variance = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0  # every value equal: no evidence of any difference
    z = (u - n1 * n2 / 2.0 - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(z / math.sqrt(2.0)))


def _quantiles(x: NDArray[Any], points: int) -> NDArray[Any]:
    """``points`` evenly spaced order statistics of ``x``: the same shape and median as the
    whole sample (a random subsample of a bimodal one can put its median in the other mode,
    and the interval then misses the medians' ratio it is meant to bound)."""
    import numpy as np

    if x.size <= points:
        return x
    xs = np.sort(x)
    return xs[np.linspace(0, xs.size - 1, points).round().astype(np.int64)]


def _subsample(x: NDArray[Any], max_points: int, rng: np.random.Generator) -> NDArray[Any]:
    if x.size <= max_points:
        return x
    return x[rng.choice(x.size, size=max_points, replace=False)]


def _as_array(values: Latencies, side: str) -> NDArray[Any]:
    import numpy as np

    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(arr).all():
        raise StatsError(f"latencies of {side} contain NaN or infinite values")
    if (arr < 0).any():
        raise StatsError(f"latencies of {side} contain negative values")
    return arr


def _check_params(alpha: float, tolerance: float, resamples: int, max_points: int) -> None:
    if not 0 < alpha < 1:
        raise StatsError(f"alpha must be between 0 and 1, got {alpha}")
    if not tolerance >= 0:
        raise StatsError(f"tolerance must be >= 0, got {tolerance}")
    if resamples < 100:
        raise StatsError(f"resamples must be at least 100, got {resamples}")
    if max_points < MIN_SAMPLES:
        raise StatsError(f"max_points must be at least {MIN_SAMPLES}, got {max_points}")


def _insufficient(
    a: NDArray[Any], b: NDArray[Any], alpha: float, tolerance: float
) -> LatencyComparison:
    import numpy as np

    med_a = float(np.median(a)) if a.size else math.nan
    med_b = float(np.median(b)) if b.size else math.nan
    return LatencyComparison.model_construct(
        n_a=int(a.size),
        n_b=int(b.size),
        median_a_ms=med_a / 1e6,
        median_b_ms=med_b / 1e6,
        ratio=_ratio(med_b, med_a),
        ci_low=math.nan,
        ci_high=math.nan,
        p_value=math.nan,
        effect_size=math.nan,
        effect_label="unknown",
        verdict="same",
        alpha=alpha,
        tolerance=tolerance,
        insufficient=True,
        note=f"too few latencies ({a.size} vs {b.size}; at least {MIN_SAMPLES} each needed)",
    )


def _ratio(num: float, den: float) -> float:
    if math.isnan(num) or math.isnan(den) or den <= 0:
        return math.nan
    return num / den


def factor(ratio: float, low: float, high: float) -> tuple[float, float, float]:
    """How many times slower or faster, with its interval, as numbers above 1."""
    if ratio >= 1:
        return ratio, low, high
    return 1 / ratio, 1 / high, 1 / low


def format_p(p_value: float) -> str:
    """A p-value as a verdict quotes it: ``p=0.012``, or ``p<0.001``."""
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"
