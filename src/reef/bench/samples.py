"""The samples a benchmark feeds the model: a dataset after pre-processing, or synthetic data.

Pre-processing runs once, when the samples are loaded, as an MLPerf query sample library
does, so that the timed path holds only what the system under test does per query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reef.errors import ManifestError, Problem, ReefError, SettingsError
from reef.meta.dataset import DatasetManifest
from reef.meta.model import ModelManifest
from reef.predictors.base import Signature, TensorSpec

SYNTHETIC_SAMPLES = 64


@dataclass
class SampleSet:
    inputs: dict[str, np.ndarray]  # name -> [count, *sample_shape], C-contiguous
    labels: np.ndarray | None
    count: int
    synthetic: bool
    fixed_batch: int | None  # the model's batch dimension when it is not dynamic
    load_seconds: float

    def feed(self, indices: list[int]) -> dict[str, np.ndarray]:
        if len(indices) == 1:
            i = indices[0]
            return {name: arr[i : i + 1] for name, arr in self.inputs.items()}
        return {name: arr[indices] for name, arr in self.inputs.items()}

    def single_feeds(self) -> list[dict[str, np.ndarray]]:
        """One ready feed per sample, so SingleStream's hot path only looks one up.

        A model whose batch dimension is fixed above 1 gets the sample repeated to fill it.
        """
        fill = self.fixed_batch or 1
        return [self.feed([i] * fill) for i in range(self.count)]


def _batch_dim(spec: TensorSpec) -> int | None:
    """None when the first dimension is dynamic, else its fixed size."""
    first = spec.shape[0] if spec.shape else None
    return first if isinstance(first, int) and first > 0 else None


def load_dataset(
    manifest: ModelManifest,
    manifest_path: str,
    dataset: DatasetManifest,
    dataset_path: Path,
    signature: Signature,
    limit: int | None,
    sources_dir: Path | None = None,
) -> SampleSet:
    """``dataset_path`` is the dataset's first source, verified; ``sources_dir`` the folder
    of its manifest, where a format that reads further sources finds their paths."""
    from reef.predictors.steps import build_pipeline

    started = time.perf_counter()
    if len(manifest.inputs) != 1:
        raise ManifestError(
            [
                Problem(
                    manifest_path,
                    "inputs",
                    f"a dataset feeds one input; this model has {len(manifest.inputs)}",
                )
            ]
        )
    spec = manifest.inputs[0]
    if dataset.format == "coco":
        from reef.bench.coco import load_coco

        features, labels = load_coco(dataset, dataset_path, sources_dir)
    else:
        features, labels = _load_npz(dataset, dataset_path)
    if len(features) != dataset.samples:
        raise ManifestError(
            [
                Problem(
                    str(dataset_path),
                    "samples",
                    f"the manifest says {dataset.samples} "
                    f"samples but {dataset.features!r} holds {len(features)}",
                )
            ]
        )
    count = min(limit, len(features)) if limit else len(features)
    pipeline = build_pipeline(spec.steps)
    try:
        processed = [
            np.asarray(pipeline(features[i]), dtype=spec.element_type) for i in range(count)
        ]
        stacked = np.ascontiguousarray(np.stack(processed))
    except ReefError:
        raise
    except Exception as exc:  # numpy or Pillow refusing what a step was given
        raise ManifestError(
            [Problem(manifest_path, "inputs[0].steps", f"pre-processing failed: {exc}")],
            hint=f"the steps must turn each row of {dataset.features or 'the images'!r} "
            "into one sample",
        ) from None
    model_input = next(t for t in signature.inputs if t.name == spec.name)
    _check_sample_shape(stacked.shape[1:], model_input, manifest_path)
    return SampleSet(
        inputs={spec.name: stacked},
        labels=labels[:count] if labels is not None else None,
        count=count,
        synthetic=False,
        fixed_batch=_batch_dim(model_input),
        load_seconds=time.perf_counter() - started,
    )


def _load_npz(dataset: DatasetManifest, dataset_path: Path) -> tuple[Any, Any]:
    assert dataset.features is not None  # the schema requires it for npz
    try:
        # Object arrays need unpickling; bench.target lets only trusted datasets ask for it.
        archive_cm = np.load(dataset_path, allow_pickle=dataset.allow_pickle)
    except (OSError, ValueError) as exc:
        raise ManifestError(
            [Problem(str(dataset_path), "", f"not a readable npz archive: {exc}")]
        ) from None
    with archive_cm as archive:
        missing = [a for a in (dataset.features, dataset.labels) if a and a not in archive.files]
        if missing:
            raise ManifestError(
                [
                    Problem(
                        str(dataset_path),
                        "",
                        f"has no array named {', '.join(missing)} "
                        f"(it has {', '.join(archive.files)})",
                    )
                ]
            )
        features = archive[dataset.features]
        labels = archive[dataset.labels] if dataset.labels else None
    return features, labels


def _check_sample_shape(got: tuple[int, ...], model_input: TensorSpec, file: str) -> None:
    expected = model_input.shape[1:]
    ok = len(got) == len(expected) and all(
        not isinstance(e, int) or e <= 0 or e == g for g, e in zip(got, expected, strict=True)
    )
    if not ok:
        raise ManifestError(
            [
                Problem(
                    file,
                    "inputs[0].steps",
                    f"pre-processing gives samples of shape {list(got)} but the model's input "
                    f"{model_input.name!r} takes {list(model_input.shape)} (batch first)",
                )
            ]
        )


def _concrete_shape(spec: TensorSpec, override: list[int] | None) -> list[int]:
    if override is not None:
        if len(override) != len(spec.shape):
            raise SettingsError(
                f"--shape {spec.name}: {len(override)} dimensions given, the model's input has "
                f"{len(spec.shape)} ({list(spec.shape)})"
            )
        for given, fixed in zip(override, spec.shape, strict=True):
            if isinstance(fixed, int) and fixed > 0 and given != fixed:
                raise SettingsError(
                    f"--shape {spec.name}: {override} does not fit the model's {list(spec.shape)}"
                )
        return override
    # Symbolic or unknown dimensions become 1, as the zero-config contract says.
    return [d if isinstance(d, int) and d > 0 else 1 for d in spec.shape]


def synthetic(
    signature: Signature, shapes: dict[str, list[int]], count: int | None, seed: int
) -> SampleSet:
    """Random data of each input's type and shape; one sample is one batch-1 slice."""
    started = time.perf_counter()
    unknown = sorted(set(shapes) - {t.name for t in signature.inputs})
    if unknown:
        names = ", ".join(t.name for t in signature.inputs)
        raise SettingsError(f"--shape names unknown input(s) {unknown}; the model has: {names}")
    rng = np.random.default_rng(seed)
    n = count or SYNTHETIC_SAMPLES
    inputs: dict[str, np.ndarray] = {}
    fixed: int | None = None
    for spec in signature.inputs:
        shape = _concrete_shape(spec, shapes.get(spec.name))
        if not shape:
            raise SettingsError(f"input {spec.name!r} is a scalar; Reef needs a batch dimension")
        per_sample = [n, *shape[1:]]
        inputs[spec.name] = _random(rng, spec.element_type, per_sample)
        batch = _batch_dim(spec)
        if batch is not None:
            fixed = batch
    return SampleSet(inputs, None, n, True, fixed, time.perf_counter() - started)


def _random(rng: np.random.Generator, element_type: str, shape: list[int]) -> np.ndarray:
    try:
        dtype = np.dtype(element_type)
    except TypeError:
        raise SettingsError(f"cannot make synthetic data of type {element_type!r}") from None
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if np.issubdtype(dtype, np.integer):
        # Small non-negative values stay valid as indices (token ids, class ids).
        return rng.integers(0, 10, size=shape).astype(dtype)
    return rng.standard_normal(size=shape).astype(dtype)


def describe(samples: SampleSet) -> dict[str, Any]:
    return {
        "count": samples.count,
        "synthetic": samples.synthetic,
        "shapes": {k: list(v.shape[1:]) for k, v in samples.inputs.items()},
        "load_seconds": round(samples.load_seconds, 4),
    }
