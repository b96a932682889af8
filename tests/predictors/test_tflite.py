"""The LiteRT (TensorFlow Lite) backend, on tests/data/tiny_dense.tflite (made by
tools/build_tflite_fixture.py: y = softmax(x @ W + b), W and b from formulas)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from reef.errors import PredictorError
from reef.predictors.base import Predictor, PredictorOptions, TensorSpec

pytest.importorskip("ai_edge_litert")

from reef.predictors.tflite import TfLitePredictor

DATA = Path(__file__).parents[1] / "data"
TINY = DATA / "tiny_dense.tflite"
ROOT = Path(__file__).parents[2]


def dense_weights() -> tuple[np.ndarray, np.ndarray]:
    """The builder's own formulas (it needs no TensorFlow to say them)."""
    spec = importlib.util.spec_from_file_location(
        "build_tflite_fixture", ROOT / "tools" / "build_tflite_fixture.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_tflite_fixture", module)
    spec.loader.exec_module(module)
    weights, bias = module.dense_weights()
    return weights, bias


def reference(x: np.ndarray) -> np.ndarray:
    weights, bias = dense_weights()
    logits = x.astype(np.float64) @ weights.astype(np.float64) + bias
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_is_a_predictor() -> None:
    assert isinstance(TfLitePredictor(), Predictor)


def test_signature_names_and_dynamic_batch() -> None:
    signature = TfLitePredictor().open(TINY, PredictorOptions(threads=1))
    assert signature.inputs == (TensorSpec("x", "float32", (None, 8)),)
    assert signature.outputs == (TensorSpec("y", "float32", (None, 4)),)


def test_predict_matches_numpy_at_every_batch_size() -> None:
    predictor = TfLitePredictor()
    predictor.open(TINY, PredictorOptions(threads=1))
    rng = np.random.default_rng(0)
    for batch in (1, 5, 1, 3, 3):  # each new size resizes; a repeated one does not
        x = rng.standard_normal((batch, 8)).astype(np.float32)
        (y,) = predictor.predict({"x": x})
        assert y.shape == (batch, 4)
        np.testing.assert_allclose(y, reference(x), rtol=1e-5, atol=1e-6)
    assert predictor.info() == {"device": "cpu", "options": {"threads": 1}}
    predictor.close()


def test_outputs_are_copies() -> None:
    predictor = TfLitePredictor()
    predictor.open(TINY, PredictorOptions())
    (first,) = predictor.predict({"x": np.zeros((1, 8), np.float32)})
    kept = first.copy()
    predictor.predict({"x": np.ones((1, 8), np.float32)})
    np.testing.assert_array_equal(first, kept)


def test_a_shape_the_model_cannot_take_is_a_predictor_error() -> None:
    predictor = TfLitePredictor()
    predictor.open(TINY, PredictorOptions())
    with pytest.raises(PredictorError, match="input 'x' cannot take shape"):
        predictor.predict({"x": np.zeros((1, 5), np.float32)})


def test_a_corrupt_file_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(TINY.read_bytes()[:200])
    with pytest.raises(PredictorError) as caught:
        TfLitePredictor().open(bad, PredictorOptions())
    message = caught.value.message
    assert message.startswith(f"{bad}: tflite could not load the model: ")
    assert "\n" not in message


def test_a_broken_litert_is_a_missing_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    from reef.errors import MissingRuntime

    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(MissingRuntime, match=r"pip install 'reef-bench\[tflite\]'"):
        TfLitePredictor().open(TINY, PredictorOptions())


def test_version_is_the_distributions() -> None:
    from importlib.metadata import version

    assert TfLitePredictor().version() == version("ai-edge-litert")
