"""The univariate drift tests, each one feature's current values against its sketch.

| test | for | statistic | decides by |
| --- | --- | --- | --- |
| ``ks`` | numeric | Kolmogorov-Smirnov D against the sketch's CDF | p-value (n·m/(n+m)) |
| ``chi2`` | categorical | chi-square of the 2 x K table (reference, current) | p-value |
| ``psi`` | either | population stability index over the sketch's buckets | PSI >= 0.2 |
| ``wasserstein`` | numeric | Wasserstein-1 distance / the reference's std | >= 0.1 |
| ``js`` | either | Jensen-Shannon distance (natural log) over the buckets | >= 0.1 |

Buckets are a categorical feature's categories (values the reference never took form one
more), or a numeric feature's ten decile bins; buckets the current rows would expect fewer
than 5 values in are merged. ``auto`` chooses by feature type and the current sample's size,
as a p-value loses its meaning on large samples (any difference becomes significant):
numeric, ``ks`` up to ``SMALL`` rows and ``wasserstein`` beyond; categorical, ``chi2`` up to
``SMALL`` rows and ``js`` beyond. Online (``p_values=True``) every test decides by its
p-value, since only a p-value can be calibrated to a false-alarm rate: PSI and the squared JS
distance have chi-square limits under no drift (PSI / (1/n + 1/m) and 8·JS² / (1/n + 1/m),
K - 1 degrees of freedom); Wasserstein has none and is refused there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reef.drift import DriftError, need_scipy
from reef.drift.profile import FeatureSketch, Profile, bin_fractions, sketch_cdf, sketch_sample
from reef.drift.result import DriftResult, FeatureResult

if TYPE_CHECKING:
    import numpy as np

TESTS = ("auto", "ks", "chi2", "psi", "wasserstein", "js")
SMALL = 1000
ALPHA = 0.05
PSI_THRESHOLD = 0.2
WASSERSTEIN_THRESHOLD = 0.1
JS_THRESHOLD = 0.1
MIN_EXPECTED = 5.0
_EPS = 1e-4


def check_test(test: str) -> str:
    if test not in TESTS:
        raise DriftError(f"--test: unknown test {test!r}", hint="one of " + ", ".join(TESTS))
    return test


def check_share(drift_share: float) -> float:
    if not (0 < drift_share <= 1) or math.isnan(drift_share):
        raise DriftError(
            f"--drift-share: {drift_share} is not in (0, 1]",
            hint="the share of features that must drift for the dataset to drift",
        )
    return drift_share


def choose(sketch: FeatureSketch, rows: int, test: str = "auto", p_values: bool = False) -> str:
    """The test ``auto`` stands for, on this feature and ``rows`` current values."""
    if test != "auto":
        return test
    small = rows <= SMALL or p_values
    if sketch.kind == "categorical":
        return "chi2" if small else "js"
    return "ks" if small else "wasserstein"


# --- the statistics, on plain inputs ---------------------------------------------------------


def psi(reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray) -> float:
    """Population stability index: sum of (c - r) ln(c / r) over buckets, fractions clipped
    below at 1e-4 so that an empty bucket counts without being infinite."""
    import numpy as np

    r = np.clip(np.asarray(reference, dtype=np.float64), _EPS, None)
    c = np.clip(np.asarray(current, dtype=np.float64), _EPS, None)
    return float(np.sum((c - r) * np.log(c / r)))


def js_distance(p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray) -> float:
    """Jensen-Shannon distance (natural log): the square root of the JS divergence."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon  # type: ignore[import-untyped]

    return float(jensenshannon(np.asarray(p, dtype=float), np.asarray(q, dtype=float)))


def wasserstein(u: Sequence[float] | np.ndarray, v: Sequence[float] | np.ndarray) -> float:
    """Wasserstein-1 distance between two samples (scipy.stats.wasserstein_distance)."""
    from scipy.stats import wasserstein_distance  # type: ignore[import-untyped]

    return float(wasserstein_distance(u, v))


def ks_statistic(sketch: FeatureSketch, values: np.ndarray) -> float:
    """sup |F_current - F_reference| with F_reference the sketch's CDF."""
    import numpy as np

    x = np.sort(values)
    n = len(x)
    if sketch.kind == "categorical":
        points = np.union1d(np.asarray(sketch.categories), x)
        current = np.searchsorted(x, points, side="right") / n
        return float(np.max(np.abs(current - sketch_cdf(sketch, points))))
    unique = np.unique(x)
    right = np.searchsorted(x, unique, side="right") / n
    left = np.searchsorted(x, unique, side="left") / n
    below = sketch_cdf(sketch, unique, side="left")  # F(x-): an atom's jump counts once
    return float(
        max(
            np.max(np.abs(right - sketch_cdf(sketch, unique))),
            np.max(np.abs(left - below)),
        )
    )


def buckets(sketch: FeatureSketch, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference's and the current values' fractions in the sketch's buckets, merged
    where the current rows would expect fewer than ``MIN_EXPECTED`` values."""
    import numpy as np

    if sketch.kind == "categorical":
        cats = np.asarray(sketch.categories)
        index = np.searchsorted(cats, values)
        known = (index < len(cats)) & (cats[np.minimum(index, len(cats) - 1)] == values)
        counts = np.bincount(np.where(known, index, len(cats)), minlength=len(cats) + 1)
        cur = counts / len(values)
        ref = np.append(np.asarray(sketch.category_fractions), 0.0)
    else:
        cur = bin_fractions(values, sketch.bin_edges)
        ref = np.asarray(sketch.bin_fractions)
    small = ref * len(values) < MIN_EXPECTED
    if small.any() and (~small).any():
        ref = np.append(ref[~small], ref[small].sum())
        cur = np.append(cur[~small], cur[small].sum())
    return ref, cur


# --- one feature -----------------------------------------------------------------------------


def feature_test(
    sketch: FeatureSketch,
    values: np.ndarray,
    test: str = "auto",
    *,
    alpha: float = ALPHA,
    p_values: bool = False,
) -> FeatureResult:
    """``values`` (one feature's current values, finite, at least one) against ``sketch``."""
    from scipy.stats import chi2, kstwo

    n, m = len(values), sketch.count
    chosen = choose(sketch, n, check_test(test), p_values)
    scale = 1.0 / n + 1.0 / m
    p: float | None
    if chosen == "ks":
        statistic = ks_statistic(sketch, values)
        p = float(kstwo.sf(statistic, max(1, round(n * m / (n + m)))))
    elif chosen == "wasserstein":
        if p_values:
            raise DriftError(
                "--test wasserstein has no p-value, so no calibrated threshold online",
                hint="use ks, chi2, psi, js or auto",
            )
        spread = sketch.std if sketch.std > 0 else 1.0
        statistic = wasserstein(values, sketch_sample(sketch)) / spread
        p = None
    else:
        ref, cur = buckets(sketch, values)
        dof = max(int(((ref > 0) | (cur > 0)).sum()) - 1, 0)
        if chosen == "chi2":
            statistic, p = _chi2(ref * m, cur * n)
        elif chosen == "psi":
            statistic = psi(ref, cur)
            p = float(chi2.sf(statistic / scale, dof)) if dof else 1.0
        else:
            statistic = js_distance(ref, cur)
            p = float(chi2.sf(8 * statistic**2 / scale, dof)) if dof else 1.0
    if p_values or chosen in ("ks", "chi2"):
        assert p is not None
        threshold, drift = alpha, p < alpha
    else:
        threshold = {"psi": PSI_THRESHOLD, "wasserstein": WASSERSTEIN_THRESHOLD}.get(
            chosen, JS_THRESHOLD
        )
        drift = statistic >= threshold
    return FeatureResult(
        name=sketch.name,
        kind=sketch.kind,
        test=chosen,
        statistic=float(statistic),
        p_value=p,
        threshold=threshold,
        drift=bool(drift),
    )


def _chi2(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square of the 2 x K table (what ``scipy.stats.chi2_contingency``
    computes without Yates' correction, at a twentieth of its cost)."""
    import numpy as np
    from scipy.stats import chi2

    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return statistic, float(chi2.sf(statistic, table.shape[1] - 1))


# --- a whole sample --------------------------------------------------------------------------


def compare(
    profile: Profile,
    current: np.ndarray,
    *,
    test: str = "auto",
    drift_share: float = 0.5,
    alpha: float = ALPHA,
    reconstruction_alpha: float | None = None,
    p_values: bool = False,
) -> DriftResult:
    """``current`` (rows x the profile's features, finite) against ``profile``: each feature's
    test, the dataset's verdict by ``drift_share``, and each reconstruction model's."""
    from reef.drift.reconstruction import score

    need_scipy()
    check_test(test)
    check_share(drift_share)
    if current.ndim != 2 or current.shape[1] != len(profile.features):
        raise DriftError(
            f"the current rows have {current.shape[-1]} features; the reference has "
            f"{len(profile.features)}"
        )
    features = [
        feature_test(sketch, current[:, i], test, alpha=alpha, p_values=p_values)
        for i, sketch in enumerate(profile.features)
    ]
    drifted = sum(f.drift for f in features)
    share = drifted / len(features)
    dataset_drift = share >= drift_share
    recon = [
        score(model, current, alpha if reconstruction_alpha is None else reconstruction_alpha)
        for model in profile.reconstruction
    ]
    return DriftResult(
        rows=int(current.shape[0]),
        features=features,
        drifted_features=drifted,
        share=share,
        drift_share=drift_share,
        dataset_drift=dataset_drift,
        reconstruction=recon,
        drifted=dataset_drift or any(r.drift for r in recon),
        alpha=alpha,
    )
