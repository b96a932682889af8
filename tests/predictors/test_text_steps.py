"""Text-line steps: resize_pad (PP-OCR's pre-processing) and ctc_decode."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from pydantic import TypeAdapter

from reef.errors import ChecksumError
from reef.meta.steps import Step, step_name
from reef.predictors.steps import StepError, build_step

STEP: TypeAdapter[Any] = TypeAdapter(Step)


def make(spec: dict[str, Any], labels: list[str] | None = None) -> Any:
    return build_step(STEP.validate_python(spec), labels=labels)


def test_steps_validate_by_name() -> None:
    assert step_name(STEP.validate_python({"resize_pad": {"height": 48, "width": 320}})) == (
        "resize_pad"
    )
    assert step_name(STEP.validate_python("ctc_decode")) == "ctc_decode"
    with pytest.raises(ValueError, match="greater than 0"):
        STEP.validate_python({"resize_pad": {"height": 0, "width": 320}})


def test_resize_pad_keeps_the_aspect_ratio_and_pads_right() -> None:
    image = np.full((24, 40, 3), 200, dtype=np.uint8)
    out = make({"resize_pad": {"height": 48, "width": 192, "pad_value": 7}})(image)
    assert out.shape == (48, 192, 3) and out.dtype == np.uint8
    assert (out[:, :80] == 200).all()  # 40 * 48 / 24 = 80 columns of image
    assert (out[:, 80:] == 7).all()


def test_resize_pad_rounds_the_width_up_like_pp_ocr() -> None:
    image = np.zeros((30, 31), dtype=np.float32)
    out = make({"resize_pad": {"height": 48, "width": 320, "pad_value": -5}})(image)
    # ceil(48 * 31 / 30) = ceil(49.6) = 50
    assert out.shape == (48, 320)
    assert (out[:, :50] == 0).all() and (out[:, 50:] == -5).all()


def test_resize_pad_squeezes_a_line_wider_than_the_model() -> None:
    image = np.ones((10, 1000, 3), dtype=np.float32)
    out = make({"resize_pad": {"height": 48, "width": 192}})(image)
    assert out.shape == (48, 192, 3) and np.allclose(out, 1.0)


def test_resize_pad_refuses_a_pad_value_uint8_cannot_hold() -> None:
    fn = make({"resize_pad": {"height": 48, "width": 192, "pad_value": 127.5}})
    with pytest.raises(StepError, match="not a uint8 value"):
        fn(np.zeros((10, 10, 3), dtype=np.uint8))
    with pytest.raises(StepError, match="HxWxC"):
        fn(np.zeros((1, 3, 10, 10), dtype=np.float32))


def one_hot(indices: list[int], classes: int) -> np.ndarray:
    scores = np.zeros((1, len(indices), classes), dtype=np.float32)
    scores[0, np.arange(len(indices)), indices] = 1.0
    return scores


def test_ctc_decode_collapses_repeats_and_drops_blanks() -> None:
    fn = make({"ctc_decode": {}}, labels=["<blank>", "a", "b", " "])
    # a a _ a b b _ _ space b  ->  "aab b"
    assert fn(one_hot([1, 1, 0, 1, 2, 2, 0, 0, 3, 2], 4)) == "aab b"
    assert fn(one_hot([0, 0, 0], 4)) == ""


def test_ctc_decode_strips_margins_when_asked() -> None:
    fn = make({"ctc_decode": {"strip": True, "append": [" "]}}, labels=["_", "x"])
    assert fn(one_hot([2, 1, 0, 2], 3)) == "x"


def test_ctc_decode_needs_one_character_per_class() -> None:
    fn = make({"ctc_decode": {}}, labels=["_", "a"])
    with pytest.raises(StepError, match="3 classes but the charset names 2"):
        fn(one_hot([1], 3))
    with pytest.raises(StepError, match="no characters"):
        make({"ctc_decode": {}})


def metadata_model(path: Path, characters: str) -> bytes:
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"character": characters})
    onnx.save(model, path)
    return path.read_bytes()


@pytest.fixture
def charset_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "site" / "fakerec"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    (pkg / "keys.txt").write_text("a\nb\nc\n", encoding="utf-8")
    metadata_model(pkg / "rec.onnx", "x\ny\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return pkg


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ctc_decode_reads_a_charset_file_of_a_package(charset_package: Path) -> None:
    charset = {
        "package": "fakerec",
        "path": "keys.txt",
        "sha256": sha(charset_package / "keys.txt"),
    }
    fn = make({"ctc_decode": {"charset": charset, "append": [" "]}})
    # classes: blank, a, b, c, space
    assert fn(one_hot([3, 0, 1, 4, 2, 2], 5)) == "ca b"


def test_ctc_decode_reads_the_charset_from_model_metadata(charset_package: Path) -> None:
    charset = {
        "package": "fakerec",
        "path": "rec.onnx",
        "sha256": sha(charset_package / "rec.onnx"),
        "metadata": "character",
    }
    fn = make({"ctc_decode": {"charset": charset}})
    assert fn(one_hot([2, 1, 1], 3)[0]) == "yx"
    missing = {**charset, "metadata": "nope"}
    with pytest.raises(StepError, match="no metadata entry 'nope'"):
        make({"ctc_decode": {"charset": missing}})


def test_ctc_decode_verifies_the_charset_and_its_package(charset_package: Path) -> None:
    wrong = {"package": "fakerec", "path": "keys.txt", "sha256": "0" * 64}
    with pytest.raises(ChecksumError):
        make({"ctc_decode": {"charset": wrong}})
    absent = {**wrong, "package": "no_such_package_here"}
    with pytest.raises(StepError, match="not installed in this interpreter: run `reef init"):
        make({"ctc_decode": {"charset": absent}})
    escape = {**wrong, "path": "../elsewhere.txt"}
    with pytest.raises(StepError, match="outside"):
        make({"ctc_decode": {"charset": escape}})
