"""The photo components: ``digit-photos`` (made by ``tools/build_photos.py``), the
``digits-cnn-photos`` model that reads it through an image pipeline, and the
``digit-photos-classification`` solution over both."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

import reef
from reef import api
from reef.meta.dataset import DatasetManifest
from reef.meta.load import load_manifest
from reef.meta.model import ModelManifest
from reef.meta.solution import SolutionManifest
from reef.meta.steps import step_name
from reef.predictors.steps import build_pipeline

BUILTIN = Path(reef.__file__).parent / "builtin"
DATASET = BUILTIN / "digit-photos"
MODEL = BUILTIN / "digits-cnn-photos"
SOLUTION = BUILTIN / "digit-photos-classification"
TOOL = Path(__file__).resolve().parents[2] / "tools" / "build_photos.py"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dataset_manifest() -> DatasetManifest:
    manifest = load_manifest(DATASET / "reef.yaml")
    assert isinstance(manifest, DatasetManifest)
    return manifest


def model_manifest() -> ModelManifest:
    manifest = load_manifest(MODEL / "reef.yaml")
    assert isinstance(manifest, ModelManifest)
    return manifest


def arrays() -> dict[str, np.ndarray]:
    manifest = dataset_manifest()
    assert manifest.sources[0].path is not None
    with np.load(DATASET / manifest.sources[0].path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def build_tool(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_photos", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is being made
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_npz_matches_its_sha256_and_manifest() -> None:
    manifest = dataset_manifest()
    assert manifest.format == "npz" and not manifest.allow_pickle
    (source,) = manifest.sources
    assert source.path is not None
    assert sha256(DATASET / source.path) == source.sha256
    assert (DATASET / source.path).stat().st_size < 1_500_000
    data = arrays()
    assert manifest.features == "images" and manifest.labels == "labels"
    images, sizes, labels = data["images"], data["sizes"], data["labels"]
    assert images.dtype == np.uint8 and images.ndim == 2
    assert images.shape[0] == manifest.samples == len(sizes) == len(labels)
    assert labels.dtype == np.int64 and sizes.dtype == np.int64
    assert images.shape[1] == sizes.max()


def test_every_image_is_a_real_jpeg_of_varied_size() -> None:
    data = arrays()
    shapes = set()
    for row, size in zip(data["images"], data["sizes"].tolist(), strict=True):
        assert not row[size:].any(), "the padding after each JPEG is zeros"
        encoded = row[:size].tobytes()
        assert encoded[:2] == b"\xff\xd8" and encoded[-2:] == b"\xff\xd9"  # SOI ... EOI
        with Image.open(io.BytesIO(encoded)) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            pixels = np.asarray(image.convert("L"))
        shapes.add(pixels.shape)
        assert 60 <= min(pixels.shape) <= 140
        # Reef's decode step reads the padded row as it is stored in the dataset.
        decoded = build_pipeline(model_manifest().inputs[0].steps[:1])(row)
        np.testing.assert_array_equal(decoded[..., 0], pixels)
    heights = {h for h, _ in shapes}
    widths = {w for _, w in shapes}
    assert len(heights) > 30 and len(widths) > 30
    assert any(h > w for h, w in shapes) and any(w > h for h, w in shapes)
    assert max(max(s) / min(s) for s in shapes) > 1.4


def test_labels_are_the_held_out_digits() -> None:
    data = arrays()
    labels, indices = data["labels"], data["indices"]
    digits = load_digits()
    np.testing.assert_array_equal(digits.target[indices], labels)
    assert len(set(indices.tolist())) == len(indices)
    assert np.bincount(labels, minlength=10).tolist() == [20] * 10

    # Each photo's digit is a sample of the built-in digits dataset: the held-out split.
    held_out = load_manifest(BUILTIN / "digits" / "reef.yaml")
    assert isinstance(held_out, DatasetManifest) and held_out.sources[0].path is not None
    with np.load(BUILTIN / "digits" / held_out.sources[0].path, allow_pickle=False) as archive:
        features, targets = archive["features"], archive["labels"]
    rows = {tuple(f.tolist()): int(t) for f, t in zip(features, targets, strict=True)}
    for index, label in zip(indices.tolist(), labels.tolist(), strict=True):
        key = tuple(digits.data[index].astype(np.float32).tolist())
        assert rows.get(key) == label, f"digit {index} is not in the held-out split"


def test_model_is_digits_cnn_with_an_image_pipeline() -> None:
    manifest = model_manifest()
    cnn = load_manifest(BUILTIN / "digits-cnn" / "reef.yaml")
    assert isinstance(cnn, ModelManifest)
    assert manifest.sources[0].sha256 == cnn.sources[0].sha256
    assert manifest.sources[0].path is not None and cnn.sources[0].path is not None
    own = (MODEL / manifest.sources[0].path).read_bytes()
    assert own == (BUILTIN / "digits-cnn" / cnn.sources[0].path).read_bytes()
    assert manifest.dataset == "digit-photos"
    names = [step_name(s) for s in manifest.inputs[0].steps]
    assert names[:3] == ["decode", "resize", "center_crop"]
    assert "normalize" in names
    sample = build_pipeline(manifest.inputs[0].steps)(arrays()["images"][0])
    assert sample.shape == (1, 32, 32) and sample.dtype == np.float32
    assert float(sample.min()) >= -1.0 and float(sample.max()) <= 1.0


@pytest.mark.parametrize("folder", [DATASET, MODEL, SOLUTION], ids=lambda p: p.name)
def test_reef_check_accepts_the_components(folder: Path) -> None:
    result = api.check(folder)
    assert result.name == folder.name
    assert "sources" in result.checks


def test_solution_requires_the_photo_components() -> None:
    solution = load_manifest(SOLUTION / "reef.yaml")
    assert isinstance(solution, SolutionManifest)
    assert solution.bench.models == ["digits-cnn-photos"]
    required = {r.split()[0] for r in solution.requires}
    assert required == {"digits-cnn-photos", "digit-photos"}
    assert {c.uses for c in solution.checks} >= {"accuracy", "latency", "loadgen"}


def test_bench_reaches_the_reference_accuracy() -> None:
    manifest = model_manifest()
    assert manifest.accuracy is not None and manifest.accuracy.metric == "top1"
    settings = api.bench_settings(["SingleStream"], duration_s=0.3)
    (record,) = api.bench(str(MODEL), settings, in_process=True, store=False)
    assert record.status == "valid", record.reasons
    assert record.accuracy is not None and record.accuracy.value is not None
    assert record.accuracy.samples == dataset_manifest().samples
    reference, threshold = manifest.accuracy.reference, manifest.accuracy.threshold
    assert record.accuracy.value >= reference * threshold
    assert record.accuracy.passed
    # the reference was measured on these photos: allow one photo's worth of numeric drift
    assert record.accuracy.value == pytest.approx(reference, abs=1 / 200 + 1e-6)


def test_build_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = build_tool(monkeypatch)
    first = tool.build(tmp_path / "a")
    second = tool.build(tmp_path / "b")
    assert first == second
    for name in first:
        a = (tmp_path / "a" / tool.NAME / name).read_bytes()
        assert a == (tmp_path / "b" / tool.NAME / name).read_bytes()
