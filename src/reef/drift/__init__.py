"""Drift: a reference profile of a model's inputs, univariate and multivariate tests against
it, and detectors over windows of live traffic; reef drift compares two datasets offline.

- ``reef.drift.profile``: the reference profile (per-feature sketches, no raw data kept);
- ``reef.drift.data``: arrays read from .npz, .npy and .csv files, checked;
- ``reef.drift.tests``: the univariate tests (KS, chi-square, PSI, Wasserstein,
  Jensen-Shannon), the automatic choice, and ``compare`` (a whole sample against a profile);
- ``reef.drift.reconstruction``: PCA and a small autoencoder, their reconstruction error
  against the reference's own held-out error;
- ``reef.drift.online``: ``Detector``, windows of live traffic with calibrated thresholds.
"""

from __future__ import annotations

from reef.errors import EXIT_ENVIRONMENT, ReefError


class DriftError(ReefError):
    """A drift request that cannot be carried out as asked (exit 2): a file that is not a
    numeric array, mismatched features, NaN or infinite values, an unknown test."""


class DriftUnavailable(DriftError):
    """A library a drift test needs is not installed (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


def need_scipy() -> None:
    try:
        import scipy  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as exc:
        raise DriftUnavailable(
            "the drift tests need SciPy, which is not installed",
            hint="pip install 'reef-bench[drift]'",
        ) from exc
