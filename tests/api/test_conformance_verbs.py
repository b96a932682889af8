"""reef.api.conformance: the verbs behind reef check-outputs and reef convert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reef.api.conformance import check_outputs, convert
from reef.bench.conformance import DEFAULT_ATOL, DEFAULT_RTOL, DEFAULT_SAMPLES, ConformanceError
from reef.errors import ReefError


def test_check_outputs_refuses_a_bad_request_before_reading_the_target(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.onnx")
    with pytest.raises(ConformanceError, match="--backend: onnxruntime named more than once"):
        check_outputs(missing, ["onnxruntime", "onnxruntime"])
    with pytest.raises(ConformanceError, match="--atol"):
        check_outputs(missing, ["onnxruntime", "openvino"], atol=float("inf"))
    with pytest.raises(ReefError, match="file not found"):
        check_outputs(missing, ["onnxruntime", "openvino"])


def test_check_outputs_defaults(make_onnx: Callable[..., Path], tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    from reef.predictors.registry import available

    if "openvino" not in available():
        pytest.skip("this Reef has no openvino backend yet")
    result = check_outputs(str(make_onnx(tmp_path / "m.onnx")), ["onnxruntime", "openvino"])
    assert result.agree and result.samples == DEFAULT_SAMPLES
    assert (result.atol, result.rtol, result.seed) == (DEFAULT_ATOL, DEFAULT_RTOL, 0)
    assert [b.name for b in result.backends] == ["onnxruntime", "openvino"]


def test_convert_without_the_check(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    import pickle

    import numpy as np
    from sklearn.linear_model import LinearRegression

    x = np.random.default_rng(0).standard_normal((20, 3))
    source = tmp_path / "reg.pkl"
    source.write_bytes(pickle.dumps(LinearRegression().fit(x, x[:, 0] * 2)))
    result = convert(source.as_posix(), out=str(tmp_path / "out"), check=False)
    assert result.agree is None and result.conformance is None
    assert Path(result.output) == tmp_path / "out.onnx"
    assert Path(result.manifest) == tmp_path / "reef.yaml"
    checked = convert(source.as_posix(), out=tmp_path / "out", force=True, samples=4)
    # A regressor's [batch, 1] answer is squeezed to [batch], as predict answers.
    assert checked.agree is True
    assert checked.conformance is not None and checked.conformance.samples == 4
    assert [(r.output, r.shape) for r in checked.conformance.rows] == [("label", [1])]
