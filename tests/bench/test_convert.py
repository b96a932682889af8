"""reef convert (reef.bench.convert): TorchScript, ExportedProgram and scikit-learn models to
ONNX, the manifest written beside them, the conformance check, and what is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reef.bench.convert import ConverterMissing, ConvertError, convert
from reef.errors import ReefError
from reef.meta.load import load_model_manifest


def _torch_module() -> Any:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(torch.relu(self.linear(x)), dim=-1)

    torch.manual_seed(0)
    return Net().eval()


@pytest.fixture
def torchscript(tmp_path: Path) -> Path:
    pytest.importorskip("torch")
    import torch

    path = tmp_path / "net.pt"
    torch.jit.script(_torch_module()).save(str(path))
    return path


@pytest.fixture
def sklearn_model(tmp_path: Path) -> Path:
    pytest.importorskip("skl2onnx")
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 5))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    path = tmp_path / "Logistic Model.joblib"
    joblib.dump(LogisticRegression().fit(x, y), path)
    return path


@pytest.mark.slow
def test_torchscript_to_onnx_agrees(torchscript: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "net"
    result = convert(str(torchscript), out=out, shapes={"x": [1, 4]}, samples=8)
    assert result.output == str(tmp_path / "out" / "net.onnx")
    assert result.source_kind == "torchscript" and result.source_backend == "torch"
    assert "TorchScript exporter" in result.converter
    assert result.dynamic_batch
    assert result.agree is True and result.conformance is not None
    assert result.conformance.samples == 8
    manifest = load_model_manifest(Path(result.manifest))
    assert manifest.name == "net" and manifest.version == "0.1.0"
    assert manifest.framework.name == "onnxruntime"
    assert [(i.name, i.shape) for i in manifest.inputs] == [("x", [-1, 4])]
    assert [o.name for o in manifest.outputs] == ["output_0"]
    assert manifest.attributes["converted_from"]["sha256"] == result.source_sha256
    # The converted model is checked against its source by name: the outputs are named as
    # the torch backend names a TorchScript module's.
    assert result.conformance.rows[0].matched_by == "name"


@pytest.mark.slow
def test_an_exported_program_keeps_its_dynamic_batch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    batch = torch.export.Dim("batch")
    program = torch.export.export(
        _torch_module(), (torch.randn(2, 4),), dynamic_shapes={"x": {0: batch}}
    )
    source = tmp_path / "net.pt2"
    torch.export.save(program, str(source))
    result = convert(str(source), out=tmp_path / "pt2", samples=4)
    assert "torch.export" in result.converter
    assert result.dynamic_batch and result.agree is True
    manifest = load_model_manifest(Path(result.manifest))
    assert manifest.inputs[0].shape == [-1, 4]


def test_sklearn_to_onnx_agrees(sklearn_model: Path, tmp_path: Path) -> None:
    result = convert(str(sklearn_model), out=tmp_path / "sk" / "model.onnx", samples=16)
    assert result.converter == "skl2onnx" and result.name == "logistic-model"
    assert result.agree is True
    manifest = load_model_manifest(Path(result.manifest))
    assert [(o.name, o.type) for o in manifest.outputs] == [
        ("label", "classes"),
        ("probabilities", "probability"),
    ]
    assert manifest.inputs[0].shape == [-1, 5]
    conformance = result.conformance
    assert conformance is not None and conformance.reference == "sklearn"
    rows = {r.output: r for r in conformance.rows}
    assert rows["label"].comparison == "exact"
    assert rows["probabilities"].argmax_agreement == 1.0


def test_existing_outputs_are_kept_unless_forced(sklearn_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "sk" / "logistic.onnx"
    first = convert(str(sklearn_model), out=out, check=False)
    assert first.agree is None and first.conformance is None
    before = Path(first.manifest).stat().st_mtime_ns
    with pytest.raises(ConvertError, match="already exist") as caught:
        convert(str(sklearn_model), out=out, check=False)
    assert "--force" in (caught.value.hint or "")
    again = convert(str(sklearn_model), out=out, check=False, force=True)
    assert Path(again.manifest).stat().st_mtime_ns != before  # replaced
    assert sorted(p.name for p in Path(again.output).parent.iterdir()) == [
        "logistic.onnx",
        "reef.yaml",
    ]


@pytest.mark.slow
def test_torchscript_without_shapes_writes_nothing(torchscript: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "net.onnx"
    with pytest.raises(ConvertError, match="--shape") as caught:
        convert(str(torchscript), out=out)
    assert "x" in caught.value.message
    assert not (tmp_path / "new").exists()


def test_what_is_refused(tmp_path: Path, make_onnx: Any) -> None:
    onnx_file = make_onnx(tmp_path / "m.onnx")
    with pytest.raises(ConvertError, match="already an ONNX model"):
        convert(str(onnx_file))
    with pytest.raises(ConvertError, match="--to"):
        convert(str(onnx_file), to="tflite")
    with pytest.raises(ConvertError, match="--opset"):
        convert(str(onnx_file), opset=3)
    with pytest.raises(ReefError, match="file not found") as caught:
        convert(str(tmp_path / "missing.pt"))
    assert caught.value.exit_code == 2


def test_a_missing_converter_names_what_to_install(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("tf2onnx") is not None:
        pytest.skip("tf2onnx is installed here")
    source = tmp_path / "model.tflite"
    source.write_bytes(b"TFL3 not really")
    with pytest.raises(ConverterMissing, match="pip install tf2onnx") as caught:
        convert(str(source), out=tmp_path / "out")
    assert caught.value.exit_code == 3
    assert not (tmp_path / "out").exists()


def test_an_untrusted_pickle_is_refused(sklearn_model: Path, tmp_path: Path) -> None:
    import hashlib

    from reef.components.repository import add

    repo = tmp_path / "repo"
    folder = repo / "logistic"
    folder.mkdir(parents=True)
    model = folder / "model.joblib"
    model.write_bytes(sklearn_model.read_bytes())
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    (folder / "reef.yaml").write_text(
        "kind: model\nname: logistic\nversion: 1.0.0\n"
        "framework: {name: sklearn}\n"
        f"sources: [{{path: model.joblib, sha256: {digest}}}]\n"
        "inputs: [{name: input, element_type: float32, shape: [-1, 5]}]\n"
        "outputs: [{name: label, type: classes}]\n",
        encoding="utf-8",
    )
    add(str(repo), name="theirs")
    with pytest.raises(ReefError, match="trust") as caught:
        convert("logistic", out=tmp_path / "out")
    assert caught.value.exit_code == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_manifest_source_lends_its_shapes_types_and_labels(
    torchscript: Path, tmp_path: Path
) -> None:
    import hashlib

    digest = hashlib.sha256(torchscript.read_bytes()).hexdigest()
    manifest = torchscript.with_name("reef.yaml")
    manifest.write_text(
        "kind: model\nname: net-torch\nversion: 2.0.0\n"
        "framework: {name: torch}\n"
        f"sources: [{{path: {torchscript.name}, sha256: {digest}}}]\n"
        "inputs: [{name: x, element_type: float32, shape: [-1, 4], "
        "steps: [{scale: {factor: 0.5}}]}]\n"
        "outputs: [{name: output_0, type: probability, labels: [a, b, c]}]\n",
        encoding="utf-8",
    )
    result = convert(str(manifest), out=tmp_path / "out" / "net.onnx", samples=4)
    assert result.name == "net-torch" and result.agree is True
    converted = load_model_manifest(Path(result.manifest))
    assert converted.inputs[0].steps == load_model_manifest(manifest).inputs[0].steps
    assert converted.outputs[0].type == "probability"
    assert converted.outputs[0].labels == ["a", "b", "c"]
    assert result.conformance is not None and result.conformance.notes == []
    assert result.conformance.rows[0].argmax_agreement == 1.0


def test_a_disagreement_keeps_the_files_and_says_so(sklearn_model: Path, tmp_path: Path) -> None:
    from reef.bench.conformance import Tolerance

    # No tolerance at all: scikit-learn's float64 probabilities against ONNX Runtime's float32.
    result = convert(
        str(sklearn_model), out=tmp_path / "zero.onnx", samples=4, tolerance=Tolerance(0, 0)
    )
    assert result.agree is False
    assert Path(result.output).is_file() and Path(result.manifest).is_file()
    assert any("kept for inspection" in note for note in result.notes)
    rows = {r.output: r for r in result.conformance.rows} if result.conformance else {}
    assert rows["label"].agree and not rows["probabilities"].agree
