"""What a drift check found: per feature, per reconstruction model, and the verdict."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FeatureResult(BaseModel):
    name: str
    kind: str  # numeric or categorical
    test: str  # ks, chi2, psi, wasserstein, js
    statistic: float
    p_value: float | None  # None: the test decides by its threshold (wasserstein)
    threshold: float  # p_value below it (a p-value test), or statistic above it, is drift
    drift: bool


class ReconstructionResult(BaseModel):
    method: str  # pca or autoencoder
    error: float  # the current rows' mean reconstruction error
    reference_error: float  # the held-out reference rows' mean
    threshold: float  # a mean error above it is drift
    p_value: float
    drift: bool
    note: str = ""


class DriftResult(BaseModel):
    """One check: the current rows against the reference profile. ``drifted`` when at least
    ``drift_share`` of the features drift, or a reconstruction model's error does."""

    rows: int
    features: list[FeatureResult]
    drifted_features: int
    share: float  # drifted_features / features
    drift_share: float
    dataset_drift: bool  # share >= drift_share
    reconstruction: list[ReconstructionResult] = Field(default_factory=list)
    drifted: bool
    alpha: float  # the p-value threshold of one feature's test
    window: int | None = None  # online: the window's number, from 1
    started: float | None = None  # online: the window's first and last rows (Unix time)
    ended: float | None = None
