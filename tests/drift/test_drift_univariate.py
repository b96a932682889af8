"""The univariate tests: hand-computed figures on tiny inputs, known shifts flagged and no
shift not, the automatic choice, drift_share."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reef.drift import DriftError
from reef.drift.profile import build_profile
from reef.drift.tests import (
    buckets,
    choose,
    compare,
    feature_test,
    js_distance,
    ks_statistic,
    psi,
    wasserstein,
)


def test_psi_by_hand() -> None:
    # (0.5-0.25) ln(0.5/0.25) + (0.5-0.75) ln(0.5/0.75)
    expected = 0.25 * math.log(2) - 0.25 * math.log(2 / 3)
    assert psi([0.25, 0.75], [0.5, 0.5]) == pytest.approx(expected)
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    # an empty bucket counts as 1e-4, not as infinity
    assert psi([1.0, 0.0], [0.5, 0.5]) == pytest.approx(
        -0.5 * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    )


def test_js_by_hand() -> None:
    # JS divergence of (1, 0) and (0, 1) is ln 2; the distance its square root
    assert js_distance([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    m = (p + q) / 2
    kl = lambda a, b: float(np.sum(a * np.log(a / b)))  # noqa: E731
    assert js_distance(p, q) == pytest.approx(math.sqrt((kl(p, m) + kl(q, m)) / 2))


def test_wasserstein_by_hand() -> None:
    assert wasserstein([0, 1, 3], [5, 6, 8]) == pytest.approx(5.0)
    assert wasserstein([0, 0], [0, 2]) == pytest.approx(1.0)


def test_ks_against_the_sketch_by_hand() -> None:
    profile = build_profile(np.arange(101, dtype=float).reshape(-1, 1) + 0.5)  # numeric
    sketch = profile.features[0]
    # every current value below the reference: the CDFs differ by 1
    assert ks_statistic(sketch, np.array([-5.0, -4.0])) == pytest.approx(1.0)
    # the lower half of the reference's range: F_current reaches 1 where F_reference is 1/2
    assert ks_statistic(sketch, np.linspace(0.5, 50.5, 500)) == pytest.approx(0.5, abs=0.01)


def test_chi_square_on_a_categorical_feature() -> None:
    rng = np.random.default_rng(0)
    ref = rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2], size=(3000, 1))
    profile = build_profile(ref)
    sketch = profile.features[0]
    assert sketch.kind == "categorical"
    assert sketch.categories == [0.0, 1.0, 2.0]
    same = feature_test(sketch, rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2], size=400).astype(float))
    moved = feature_test(sketch, rng.choice([0, 1, 2], p=[0.3, 0.3, 0.4], size=400).astype(float))
    assert same.test == moved.test == "chi2"
    assert not same.drift and same.p_value is not None and same.p_value > 0.05
    assert moved.drift and moved.p_value is not None and moved.p_value < 1e-6


def test_a_category_the_reference_never_saw_is_drift() -> None:
    sketch = build_profile(np.zeros((500, 1)) + np.arange(2).repeat(250)[:, None]).features[0]
    ref, cur = buckets(sketch, np.array([0.0] * 50 + [7.0] * 50))
    assert ref[-1] == 0.0 and cur[-1] == pytest.approx(0.5)
    assert feature_test(sketch, np.array([0.0] * 50 + [7.0] * 50)).drift


@pytest.mark.parametrize("test", ["ks", "psi", "js", "wasserstein", "chi2"])
def test_each_test_flags_a_shift_and_not_its_absence(test: str) -> None:
    rng = np.random.default_rng(1)
    profile = build_profile(rng.normal(size=(5000, 1)))
    sketch = profile.features[0]
    same = feature_test(sketch, rng.normal(size=800), test)
    moved = feature_test(sketch, rng.normal(loc=0.7, size=800), test)
    assert same.test == moved.test == test
    assert not same.drift, same
    assert moved.drift, moved


def test_the_automatic_choice() -> None:
    rng = np.random.default_rng(2)
    profile = build_profile(np.column_stack([rng.normal(size=500), rng.integers(0, 4, 500)]))
    numeric, categorical = profile.features
    assert (numeric.kind, categorical.kind) == ("numeric", "categorical")
    assert choose(numeric, 1000) == "ks"
    assert choose(numeric, 1001) == "wasserstein"
    assert choose(categorical, 1000) == "chi2"
    assert choose(categorical, 1001) == "js"
    # online every test decides by a p-value
    assert choose(numeric, 5000, p_values=True) == "ks"
    assert choose(numeric, 10, "psi") == "psi"


def test_drift_share_decides_for_the_dataset() -> None:
    rng = np.random.default_rng(3)
    profile = build_profile(rng.normal(size=(3000, 4)))
    current = rng.normal(size=(500, 4))
    current[:, 0] += 1.0  # one feature of four drifts
    half = compare(profile, current, drift_share=0.5, alpha=0.01)
    quarter = compare(profile, current, drift_share=0.25, alpha=0.01)
    assert half.drifted_features == quarter.drifted_features == 1
    assert half.share == 0.25
    assert not half.dataset_drift and not half.drifted
    assert quarter.dataset_drift and quarter.drifted


def test_no_shift_is_not_flagged_and_a_shift_is() -> None:
    rng = np.random.default_rng(4)
    profile = build_profile(rng.normal(size=(4000, 10)))
    assert not compare(profile, rng.normal(size=(400, 10))).drifted
    assert compare(profile, rng.normal(loc=0.5, size=(400, 10))).drifted
    # a large sample: auto uses the normalised Wasserstein distance
    big = compare(profile, rng.normal(size=(3000, 10)))
    assert {f.test for f in big.features} == {"wasserstein"} and not big.drifted
    assert compare(profile, rng.normal(scale=1.5, size=(3000, 10))).drifted


def test_bad_requests_are_refused() -> None:
    profile = build_profile(np.random.default_rng(5).normal(size=(100, 2)))
    with pytest.raises(DriftError, match="unknown test 'kl'"):
        compare(profile, np.zeros((10, 2)), test="kl")
    with pytest.raises(DriftError, match="drift-share"):
        compare(profile, np.zeros((10, 2)), drift_share=0)
    with pytest.raises(DriftError, match="3 features; the reference has 2"):
        compare(profile, np.zeros((10, 3)))
    with pytest.raises(DriftError, match="no p-value"):
        feature_test(profile.features[0], np.zeros(10), "wasserstein", p_values=True)


def test_the_chi_square_is_scipys() -> None:
    from scipy.stats import chi2_contingency

    from reef.drift.tests import _chi2

    ref, cur = np.array([50.0, 30.0, 20.0, 0.0]), np.array([10.0, 12.0, 30.0, 3.0])
    found = chi2_contingency(np.vstack([ref[:4], cur[:4]]), correction=False)
    assert _chi2(ref, cur) == pytest.approx((found.statistic, found.pvalue))


def test_ks_on_a_feature_with_an_atom_is_small_when_nothing_changed() -> None:
    """A numeric feature most of whose values are one number (a digit's blank pixel, 0): the
    sketch's CDF jumps there, and the same distribution is not called drifted (before, the
    interpolated CDF put the jump past the atom and KS found D = 0.84)."""
    from reef.drift.tests import ks_statistic

    rng = np.random.default_rng(0)

    def draw(n: int) -> np.ndarray:
        x = rng.random(n) * 0.9 + 0.1
        x[rng.random(n) < 0.8] = 0.0
        return x

    sketch = build_profile(draw(2000).reshape(-1, 1)).features[0]
    assert sketch.kind == "numeric" and sketch.quantiles[:3] == [0.0, 0.0, 0.0]
    assert ks_statistic(sketch, draw(300)) < 0.1
    shifted = draw(300)
    shifted[shifted == 0.0] = 0.05  # the atom moved: drift
    assert ks_statistic(sketch, shifted) > 0.7
