"""The reference profile: per-feature sketches of the reference data, so that the raw data
need not be kept. A numeric feature keeps 101 quantiles (0%, 1%, ..., 100%), its mean, std,
min and max, and the fractions of the reference in ten bins cut at its deciles; a categorical
one (integers with at most ``MAX_CATEGORIES`` distinct values, or declared) also keeps each
category's fraction. Its JSON is bounded: a few kB per feature, whatever the reference's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from reef.drift import DriftError

if TYPE_CHECKING:
    import numpy as np

PROFILE_VERSION = 1
QUANTILES = 101  # 0%, 1%, ..., 100%
BINS = 10  # cut at the reference's deciles
MAX_CATEGORIES = 20  # an integer feature with at most this many values is categorical
MAX_FEATURES = 4096


class FeatureSketch(BaseModel):
    name: str
    kind: Literal["numeric", "categorical"]
    count: int
    mean: float
    std: float
    min: float
    max: float
    quantiles: list[float]  # at levels 0, 1/(QUANTILES-1), ..., 1
    bin_edges: list[float]  # inner edges: bins are (-inf, e0], (e0, e1], ..., (e_last, inf)
    bin_fractions: list[float]
    categories: list[float] = Field(default_factory=list)  # categorical: the values seen
    category_fractions: list[float] = Field(default_factory=list)


class Layer(BaseModel):
    weight: list[list[float]]  # out x in
    bias: list[float]


class ReconstructionModel(BaseModel):
    """A model of the reference's structure across features, and the distribution of its
    reconstruction error on a held-out part of the reference (per row: the mean squared
    error of the standardised features)."""

    method: Literal["pca", "autoencoder"]
    mean: list[float]  # standardisation: (x - mean) / scale
    scale: list[float]
    components: list[list[float]] = Field(default_factory=list)  # pca: k x features
    layers: list[Layer] = Field(default_factory=list)  # autoencoder
    activations: list[Literal["tanh", "linear"]] = Field(default_factory=list)  # after each
    heldout_rows: int
    heldout_mean: float
    heldout_std: float
    heldout_quantiles: list[float]  # the held-out errors' 0%, 1%, ..., 100%
    note: str = ""


class Profile(BaseModel):
    """What the reference looked like, feature by feature (``features``), with the models of
    its reconstruction error when asked for (``reconstruction``)."""

    version: int = PROFILE_VERSION
    source: str
    rows: int
    features: list[FeatureSketch]
    reconstruction: list[ReconstructionModel] = Field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]


def build_profile(
    data: np.ndarray,
    *,
    source: str = "array",
    names: Sequence[str] | None = None,
    categorical: Sequence[int] | None = None,
    reconstruction: Sequence[str] = (),
    seed: int = 0,
) -> Profile:
    """The profile of ``data`` (rows x features, numeric, finite: see ``reef.drift.data``).
    ``categorical`` declares feature indices categorical (else: integers with at most
    ``MAX_CATEGORIES`` values); ``reconstruction`` names the models to fit ("pca",
    "autoencoder")."""
    import numpy as np

    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 1:
        raise DriftError(f"{source}: a profile needs at least 2 rows of 1 feature or more")
    if data.shape[1] > MAX_FEATURES:
        raise DriftError(f"{source}: {data.shape[1]} features; at most {MAX_FEATURES}")
    count = data.shape[1]
    labels = list(names) if names is not None else [f"f{i}" for i in range(count)]
    if len(labels) != count:
        raise DriftError(f"{source}: {len(labels)} names for {count} features")
    declared = set(categorical or ())
    bad = sorted(i for i in declared if not 0 <= i < count)
    if bad:
        raise DriftError(f"{source}: categorical feature {bad[0]} is not in 0..{count - 1}")
    features = [_sketch(data[:, i], labels[i], i in declared) for i in range(count)]
    profile = Profile(source=source, rows=int(data.shape[0]), features=features)
    if reconstruction:
        from reef.drift.reconstruction import fit

        profile.reconstruction = [fit(data, method, seed=seed) for method in reconstruction]
    return profile


def _sketch(column: np.ndarray, name: str, declared: bool) -> FeatureSketch:
    import numpy as np

    levels = np.linspace(0.0, 1.0, QUANTILES)
    values, counts = np.unique(column, return_counts=True)
    integral = bool(np.all(values == np.round(values)))
    categorical = declared or (integral and len(values) <= MAX_CATEGORIES)
    if declared and len(values) > 10 * MAX_CATEGORIES:
        raise DriftError(
            f"feature {name}: declared categorical but has {len(values)} distinct values",
            hint=f"at most {10 * MAX_CATEGORIES}",
        )
    quantiles = np.quantile(column, levels)
    edges = np.unique(np.quantile(column, np.linspace(0.1, 0.9, BINS - 1)))
    fractions = bin_fractions(column, edges)
    sketch = FeatureSketch(
        name=name,
        kind="categorical" if categorical else "numeric",
        count=len(column),
        mean=float(column.mean()),
        std=float(column.std()),
        min=float(values[0]),
        max=float(values[-1]),
        quantiles=[float(q) for q in quantiles],
        bin_edges=[float(e) for e in edges],
        bin_fractions=[float(f) for f in fractions],
    )
    if categorical:
        sketch.categories = [float(v) for v in values]
        sketch.category_fractions = [float(c) / len(column) for c in counts]
    return sketch


def bin_fractions(column: np.ndarray, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """The fractions of ``column`` in the bins (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    import numpy as np

    index = np.searchsorted(np.asarray(edges), column, side="left")
    counts = np.bincount(index, minlength=len(edges) + 1)
    result: np.ndarray = counts / max(len(column), 1)
    return result


def sketch_cdf(sketch: FeatureSketch, x: np.ndarray, side: str = "right") -> np.ndarray:
    """The reference's CDF at ``x``: exact for a categorical feature (a step function), the
    quantiles' linear interpolation for a numeric one. A value several quantiles share is an
    atom (pixels at 0, say): there the CDF jumps, ``side="right"`` giving F(x) (the last of
    those quantiles' levels) and ``"left"`` F(x-) (the first)."""
    import numpy as np

    if sketch.kind == "categorical":
        steps = np.cumsum(sketch.category_fractions)
        index = np.searchsorted(np.asarray(sketch.categories), x, side="right")
        result: np.ndarray = np.where(index > 0, steps[np.maximum(index - 1, 0)], 0.0)
        return result
    levels = np.linspace(0.0, 1.0, len(sketch.quantiles))
    q = np.asarray(sketch.quantiles)
    x = np.asarray(x, dtype=np.float64)
    cdf: np.ndarray = np.interp(x, q, levels, left=0.0, right=1.0)
    first = np.searchsorted(q, x, side="left")
    last = np.searchsorted(q, x, side="right") - 1
    atom = (last > first) & (first < len(q)) & (q[np.minimum(first, len(q) - 1)] == x)
    if side == "right":
        cdf = np.where(atom, levels[np.maximum(last, 0)], cdf)
        cdf = np.where(x >= q[-1], 1.0, cdf)
    else:
        cdf = np.where(atom, levels[np.minimum(first, len(q) - 1)], cdf)
        cdf = np.where(x <= q[0], 0.0, cdf)
    return cdf


def sketch_sample(sketch: FeatureSketch, points: int = 1000) -> np.ndarray:
    """``points`` values standing for the reference, equally weighted: its quantile
    function at the midpoints of ``points`` equal slices (categories by their fractions)."""
    import numpy as np

    u = (np.arange(points) + 0.5) / points
    if sketch.kind == "categorical":
        steps = np.cumsum(sketch.category_fractions)
        index = np.minimum(np.searchsorted(steps, u, side="right"), len(steps) - 1)
        picked: np.ndarray = np.asarray(sketch.categories)[index]
        return picked
    levels = np.linspace(0.0, 1.0, len(sketch.quantiles))
    sample: np.ndarray = np.interp(u, levels, np.asarray(sketch.quantiles))
    return sample
