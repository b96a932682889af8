"""The samples a benchmark feeds: a dataset after its steps, or synthetic data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reef.bench.samples import SYNTHETIC_SAMPLES, describe, load_dataset, synthetic
from reef.bench.target import resolve
from reef.errors import ManifestError, SettingsError
from reef.meta.dataset import DatasetManifest
from reef.meta.model import ModelManifest
from reef.predictors.base import PredictorOptions, Signature, TensorSpec
from reef.predictors.onnxruntime import OnnxRuntimePredictor

MakeOnnx = Callable[..., Path]
SHA = "0" * 64


def model_manifest(steps: list[Any], shape: list[int] | None = None) -> ModelManifest:
    return ModelManifest.model_validate(
        {
            "name": "tiny",
            "version": "1.0.0",
            "framework": {"name": "onnxruntime"},
            "sources": [{"path": "model.onnx", "sha256": SHA}],
            "inputs": [{"name": "x", "shape": shape or [-1, 4], "steps": steps}],
            "outputs": [{"name": "y"}],
        }
    )


def dataset(
    tmp_path: Path, features: np.ndarray, labels: np.ndarray | None, samples: int | None = None
) -> tuple[DatasetManifest, Path]:
    path = tmp_path / "data.npz"
    arrays = {"features": features}
    if labels is not None:
        arrays["labels"] = labels
    np.savez(path, **arrays)
    manifest = DatasetManifest(
        name="tiny-data",
        version="1.0.0",
        sources=[{"path": "data.npz", "sha256": SHA}],  # type: ignore[list-item]
        features="features",
        labels="labels" if labels is not None else None,
        samples=samples or len(features),
    )
    return manifest, path


SIG = Signature(
    inputs=(TensorSpec("x", "float32", ("batch", 4)),),
    outputs=(TensorSpec("y", "float32", ("batch", 3)),),
)


@pytest.fixture
def images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(10, 2, 2), dtype=np.uint8), np.arange(10) % 3


def test_dataset_samples_are_preprocessed_once(
    tmp_path: Path, images: tuple[np.ndarray, np.ndarray]
) -> None:
    features, labels = images
    ds, path = dataset(tmp_path, features, labels)
    steps = [{"reshape": {"shape": [4]}}, {"scale": {"factor": 1 / 255}}]
    samples = load_dataset(model_manifest(steps), "model.yaml", ds, path, SIG, None)
    assert samples.count == 10
    assert samples.synthetic is False
    assert samples.fixed_batch is None
    x = samples.inputs["x"]
    assert x.shape == (10, 4)
    assert x.dtype == np.float32
    assert x.flags.c_contiguous
    np.testing.assert_allclose(x, features.reshape(10, 4) / 255, rtol=1e-6)
    assert samples.labels is not None
    np.testing.assert_array_equal(samples.labels, labels)
    feed = samples.feed([3])
    assert feed["x"].shape == (1, 4)
    np.testing.assert_array_equal(samples.feed([1, 2])["x"], x[[1, 2]])
    assert len(samples.single_feeds()) == 10


def test_dataset_limit(tmp_path: Path, images: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = images
    ds, path = dataset(tmp_path, features, labels)
    steps = [{"reshape": {"shape": [4]}}]
    samples = load_dataset(model_manifest(steps), "model.yaml", ds, path, SIG, 4)
    assert samples.count == 4
    assert samples.inputs["x"].shape == (4, 4)
    assert samples.labels is not None and len(samples.labels) == 4


def test_dataset_without_labels(tmp_path: Path, images: tuple[np.ndarray, np.ndarray]) -> None:
    ds, path = dataset(tmp_path, images[0], None)
    manifest = model_manifest([{"reshape": {"shape": [4]}}])
    samples = load_dataset(manifest, "m.yaml", ds, path, SIG, None)
    assert samples.labels is None


def test_sample_shape_mismatch_names_the_steps(
    tmp_path: Path, images: tuple[np.ndarray, np.ndarray]
) -> None:
    features, labels = images
    ds, path = dataset(tmp_path, features, labels)
    with pytest.raises(ManifestError) as info:
        load_dataset(model_manifest([]), "model.yaml", ds, path, SIG, None)
    (problem,) = info.value.problems
    assert problem.file == "model.yaml"
    assert problem.location == "inputs[0].steps"
    assert "[2, 2]" in problem.message
    assert "'x'" in problem.message


def test_sample_count_must_match_the_manifest(
    tmp_path: Path, images: tuple[np.ndarray, np.ndarray]
) -> None:
    features, labels = images
    ds, path = dataset(tmp_path, features, labels, samples=12)
    with pytest.raises(ManifestError) as info:
        load_dataset(model_manifest([{"reshape": {"shape": [4]}}]), "m.yaml", ds, path, SIG, None)
    (problem,) = info.value.problems
    assert problem.location == "samples"
    assert "12" in problem.message and "10" in problem.message


def test_missing_array_is_named(tmp_path: Path, images: tuple[np.ndarray, np.ndarray]) -> None:
    ds, path = dataset(tmp_path, images[0], None)
    ds = ds.model_copy(update={"labels": "targets"})
    with pytest.raises(ManifestError) as info:
        load_dataset(model_manifest([{"reshape": {"shape": [4]}}]), "m.yaml", ds, path, SIG, None)
    assert "targets" in info.value.message
    assert "features" in info.value.message


def test_a_dataset_feeds_one_input(tmp_path: Path, images: tuple[np.ndarray, np.ndarray]) -> None:
    ds, path = dataset(tmp_path, *images)
    manifest = ModelManifest.model_validate(
        {
            **model_manifest([]).model_dump(),
            "inputs": [{"name": "a", "shape": [-1, 4]}, {"name": "b", "shape": [-1, 4]}],
        }
    )
    with pytest.raises(ManifestError) as info:
        load_dataset(manifest, "m.yaml", ds, path, SIG, None)
    assert info.value.problems[0].location == "inputs"


def test_builtin_digits_dataset() -> None:
    target = resolve("digits-classifier")
    assert target.manifest is not None and target.dataset is not None
    assert target.dataset_path is not None
    signature = OnnxRuntimePredictor().open(target.model_path, PredictorOptions())
    samples = load_dataset(
        target.manifest, str(target.manifest_path), target.dataset, target.dataset_path,
        signature, None,
    )  # fmt: skip
    assert samples.count == target.dataset.samples == 450
    x = samples.inputs["input"]
    assert x.shape == (450, 64)
    assert x.dtype == np.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0  # 0..16 scaled by 1/16
    assert samples.labels is not None and set(np.unique(samples.labels)) == set(range(10))


# --- synthetic data ------------------------------------------------------------------------


def test_synthetic_symbolic_dims_become_one() -> None:
    sig = Signature(
        inputs=(
            TensorSpec("x", "float32", ("batch", 3, "h", None)),
            TensorSpec("ids", "int64", (None, 7)),
            TensorSpec("mask", "bool", ("batch", 7)),
        ),
        outputs=(),
    )
    samples = synthetic(sig, {}, None, seed=0)
    assert samples.synthetic is True
    assert samples.labels is None
    assert samples.count == SYNTHETIC_SAMPLES
    assert samples.fixed_batch is None
    assert samples.inputs["x"].shape == (SYNTHETIC_SAMPLES, 3, 1, 1)
    assert samples.inputs["x"].dtype == np.float32
    assert samples.inputs["ids"].dtype == np.int64
    assert samples.inputs["ids"].min() >= 0
    assert samples.inputs["mask"].dtype == np.bool_
    assert samples.feed([0])["x"].shape == (1, 3, 1, 1)
    assert describe(samples)["shapes"] == {"x": [3, 1, 1], "ids": [7], "mask": [7]}


def test_synthetic_count_and_seed() -> None:
    a = synthetic(SIG, {}, 5, seed=1)
    b = synthetic(SIG, {}, 5, seed=1)
    c = synthetic(SIG, {}, 5, seed=2)
    assert a.count == 5 and a.inputs["x"].shape == (5, 4)
    np.testing.assert_array_equal(a.inputs["x"], b.inputs["x"])
    assert not np.array_equal(a.inputs["x"], c.inputs["x"])


def test_synthetic_fixed_batch() -> None:
    # A manifest that says axis 0 is the batch, fixed at 8: each sample fills one row.
    from reef.meta.model import InputSpec

    sig = Signature(inputs=(TensorSpec("x", "float32", (8, 4)),), outputs=())
    spec = InputSpec(name="x", shape=[8, 4], batch_axis=0)
    samples = synthetic(sig, {}, 16, seed=0, specs=[spec])
    assert samples.fixed_batch == 8
    assert samples.batchable
    assert samples.inputs["x"].shape == (16, 4)
    assert samples.single_feeds()[3]["x"].shape == (8, 4)


def test_synthetic_all_fixed_is_one_sample_per_call() -> None:
    sig = Signature(inputs=(TensorSpec("x", "float32", (8, 4)),), outputs=())
    samples = synthetic(sig, {}, 16, seed=0)
    assert samples.fixed_batch == 1
    assert not samples.batchable
    assert samples.inputs["x"].shape == (16, 8, 4)
    assert samples.single_feeds()[3]["x"].shape == (8, 4)


def test_synthetic_shape_override() -> None:
    sig = Signature(inputs=(TensorSpec("x", "float32", ("batch", 3, "h", "w")),), outputs=())
    samples = synthetic(sig, {"x": [1, 3, 16, 24]}, 2, seed=0)
    assert samples.inputs["x"].shape == (2, 3, 16, 24)


def test_shape_override_with_the_wrong_rank() -> None:
    with pytest.raises(SettingsError) as info:
        synthetic(SIG, {"x": [1, 4, 4]}, None, seed=0)
    assert "3 dimensions given" in info.value.message
    assert "x" in info.value.message


def test_shape_override_conflicting_with_a_fixed_dim() -> None:
    with pytest.raises(SettingsError) as info:
        synthetic(SIG, {"x": [1, 5]}, None, seed=0)
    assert "[1, 5]" in info.value.message


def test_shape_override_for_an_unknown_input() -> None:
    with pytest.raises(SettingsError) as info:
        synthetic(SIG, {"images": [1, 4]}, None, seed=0)
    assert "images" in info.value.message
    assert "the model has: x" in info.value.message


def test_scalar_input_gets_a_constant() -> None:
    sig = Signature(inputs=(TensorSpec("x", "float32", ()),), outputs=())
    samples = synthetic(sig, {}, None, seed=0)
    assert samples.single_feeds()[0]["x"].shape == ()
    assert float(samples.single_feeds()[0]["x"]) == 1.0


def test_synthetic_for_a_real_model(make_onnx: MakeOnnx) -> None:
    path = make_onnx(input_shape=[None, "seq", 6], output_dim=2)
    predictor = OnnxRuntimePredictor()
    signature = predictor.open(path, PredictorOptions())
    samples = synthetic(signature, {}, 3, seed=0)
    (y,) = predictor.predict(samples.feed([0, 1]))
    assert y.shape == (2, 1, 2)
