"""Shared fixtures: a temporary REEF_HOME for every test, tiny ONNX models and their manifests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import yaml
from onnx import helper, numpy_helper

Dim = int | str | None


@pytest.fixture(autouse=True)
def reef_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty REEF_HOME, so nothing touches the real one."""
    home = tmp_path_factory.mktemp("reef-home")
    monkeypatch.setenv("REEF_HOME", str(home))
    monkeypatch.delenv("REEF_DB_URL", raising=False)
    return home


def _dims(shape: Sequence[Dim]) -> list[int | str]:
    """``None`` becomes a symbolic dimension: ``batch`` first, ``d<i>`` after it."""
    return [("batch" if i == 0 else f"d{i}") if d is None else d for i, d in enumerate(shape)]


def build_onnx(
    path: Path,
    input_shape: Sequence[Dim] = (None, 4),
    output_dim: int = 3,
    *,
    dtype: str = "float32",
    input_name: str = "x",
    output_name: str = "y",
    softmax: bool = True,
    seed: int = 0,
) -> Path:
    """A tiny ``y = softmax(x @ W + b)`` model (opset 17, IR 8) written to ``path``.

    ``input_shape`` holds ints (fixed), strings (symbolic names) or None (symbolic, named for
    you); the output has the input's leading dimensions and ``output_dim`` last.
    """
    dims = _dims(input_shape)
    last = dims[-1]
    if not isinstance(last, int):
        raise ValueError("the last input dimension must be fixed: it sizes the weights")
    np_type = np.dtype(dtype)
    elem = helper.np_dtype_to_tensor_dtype(np_type)
    rng = np.random.default_rng(seed)
    weights = numpy_helper.from_array(
        rng.standard_normal((last, output_dim)).astype(np_type), name="W"
    )
    bias = numpy_helper.from_array(rng.standard_normal(output_dim).astype(np_type), name="b")
    nodes = [
        helper.make_node("MatMul", [input_name, "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logits" if softmax else output_name]),
    ]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], [output_name], axis=-1))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info(input_name, elem, dims)],
        [helper.make_tensor_value_info(output_name, elem, [*dims[:-1], output_dim])],
        initializer=[weights, bias],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="reef-tests"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_for(model_path: Path, **fields: Any) -> dict[str, Any]:
    """A valid model manifest (as a dict) describing ``model_path``; ``fields`` replace keys."""
    model = onnx.load(str(model_path))
    inputs = []
    for value in model.graph.input:
        t = value.type.tensor_type
        np_type = helper.tensor_dtype_to_np_dtype(t.elem_type)
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        inputs.append({"name": value.name, "element_type": np_type.name, "shape": shape})
    outputs = [{"name": value.name, "type": "probability"} for value in model.graph.output]
    data: dict[str, Any] = {
        "kind": "model",
        "name": "tiny",
        "version": "1.0.0",
        "framework": {"name": "onnxruntime", "version": ">=1.17"},
        "sources": [{"path": model_path.name, "sha256": sha256(model_path)}],
        "inputs": inputs,
        "outputs": outputs,
    }
    data.update(fields)
    return data


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def make_onnx(tmp_path: Path) -> Callable[..., Path]:
    """``make_onnx(path=None, input_shape=[None, 4], output_dim=3, **options) -> Path``."""

    def make(
        path: Path | None = None,
        input_shape: Sequence[Dim] = (None, 4),
        output_dim: int = 3,
        **options: Any,
    ) -> Path:
        return build_onnx(path or tmp_path / "model.onnx", input_shape, output_dim, **options)

    return make


@pytest.fixture
def write_manifest() -> Callable[..., Path]:
    """``write_manifest(model_path, path=None, **fields) -> Path``: a manifest next to the model
    with the model's real sha256, inputs and outputs; ``fields`` replace top-level keys."""

    def write(model_path: Path, path: Path | None = None, **fields: Any) -> Path:
        target = path or model_path.with_name("model.yaml")
        return write_yaml(target, manifest_for(model_path, **fields))

    return write
