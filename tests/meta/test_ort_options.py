"""A model manifest's framework.options: ONNX Runtime's options, checked before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reef.errors import ManifestError
from reef.meta.load import load_model_manifest
from reef.meta.ort_options import OrtOptions


def _manifest(tmp_path: Path, framework: dict[str, Any]) -> Path:
    data = {
        "kind": "model",
        "name": "m",
        "version": "1.0.0",
        "framework": framework,
        "sources": [{"path": "model.onnx", "sha256": "0" * 64}],
        "inputs": [{"name": "x", "shape": [-1, 4]}],
        "outputs": [{"name": "y"}],
    }
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_options_are_read_and_yaml_scalars_become_strings(tmp_path: Path) -> None:
    options = {
        "provider_options": {"CUDAExecutionProvider": {"device_id": 0, "enable": True}},
        "session_config": {"session.intra_op.allow_spinning": 0, "some.ratio": 0.5},
        "inter_op_threads": 2,
        "execution_mode": "parallel",
    }
    manifest = load_model_manifest(_manifest(tmp_path, {"name": "onnxruntime", "options": options}))
    got = manifest.framework.options
    assert got is not None
    assert got.provider_options == {"CUDAExecutionProvider": {"device_id": "0", "enable": "1"}}
    assert got.session_config == {"session.intra_op.allow_spinning": "0", "some.ratio": "0.5"}
    assert got.inter_op_threads == 2
    assert got.execution_mode == "parallel"


def test_no_options_by_default(tmp_path: Path) -> None:
    manifest = load_model_manifest(_manifest(tmp_path, {"name": "onnxruntime"}))
    assert manifest.framework.options is None


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"execution_mode": "eager"}, "framework.options.execution_mode", "sequential"),
        ({"inter_op_threads": 0}, "framework.options.inter_op_threads", "1"),
        ({"session_config": {"": "1"}}, "framework.options.session_config", "not a key"),
        (
            {"session_config": {"session.intra_op.allow_spinning": 5}},
            "framework.options.session_config",
            "expected 0 or 1",
        ),
        (
            {"provider_options": {"CUDA": {"device_id": 0}}},
            "framework.options.provider_options",
            "not an execution provider name",
        ),
        (
            {"session_config": {"a.b": [1, 2]}},
            "framework.options.session_config",
            "expected a string, a number or true/false",
        ),
        ({"threads": 2}, "framework.options.threads", ""),
    ],
)
def test_bad_options_name_the_field(
    tmp_path: Path, options: dict[str, Any], field: str, words: str
) -> None:
    path = _manifest(tmp_path, {"name": "onnxruntime", "options": options})
    with pytest.raises(ManifestError) as info:
        load_model_manifest(path)
    problem = info.value.problems[0]
    assert problem.location.startswith(field), problem
    assert words in problem.message


def test_options_belong_to_onnxruntime(tmp_path: Path) -> None:
    path = _manifest(tmp_path, {"name": "openvino", "options": {"inter_op_threads": 2}})
    with pytest.raises(ManifestError) as info:
        load_model_manifest(path)
    assert "ONNX Runtime's options" in info.value.message
    assert "'openvino'" in info.value.message


def test_a_non_finite_number_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        OrtOptions.model_validate({"session_config": {"a.b": float("nan")}})
