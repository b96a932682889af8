"""``reef convert`` as a user runs it: a scikit-learn model and a TorchScript file to ONNX,
the result checked by reef check and against its source; what is refused exits 2 (or 3
for a converter that is not installed) and writes nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from e2e_support import Reef


@pytest.fixture
def sklearn_file(tmp_path: Path) -> Path:
    pytest.importorskip("skl2onnx")
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x = rng.standard_normal((80, 6))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    path = tmp_path / "work" / "clf.joblib"
    path.parent.mkdir(exist_ok=True)
    joblib.dump(LogisticRegression().fit(x, y), path)
    return path


@pytest.mark.slow
def test_sklearn_to_onnx_then_check(reef: Reef, sklearn_file: Path) -> None:
    result = reef.ok("convert", str(sklearn_file), "--to", "onnx", "--samples", "8", "--json")
    data = result.json()
    assert data["agree"] is True and data["converter"] == "skl2onnx"
    out = reef.cwd / "clf-onnx"
    assert Path(data["output"]) == out / "clf.onnx" and Path(data["manifest"]) == out / "reef.yaml"
    assert data["conformance"]["reference"] == "sklearn"
    # What it wrote is a component reef check accepts.
    assert "ok model clf@0.1.0" in reef.ok("check", str(out)).stdout
    # Human output: the table, and where the files went.
    again = reef.ok("convert", str(sklearn_file), "--to", "onnx", "-o", "second", "--samples", "4")
    assert "wrote" in again.stdout and "second.onnx" in again.stdout
    assert "probabilities" in again.stdout and again.says("agree: onnxruntime match sklearn")
    # Without any tolerance float64 and float32 probabilities differ: exit 1, files kept.
    strict = reef(
        "convert", str(sklearn_file), "--to", "onnx", "-o", "strict/m", "--atol", "0", "--rtol",
        "0", "--samples", "4",
    )  # fmt: skip
    assert strict.rc == 1, str(strict)
    assert strict.says("disagree", "kept for inspection")
    assert (reef.cwd / "strict" / "m.onnx").is_file()
    assert (reef.cwd / "strict" / "reef.yaml").is_file()


def test_existing_outputs_are_refused(reef: Reef, sklearn_file: Path) -> None:
    target = reef.cwd / "model.onnx"
    target.write_bytes(b"mine")
    result = reef("convert", str(sklearn_file), "--to", "onnx", "-o", str(target))
    assert result.rc == 2, str(result)
    assert result.says("already exist", "--force")
    assert target.read_bytes() == b"mine" and not (reef.cwd / "reef.yaml").exists()


def test_refusals_exit_2(reef: Reef, tiny_onnx: Path, tmp_path: Path) -> None:
    already = reef("convert", str(tiny_onnx), "--to", "onnx")
    assert already.rc == 2 and already.says("already an ONNX model"), str(already)
    wrong = reef("convert", str(tiny_onnx), "--to", "coreml")
    assert wrong.rc == 2 and wrong.says("--to coreml"), str(wrong)
    missing = reef("convert", str(tmp_path / "nope.pt"), "--to", "onnx", "--json")
    assert missing.rc == 2 and "file not found" in missing.json()["message"]
    no_to = reef("convert", str(tiny_onnx))
    assert no_to.rc == 2 and no_to.says("--to")


def test_a_missing_converter_exits_3(reef: Reef) -> None:
    if importlib.util.find_spec("tf2onnx") is not None:
        pytest.skip("tf2onnx is installed here")
    source = reef.cwd / "model.tflite"
    source.write_bytes(b"TFL3")
    result = reef("convert", str(source), "--to", "onnx", "--json")
    assert result.rc == 3, str(result)
    assert "pip install tf2onnx" in result.json()["message"]
    assert sorted(p.name for p in reef.cwd.iterdir()) == ["model.tflite"]


@pytest.mark.slow
def test_torchscript_to_onnx(reef: Reef) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    source = reef.cwd / "seq.pt"
    torch.jit.trace(module.eval(), torch.randn(2, 3)).save(str(source))
    no_shape = reef("convert", str(source), "--to", "onnx")
    assert no_shape.rc == 2 and no_shape.says("--shape"), str(no_shape)
    assert not (reef.cwd / "seq-onnx").exists()
    data = reef.ok(
        "convert", str(source), "--to", "onnx", "--shape", "input=1x3", "--samples", "4", "--json"
    ).json()
    assert data["agree"] is True and data["dynamic_batch"] is True
    assert data["conformance"]["rows"][0]["max_abs_error"] < 1e-4
