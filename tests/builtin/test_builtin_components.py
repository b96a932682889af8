"""The built-in components shipped in ``src/reef/builtin`` (made by ``tools/build_builtin.py``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

import reef
from reef.meta.dataset import DatasetManifest
from reef.meta.load import load_manifest
from reef.meta.model import ModelManifest
from reef.meta.steps import step_name, step_params

BUILTIN = Path(reef.__file__).parent / "builtin"
MANIFESTS = sorted(BUILTIN.glob("*/reef.yaml"))
IDS = [p.parent.name for p in MANIFESTS]

ORT_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int64)": "int64"}
RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


def models() -> list[tuple[Path, ModelManifest]]:
    found = [(p, load_manifest(p)) for p in MANIFESTS]
    return [(p, m) for p, m in found if isinstance(m, ModelManifest)]


def datasets() -> dict[str, tuple[Path, DatasetManifest]]:
    found = [(p, load_manifest(p)) for p in MANIFESTS]
    return {m.name: (p, m) for p, m in found if isinstance(m, DatasetManifest)}


def session(path: Path, manifest: ModelManifest) -> ort.InferenceSession:
    assert manifest.sources[0].path is not None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(
        str(path.parent / manifest.sources[0].path), options, providers=["CPUExecutionProvider"]
    )


def ort_shape(shape: list[Any]) -> list[int]:
    return [d if isinstance(d, int) else -1 for d in shape]


def apply_step(step: Any, x: np.ndarray) -> np.ndarray:
    """The built-in pre-processing steps the shipped models use, in plain numpy + Pillow."""
    name, params = step_name(step), step_params(step)
    if name == "scale":
        return (x * np.float32(params.factor) + np.float32(params.offset)).astype(np.float32)
    if name == "reshape":
        return x.reshape(params.shape)
    if name == "resize":
        assert isinstance(params.size, list) and len(params.size) == 2
        height, width = params.size
        image = Image.fromarray(x.astype(np.float32))
        assert image.mode == "F"
        resized = image.resize((width, height), RESAMPLE[params.interpolation])
        return np.asarray(resized, dtype=np.float32)
    if name == "normalize":
        axis = params.channel_axis % x.ndim
        shape = [1] * x.ndim
        shape[axis] = len(params.mean)
        mean = np.asarray(params.mean, dtype=np.float32).reshape(shape)
        std = np.asarray(params.std, dtype=np.float32).reshape(shape)
        return ((x - mean) / std).astype(np.float32)
    raise AssertionError(f"this test does not implement the {name!r} step")


def test_builtins_are_present() -> None:
    assert {"digits", "digits-classifier", "digits-cnn"} <= set(IDS)


@pytest.mark.parametrize("path", MANIFESTS, ids=IDS)
def test_manifest_validates_and_names_its_folder(path: Path) -> None:
    manifest = load_manifest(path)
    assert manifest.name == path.parent.name


@pytest.mark.parametrize("path", MANIFESTS, ids=IDS)
def test_sources_exist_with_recorded_sha256(path: Path) -> None:
    manifest = load_manifest(path)
    for source in manifest.sources:
        assert source.path is not None, "built-in components ship their files"
        file = path.parent / source.path
        assert file.is_file(), file
        assert hashlib.sha256(file.read_bytes()).hexdigest() == source.sha256, file


@pytest.mark.parametrize("name", sorted(datasets()))
def test_dataset_arrays_match_manifest(name: str) -> None:
    path, manifest = datasets()[name]
    assert manifest.sources[0].path is not None
    with np.load(path.parent / manifest.sources[0].path, allow_pickle=False) as archive:
        features = archive[manifest.features]
        assert features.shape[0] == manifest.samples
        if manifest.labels is not None:
            assert archive[manifest.labels].shape == (manifest.samples,)


@pytest.mark.parametrize("path,manifest", models(), ids=[m.name for _, m in models()])
def test_model_signature_matches_manifest(path: Path, manifest: ModelManifest) -> None:
    sess = session(path, manifest)
    inputs = {i.name: i for i in sess.get_inputs()}
    outputs = {o.name: o for o in sess.get_outputs()}
    assert set(inputs) == {i.name for i in manifest.inputs}
    assert set(outputs) == {o.name for o in manifest.outputs}
    for spec in manifest.inputs:
        assert ort_shape(inputs[spec.name].shape) == spec.shape
        assert ORT_TYPES[inputs[spec.name].type] == spec.element_type
    for out in manifest.outputs:
        if out.labels is not None:
            assert outputs[out.name].shape[-1] == len(out.labels)


@pytest.mark.parametrize("path,manifest", models(), ids=[m.name for _, m in models()])
def test_model_reaches_its_reference_accuracy(path: Path, manifest: ModelManifest) -> None:
    assert manifest.dataset is not None and manifest.accuracy is not None
    assert manifest.accuracy.metric == "top1"
    data_path, data = datasets()[manifest.dataset]
    assert data.sources[0].path is not None and data.labels is not None
    with np.load(data_path.parent / data.sources[0].path, allow_pickle=False) as archive:
        features, labels = archive[data.features], archive[data.labels]

    spec = manifest.inputs[0]
    batch = []
    for sample in features:
        x = sample.astype(np.float32)
        for step in spec.steps:
            x = apply_step(step, x)
        batch.append(x)
    x = np.stack(batch).astype(np.float32)
    assert x.shape[1:] == tuple(spec.shape[1:])

    probabilities = session(path, manifest).run([manifest.outputs[0].name], {spec.name: x})[0]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == labels))
    assert accuracy >= manifest.accuracy.threshold * manifest.accuracy.reference
    # the reference was measured on these samples: allow one sample's worth of numeric drift
    assert accuracy == pytest.approx(manifest.accuracy.reference, abs=1 / len(labels) + 5e-5)
