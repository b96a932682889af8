"""PCA and the autoencoder: their error rises under a correlation shift that leaves every
feature's own distribution as it was, which the univariate tests cannot see."""

from __future__ import annotations

import numpy as np
import pytest

from reef.drift import DriftError
from reef.drift.profile import Profile, build_profile
from reef.drift.reconstruction import errors, fit
from reef.drift.tests import compare


def _pairs(rng: np.random.Generator, rows: int, sign: float) -> np.ndarray:
    """Two pairs of features, each pair's second the first (times ``sign``) plus noise."""
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    noise = rng.normal(scale=0.2, size=(rows, 2))
    return np.column_stack([a, sign * a + noise[:, 0], b, sign * b + noise[:, 1]])


@pytest.fixture(scope="module")
def profile() -> Profile:
    return build_profile(
        _pairs(np.random.default_rng(0), 3000, 1.0), reconstruction=("pca", "autoencoder")
    )


def test_a_correlation_shift_is_seen_by_reconstruction_only(profile: Profile) -> None:
    rng = np.random.default_rng(1)
    same = compare(profile, _pairs(rng, 300, 1.0), alpha=0.01)
    flipped = compare(profile, _pairs(rng, 300, -1.0), alpha=0.01)
    assert not same.drifted
    assert [r.drift for r in same.reconstruction] == [False, False]
    # each feature alone is as it was: the univariate tests see nothing
    assert flipped.drifted_features == 0 and not flipped.dataset_drift
    for r in flipped.reconstruction:
        assert r.drift, r
        assert r.error > 5 * r.reference_error
    assert flipped.drifted


def test_the_models_and_their_held_out_error(profile: Profile) -> None:
    pca, auto = profile.reconstruction
    assert (pca.method, auto.method) == ("pca", "autoencoder")
    assert len(pca.components) == 2  # one per correlated pair keeps 95% of the variance
    assert pca.heldout_rows == auto.heldout_rows == 750
    assert 0 < pca.heldout_mean < 0.1
    # the autoencoder runs without torch, from its stored weights
    assert [len(layer.bias) for layer in auto.layers] == [4, 2, 4, 4]
    rows = _pairs(np.random.default_rng(2), 5, 1.0)
    assert errors(auto, rows).shape == (5,)


def test_the_autoencoder_is_deterministic() -> None:
    data = _pairs(np.random.default_rng(3), 400, 1.0)
    first, second = fit(data, "autoencoder", seed=7), fit(data, "autoencoder", seed=7)
    assert first.layers == second.layers
    assert first.heldout_mean == second.heldout_mean


def test_the_profile_round_trips_through_json(profile: Profile) -> None:
    again = Profile.model_validate_json(profile.model_dump_json())
    assert again == profile
    assert len(profile.model_dump_json()) < 200_000


def test_too_little_data_is_refused() -> None:
    with pytest.raises(DriftError, match="at least 20 rows"):
        fit(np.zeros((10, 3)), "pca")
    with pytest.raises(DriftError, match="unknown reconstruction"):
        fit(np.zeros((100, 3)), "umap")
