"""A manifest's declared inputs and outputs are checked against the model's real signature."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reef.errors import ManifestError
from reef.meta.model import ModelManifest
from reef.predictors.base import PredictorOptions, Signature, TensorSpec
from reef.predictors.onnxruntime import OnnxRuntimePredictor
from reef.predictors.signature import check_signature

FILE = "model.yaml"
SHA = "0" * 64

SIGNATURE = Signature(
    inputs=(TensorSpec("x", "float32", ("batch", 3, 8, 8)),),
    outputs=(TensorSpec("y", "float32", ("batch", 10)), TensorSpec("z", "int64", ("batch",))),
)


def manifest(
    inputs: list[dict[str, Any]] | None = None, outputs: list[dict[str, Any]] | None = None
) -> ModelManifest:
    return ModelManifest.model_validate(
        {
            "name": "m",
            "version": "1.0.0",
            "framework": {"name": "onnxruntime"},
            "sources": [{"path": "m.onnx", "sha256": SHA}],
            "inputs": inputs
            if inputs is not None
            else [{"name": "x", "element_type": "float32", "shape": [-1, 3, 8, 8]}],
            "outputs": outputs if outputs is not None else [{"name": "y"}],
        }
    )


def problems(m: ModelManifest, signature: Signature = SIGNATURE) -> dict[str, str]:
    with pytest.raises(ManifestError) as info:
        check_signature(m, signature, FILE)
    assert all(p.file == FILE for p in info.value.problems)
    assert info.value.hint is not None
    return {p.location: p.message for p in info.value.problems}


def test_matching_manifest_passes() -> None:
    check_signature(manifest(), SIGNATURE, FILE)


def test_fixed_manifest_dims_fit_symbolic_model_dims() -> None:
    check_signature(
        manifest([{"name": "x", "element_type": "float32", "shape": [4, 3, 8, 8]}]),
        SIGNATURE,
        FILE,
    )


def test_dynamic_manifest_dims_fit_fixed_model_dims() -> None:
    check_signature(
        manifest([{"name": "x", "element_type": "float32", "shape": [-1, -1, -1, -1]}]),
        SIGNATURE,
        FILE,
    )


def test_input_name_mismatch() -> None:
    found = problems(manifest([{"name": "images", "shape": [-1, 3, 8, 8]}]))
    assert "inputs[0].name" in found
    assert "'images' is not in the model" in found["inputs[0].name"]
    assert "'x'" in found["inputs[0].name"]
    # ... and the model's real input is then undeclared
    assert "'x' is not declared" in found["inputs"]


def test_element_type_mismatch() -> None:
    found = problems(manifest([{"name": "x", "element_type": "uint8", "shape": [-1, 3, 8, 8]}]))
    assert set(found) == {"inputs[0].element_type"}
    assert "uint8" in found["inputs[0].element_type"]
    assert "float32" in found["inputs[0].element_type"]


def test_rank_mismatch() -> None:
    found = problems(manifest([{"name": "x", "shape": [-1, 192]}]))
    assert set(found) == {"inputs[0].shape"}
    assert "rank 2" in found["inputs[0].shape"]
    assert "4" in found["inputs[0].shape"]


def test_fixed_dimension_mismatch() -> None:
    found = problems(manifest([{"name": "x", "shape": [-1, 3, 16, 8]}]))
    assert set(found) == {"inputs[0].shape"}
    message = found["inputs[0].shape"]
    assert "dimension 2 is 16" in message
    assert "expects 8" in message


def test_undeclared_model_input() -> None:
    two_inputs = Signature(
        inputs=(*SIGNATURE.inputs, TensorSpec("mask", "bool", ("batch", 8))),
        outputs=SIGNATURE.outputs,
    )
    found = problems(manifest(), two_inputs)
    assert set(found) == {"inputs"}
    assert "'mask' is not declared" in found["inputs"]


def test_missing_output() -> None:
    found = problems(manifest(outputs=[{"name": "y"}, {"name": "probabilities"}]))
    assert set(found) == {"outputs[1].name"}
    message = found["outputs[1].name"]
    assert "'probabilities' is not in the model" in message
    assert "'y'" in message and "'z'" in message


def test_every_mismatch_is_reported_together() -> None:
    found = problems(
        manifest(
            [{"name": "x", "element_type": "float16", "shape": [-1, 4, 8, 8]}],
            [{"name": "logits"}],
        )
    )
    assert set(found) == {"inputs[0].element_type", "inputs[0].shape", "outputs[0].name"}


def test_against_a_real_model(make_onnx: Callable[..., Path], tmp_path: Path) -> None:
    path = make_onnx(input_shape=[None, 4], output_dim=3)
    signature = OnnxRuntimePredictor().open(path, PredictorOptions())
    check_signature(manifest([{"name": "x", "shape": [-1, 4]}]), signature, FILE)
    found = problems(
        manifest([{"name": "x", "element_type": "float64", "shape": [-1, 5]}]), signature
    )
    assert set(found) == {"inputs[0].element_type", "inputs[0].shape"}
