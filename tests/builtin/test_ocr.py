"""The text-line built-ins: rendered datasets, PP-OCR models from a PyPI wheel, the solution."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from PIL import Image, features
from pydantic import TypeAdapter

import reef
from reef.bench.metrics import edit_distance, get_metric
from reef.meta.dataset import DatasetManifest
from reef.meta.load import load_manifest
from reef.meta.model import ModelManifest
from reef.meta.solution import SolutionManifest
from reef.meta.steps import Step
from reef.predictors.steps import build_pipeline

BUILTIN = Path(reef.__file__).parent / "builtin"
TOOL = Path(__file__).resolve().parents[2] / "tools" / "build_ocr.py"
WHEEL = "rapidocr-onnxruntime==1.4.4"


@pytest.fixture(scope="module")
def build_ocr() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_ocr", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dataset(name: str) -> tuple[DatasetManifest, dict[str, np.ndarray]]:
    manifest = load_manifest(BUILTIN / name / "reef.yaml")
    assert isinstance(manifest, DatasetManifest)
    assert manifest.sources[0].path is not None
    file = BUILTIN / name / manifest.sources[0].path
    assert hashlib.sha256(file.read_bytes()).hexdigest() == manifest.sources[0].sha256
    with np.load(file, allow_pickle=False) as archive:
        return manifest, {k: archive[k] for k in archive.files}


def decode_rows(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [
        np.asarray(Image.open(io.BytesIO(row[:n].tobytes())))
        for row, n in zip(arrays["images"], arrays["sizes"], strict=True)
    ]


@pytest.mark.parametrize("name", ["ocr-lines", "ocr-direction"])
def test_datasets_match_their_manifest_and_generator(name: str, build_ocr: ModuleType) -> None:
    manifest, arrays = dataset(name)
    assert arrays["images"].dtype == np.uint8
    assert arrays["images"].shape[0] == manifest.samples == len(arrays["labels"])
    assert (BUILTIN / name / manifest.sources[0].path).stat().st_size < 1 << 20  # type: ignore[operator]
    if name == "ocr-lines":
        assert arrays["labels"].dtype == np.dtype("<U32")
        expected = [build_ocr.line(name, i)[0] for i in range(manifest.samples)]
        assert arrays["labels"].tolist() == expected
    else:
        expected = [build_ocr.pick(name, i, "turned", 2) for i in range(manifest.samples)]
        assert arrays["labels"].tolist() == expected
        assert 0.4 < np.mean(arrays["labels"]) < 0.6
    for image in decode_rows(arrays)[:20]:
        assert image.ndim == 3 and image.shape[2] == 3
        assert image.shape[1] / image.shape[0] <= build_ocr.MAX_RATIO


def test_rendering_is_deterministic(build_ocr: ModuleType) -> None:
    first = [np.asarray(build_ocr.line("ocr-lines", i)[1]) for i in range(5)]
    again = [np.asarray(build_ocr.line("ocr-lines", i)[1]) for i in range(5)]
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    manifest, arrays = dataset("ocr-lines")
    import PIL

    rendered_with = f"Pillow {PIL.__version__} (FreeType {features.version('freetype2')})"
    if rendered_with not in manifest.description:
        pytest.skip(
            f"the dataset was rendered with another Pillow or FreeType than {rendered_with}"
        )
    shipped = decode_rows(arrays)[:5]
    assert all(a.shape == b.shape and (a == b).all() for a, b in zip(first, shipped, strict=True))


def test_cer_scores_a_known_example() -> None:
    cer = get_metric("cer")
    assert not cer.higher_is_better
    assert edit_distance("kitten", "sitting") == 3
    labels = np.asarray(["No.42", "total", "ab"], dtype="<U32")
    # one substitution, one deletion, one insertion over 12 characters
    assert cer.score(["No.4Z", "tota", "abc"], labels) == pytest.approx(3 / 12)
    assert cer.passes(0.0101, 0.01, 0.99) and not cer.passes(0.0102, 0.01, 0.99)


def test_steps_and_metric_read_a_recogniser_answer() -> None:
    manifest = load_manifest(BUILTIN / "ppocr-rec" / "reef.yaml")
    assert isinstance(manifest, ModelManifest)
    _, arrays = dataset("ocr-lines")
    x = build_pipeline(manifest.inputs[0].steps)(arrays["images"][0])
    assert x.shape == (3, 48, 320) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0
    # the right end is padding: 0 after scaling to -1..1, as RapidOCR pads
    assert (x[:, :, -1] == 0).all()
    labels = ["<blank>", "a", "b", " "]
    post = build_pipeline(
        [TypeAdapter(Step).validate_python({"ctc_decode": {"strip": True}})], labels=labels
    )
    scores = np.eye(4, dtype=np.float32)[[3, 1, 1, 0, 1, 2, 3, 3]]
    answer = post(scores[np.newaxis])
    assert answer == "aab"
    assert get_metric("cer").score([answer], ["aab"]) == 0.0


@pytest.mark.parametrize(
    "name", ["ocr-lines", "ocr-direction", "ppocr-cls", "ppocr-rec", "ppocr-text-lines"]
)
def test_manifest_validates_and_names_its_folder(name: str) -> None:
    assert load_manifest(BUILTIN / name / "reef.yaml").name == name


def test_models_and_solution_describe_the_wheel() -> None:
    models = {}
    for name in ("ppocr-cls", "ppocr-rec"):
        manifest = load_manifest(BUILTIN / name / "reef.yaml")
        assert isinstance(manifest, ModelManifest)
        source = manifest.sources[0]
        assert source.package == "rapidocr_onnxruntime" and source.path is not None
        assert manifest.python == [WHEEL] and manifest.license == "Apache-2.0"
        assert "PaddleOCR" in manifest.description and "RapidOCR" in manifest.description
        models[name] = manifest
    solution = load_manifest(BUILTIN / "ppocr-text-lines" / "reef.yaml")
    assert isinstance(solution, SolutionManifest)
    assert solution.python == [WHEEL]
    assert solution.bench.models == ["ppocr-cls", "ppocr-rec"]
    required = {re.split(r"\s", r)[0] for r in solution.requires}
    assert required == {"ppocr-cls", "ppocr-rec", "ocr-lines", "ocr-direction"}


@pytest.fixture(scope="session")
def rapidocr_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rapidocr-onnxruntime wheel from PyPI (kept in pytest's cache), unpacked as a
    site-packages folder: a wheel is a zip of exactly that layout."""
    store = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    cache = store.mkdir("rapidocr-wheel") if store else tmp_path_factory.mktemp("wheel")
    wheels = sorted(cache.glob("rapidocr_onnxruntime-1.4.4-*.whl"))
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", str(cache)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        offline = re.search(
            r"NewConnectionError|Max retries|Temporary failure in name resolution|"
            r"Network is unreachable|Could not fetch URL|No matching distribution",
            done.stdout + done.stderr,
        )
        if done.returncode != 0 and offline:
            pytest.skip(f"PyPI is unreachable, so {WHEEL} cannot be downloaded")
        assert done.returncode == 0, done.stdout + done.stderr
        wheels = sorted(cache.glob("rapidocr_onnxruntime-1.4.4-*.whl"))
    site = tmp_path_factory.mktemp("rapidocr-site")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(site)
    return site


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ppocr-cls", "ppocr-rec"])
def test_real_model_reaches_its_reference(
    name: str, rapidocr_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reef import api
    from reef.components.checksums import verified_source

    path = BUILTIN / name / "reef.yaml"
    manifest = load_manifest(path)
    assert isinstance(manifest, ModelManifest) and manifest.accuracy is not None
    # The wheel's file is the one the manifest pins.
    verified_source(manifest.sources[0], path.parent, str(path), "sources[0]", [rapidocr_site])
    # Reef finds the package (and the recogniser's charset) in this interpreter.
    monkeypatch.syspath_prepend(str(rapidocr_site))
    settings = api.bench_settings(["SingleStream"], duration_s=0.5, warmup_queries=5)
    [record] = api.bench(str(path), settings, in_process=True, store=False)
    accuracy: Any = record.accuracy
    assert accuracy.metric == manifest.accuracy.metric
    assert accuracy.samples == {"ppocr-cls": 200, "ppocr-rec": 100}[name]
    assert accuracy.passed, accuracy
    assert accuracy.value == pytest.approx(manifest.accuracy.reference, abs=1e-6)
