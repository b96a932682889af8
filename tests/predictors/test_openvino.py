"""The OpenVINO backend: IR (.xml + .bin) made from an ONNX model, and ONNX read directly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from reef.errors import PredictorError
from reef.predictors.base import Predictor, PredictorOptions, TensorSpec

ov = pytest.importorskip("openvino")

from reef.predictors.openvino import OpenVinoPredictor  # noqa: E402

MakeOnnx = Callable[..., Path]


def reference(onnx_path: Path, x: np.ndarray) -> np.ndarray:
    weights = {
        t.name: numpy_helper.to_array(t) for t in onnx.load(str(onnx_path)).graph.initializer
    }
    logits = x.astype(np.float64) @ weights["W"].astype(np.float64) + weights["b"]
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def to_ir(onnx_path: Path, xml: Path) -> Path:
    ov.save_model(ov.convert_model(str(onnx_path)), str(xml), compress_to_fp16=False)
    return xml


def test_is_a_predictor() -> None:
    assert isinstance(OpenVinoPredictor(), Predictor)


@pytest.mark.parametrize("form", ["ir", "onnx"])
def test_signature_and_outputs(make_onnx: MakeOnnx, tmp_path: Path, form: str) -> None:
    onnx_path = make_onnx(input_shape=[None, 4], output_dim=3)
    path = to_ir(onnx_path, tmp_path / "tiny.xml") if form == "ir" else onnx_path
    predictor = OpenVinoPredictor()
    signature = predictor.open(path, PredictorOptions(threads=1))
    assert signature.inputs == (TensorSpec("x", "float32", (None, 4)),)
    assert signature.outputs == (TensorSpec("y", "float32", (None, 3)),)
    rng = np.random.default_rng(0)
    for batch in (1, 4, 2):
        x = rng.standard_normal((batch, 4)).astype(np.float32)
        (y,) = predictor.predict({"x": x})
        assert y.shape == (batch, 3)
        np.testing.assert_allclose(y, reference(onnx_path, x), rtol=1e-5, atol=1e-6)
    # f32 where the CPU plugin would pick bf16 (AMX, AVX-512 BF16): the model's precision.
    assert predictor.info() == {
        "device": "CPU",
        "options": {"threads": 1, "inference_precision": "f32"},
    }
    predictor.close()


def test_outputs_are_copies(make_onnx: MakeOnnx) -> None:
    predictor = OpenVinoPredictor()
    predictor.open(make_onnx(), PredictorOptions())
    (first,) = predictor.predict({"x": np.zeros((1, 4), np.float32)})
    kept = first.copy()
    predictor.predict({"x": np.ones((1, 4), np.float32)})
    np.testing.assert_array_equal(first, kept)


def test_an_ir_without_its_weights_says_so(make_onnx: MakeOnnx, tmp_path: Path) -> None:
    xml = to_ir(make_onnx(), tmp_path / "tiny.xml")
    xml.with_suffix(".bin").unlink()
    with pytest.raises(PredictorError, match=r"its weights tiny\.bin are not beside it"):
        OpenVinoPredictor().open(xml, PredictorOptions())


@pytest.mark.parametrize("name", ["tiny.xml", "tiny.onnx"])
def test_a_corrupt_file_is_one_line_naming_it(
    make_onnx: MakeOnnx, tmp_path: Path, name: str
) -> None:
    good = make_onnx(tmp_path / "good" / "tiny.onnx")
    if name.endswith(".xml"):
        good = to_ir(good, tmp_path / "good" / "tiny.xml")
        (tmp_path / "tiny.bin").write_bytes(good.with_suffix(".bin").read_bytes())
    bad = tmp_path / name
    bad.write_bytes(good.read_bytes()[:150])
    with pytest.raises(PredictorError) as caught:
        OpenVinoPredictor().open(bad, PredictorOptions())
    message = caught.value.message
    assert message.startswith(f"{bad}: openvino could not load the model: ")
    assert "\n" not in message


def test_version_is_the_distributions() -> None:
    from importlib.metadata import version

    assert OpenVinoPredictor().version() == version("openvino")
