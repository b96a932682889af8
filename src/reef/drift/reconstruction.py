"""Multivariate drift: how well a model of the reference's structure reconstructs new rows.

A model is fitted on 75% of the reference (standardised features) and its per-row error
(mean squared error over the standardised features) measured on the other 25%, the held-out
part: that is the error of rows the model has not seen when nothing has drifted. A set of
current rows drifts when its mean error exceeds the held-out mean by more than chance allows:
z = (mean - held_mean) / (held_std * sqrt(1/n + 1/held_rows)), one-sided normal p-value.

- ``pca``: principal components keeping ``VARIANCE`` of the variance (numpy SVD; at most
  ``MAX_COMPONENTS`` and fewer than the features);
- ``autoencoder``: features -> hidden -> bottleneck -> hidden -> features, tanh, trained with
  torch (seeded, one thread, at most ``TRAIN_S`` seconds) and run with numpy, so that serving
  it needs no torch. Without torch it is skipped with a note saying so.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from reef.drift import DriftError
from reef.drift.profile import Layer, ReconstructionModel
from reef.drift.result import ReconstructionResult

if TYPE_CHECKING:
    import numpy as np

VARIANCE = 0.95
MAX_COMPONENTS = 32
MIN_ROWS = 20
HELD_OUT = 0.25
TRAIN_S = 3.0
MAX_TRAIN_ROWS = 5000
MAX_BOTTLENECK = 16
METHODS = ("pca", "autoencoder")


def fit(data: np.ndarray, method: str, *, seed: int = 0) -> ReconstructionModel:
    """Fit ``method`` on ``data`` (rows x features, finite) and measure its held-out error."""
    import numpy as np

    if method not in METHODS:
        raise DriftError(f"unknown reconstruction {method!r}", hint="pca or autoencoder")
    rows, features = data.shape
    if rows < MIN_ROWS or features < 2:
        raise DriftError(
            f"reconstruction ({method}) needs at least {MIN_ROWS} rows of 2 features or more; "
            f"the reference has {rows} of {features}"
        )
    order = np.random.default_rng(seed).permutation(rows)
    held = max(1, int(rows * HELD_OUT))
    train, test = data[order[held:]], data[order[:held]]
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale == 0] = 1.0
    z = (train - mean) / scale
    k = _components(z)
    if method == "pca":
        _, _, vt = np.linalg.svd(z, full_matrices=False)
        model = ReconstructionModel(
            method="pca",
            mean=mean.tolist(),
            scale=scale.tolist(),
            components=vt[:k].tolist(),
            heldout_rows=0,
            heldout_mean=0.0,
            heldout_std=0.0,
            heldout_quantiles=[],
            note=f"{k} of {features} components",
        )
    else:
        model = _autoencoder(z[:MAX_TRAIN_ROWS], min(k, MAX_BOTTLENECK), mean, scale, seed)
    held_errors = errors(model, test)
    model.heldout_rows = len(held_errors)
    model.heldout_mean = float(held_errors.mean())
    model.heldout_std = float(held_errors.std(ddof=1)) if len(held_errors) > 1 else 0.0
    model.heldout_quantiles = np.quantile(held_errors, np.linspace(0, 1, 101)).tolist()
    return model


def _components(z: np.ndarray) -> int:
    import numpy as np

    singular = np.linalg.svd(z, compute_uv=False)
    variance = singular**2
    total = variance.sum()
    if total <= 0:
        return 1
    kept = int(np.searchsorted(np.cumsum(variance) / total, VARIANCE) + 1)
    return max(1, min(kept, int(z.shape[1]) - 1, MAX_COMPONENTS))


def errors(model: ReconstructionModel, rows: np.ndarray) -> np.ndarray:
    """Each row's reconstruction error: the mean squared error of its standardised features."""
    import numpy as np

    z = (np.asarray(rows, dtype=np.float64) - np.asarray(model.mean)) / np.asarray(model.scale)
    if model.method == "pca":
        v = np.asarray(model.components)
        back = (z @ v.T) @ v
    else:
        back = z
        for layer, activation in zip(model.layers, model.activations, strict=True):
            back = back @ np.asarray(layer.weight).T + np.asarray(layer.bias)
            if activation == "tanh":
                back = np.tanh(back)
    result: np.ndarray = ((z - back) ** 2).mean(axis=1)
    return result


def score(model: ReconstructionModel, rows: np.ndarray, alpha: float) -> ReconstructionResult:
    """The current ``rows``' mean error against the held-out one, drift when p < ``alpha``."""
    from scipy.stats import norm  # type: ignore[import-untyped]

    e = errors(model, rows)
    n = len(e)
    spread = model.heldout_std * math.sqrt(1.0 / n + 1.0 / max(model.heldout_rows, 1))
    mean = float(e.mean())
    if spread <= 0:
        p = 0.0 if mean > model.heldout_mean * (1 + 1e-9) + 1e-12 else 1.0
        threshold = model.heldout_mean
    else:
        p = float(norm.sf((mean - model.heldout_mean) / spread))
        threshold = model.heldout_mean + float(norm.isf(alpha)) * spread
    return ReconstructionResult(
        method=model.method,
        error=mean,
        reference_error=model.heldout_mean,
        threshold=threshold,
        p_value=p,
        drift=p < alpha,
        note=model.note,
    )


def _autoencoder(
    z: np.ndarray, k: int, mean: np.ndarray, scale: np.ndarray, seed: int
) -> ReconstructionModel:
    try:
        import torch
    except ImportError as exc:
        raise DriftError(
            "the autoencoder needs torch, which is not installed",
            hint="pip install torch, or use --reconstruction pca",
        ) from exc
    features = z.shape[1]
    hidden = max(4, min(64, features))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same sums in the same order: the same weights each time
    try:
        generator = torch.Generator().manual_seed(seed)
        sizes = [(features, hidden), (hidden, k), (k, hidden), (hidden, features)]
        linears = []
        for fan_in, fan_out in sizes:
            layer = torch.nn.Linear(fan_in, fan_out, dtype=torch.float64)
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
            linears.append(layer)
        net = torch.nn.Sequential(
            linears[0], torch.nn.Tanh(), linears[1], linears[2], torch.nn.Tanh(), linears[3]
        )
        x = torch.from_numpy(z)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
        started = time.perf_counter()
        epochs = 0
        for epochs in range(1, 501):  # noqa: B007
            optimizer.zero_grad()
            loss = ((net(x) - x) ** 2).mean()
            loss.backward()
            optimizer.step()
            if time.perf_counter() - started > TRAIN_S:
                break
        final = float(loss.detach())
        layers = [
            Layer(
                weight=lin.weight.detach().numpy().tolist(), bias=lin.bias.detach().numpy().tolist()
            )
            for lin in linears
        ]
    finally:
        torch.set_num_threads(threads)
    return ReconstructionModel(
        method="autoencoder",
        mean=mean.tolist(),
        scale=scale.tolist(),
        layers=layers,
        activations=["tanh", "linear", "tanh", "linear"],
        heldout_rows=0,
        heldout_mean=0.0,
        heldout_std=0.0,
        heldout_quantiles=[],
        note=f"{features}-{hidden}-{k}-{hidden}-{features}, {epochs} epochs, final loss "
        f"{final:.3g}",
    )
