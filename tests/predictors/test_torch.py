"""The PyTorch backend: TorchScript (.pt) and torch.export (.pt2) files, on the CPU."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reef.errors import PredictorError
from reef.predictors.base import Predictor, PredictorOptions, TensorSpec

torch = pytest.importorskip("torch")

from reef.predictors.torch import SIGNATURE_FILE, TorchPredictor  # noqa: E402

# The tests write TorchScript with torch.jit, which torch 2.10+ calls deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class Tiny(torch.nn.Module):  # type: ignore[misc, name-defined]
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x: Any) -> Any:
        return torch.softmax(self.linear(x), dim=-1)


def reference(module: Tiny, x: np.ndarray) -> np.ndarray:
    w = module.linear.weight.detach().numpy().astype(np.float64)
    b = module.linear.bias.detach().numpy().astype(np.float64)
    logits = x.astype(np.float64) @ w.T + b
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def save_script(path: Path, signature: dict[str, Any] | None = None) -> Tiny:
    module = Tiny().eval()
    traced = torch.jit.trace(module, torch.zeros(2, 4))
    extra = {SIGNATURE_FILE: json.dumps(signature)} if signature is not None else {}
    torch.jit.save(traced, str(path), _extra_files=extra)
    return module


def save_exported(path: Path) -> Tiny:
    module = Tiny().eval()
    batch = torch.export.Dim("batch")
    program = torch.export.export(module, (torch.zeros(2, 4),), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(path))
    return module


def test_is_a_predictor() -> None:
    assert isinstance(TorchPredictor(), Predictor)


def test_exported_program_signature_and_outputs(tmp_path: Path) -> None:
    module = save_exported(tmp_path / "tiny.pt2")
    predictor = TorchPredictor()
    signature = predictor.open(tmp_path / "tiny.pt2", PredictorOptions(threads=1))
    (inp,) = signature.inputs
    (out,) = signature.outputs
    assert inp.name == "x" and inp.element_type == "float32"
    assert isinstance(inp.shape[0], str) and inp.shape[1:] == (4,)  # the batch is a symbol
    assert out.element_type == "float32" and out.shape == (inp.shape[0], 3)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    (y,) = predictor.predict({"x": x})
    assert isinstance(y, np.ndarray) and y.shape == (5, 3)
    np.testing.assert_allclose(y, reference(module, x), rtol=1e-5, atol=1e-6)
    (one,) = predictor.predict({"x": x[:1]})  # another batch size: the batch is dynamic
    np.testing.assert_allclose(one, reference(module, x[:1]), rtol=1e-5, atol=1e-6)
    assert predictor.info()["format"] == "torch.export"
    predictor.close()


def test_torchscript_without_a_declared_signature(tmp_path: Path) -> None:
    module = save_script(tmp_path / "tiny.pt")
    predictor = TorchPredictor()
    signature = predictor.open(tmp_path / "tiny.pt", PredictorOptions(threads=1))
    # TorchScript keeps its arguments' names, not their types' shapes.
    assert signature.inputs == (TensorSpec("x", "float32", (None,)),)
    assert signature.outputs == (TensorSpec("output_0", "float32", (None,)),)
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    (y,) = predictor.predict({"x": x})
    np.testing.assert_allclose(y, reference(module, x), rtol=1e-5, atol=1e-6)
    assert predictor.info() == {"format": "torchscript", "device": "cpu", "options": {"threads": 1}}


def test_torchscript_with_reefs_signature_extra_file(tmp_path: Path) -> None:
    declared = {
        "inputs": [{"name": "x", "element_type": "float32", "shape": [None, 4]}],
        "outputs": [{"name": "probabilities", "element_type": "float32", "shape": [None, 3]}],
    }
    module = save_script(tmp_path / "tiny.pt", declared)
    predictor = TorchPredictor()
    signature = predictor.open(tmp_path / "tiny.pt", PredictorOptions())
    assert signature.inputs == (TensorSpec("x", "float32", (None, 4)),)
    assert signature.outputs == (TensorSpec("probabilities", "float32", (None, 3)),)
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(predictor.predict({"x": x})[0], reference(module, x), rtol=1e-5)


def test_read_only_arrays_are_read_without_a_warning(tmp_path: Path) -> None:
    save_exported(tmp_path / "tiny.pt2")
    predictor = TorchPredictor()
    predictor.open(tmp_path / "tiny.pt2", PredictorOptions())
    x = np.zeros((1, 4), np.float32)
    x.flags.writeable = False
    with warnings.catch_warnings(record=True) as caught:
        predictor.predict({"x": x})
    assert [w for w in caught if "not writable" in str(w.message)] == []


@pytest.mark.parametrize("name", ["tiny.pt", "tiny.pt2"])
def test_a_corrupt_file_is_one_line_naming_it(tmp_path: Path, name: str) -> None:
    good = tmp_path / f"good-{name}"
    (save_exported if name.endswith("pt2") else save_script)(good)
    bad = tmp_path / name
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(PredictorError) as caught:
        TorchPredictor().open(bad, PredictorOptions())
    message = caught.value.message
    assert message.startswith(f"{bad}: torch could not load the model: ")
    assert "\n" not in message


@pytest.mark.parametrize("what", ["module", "state_dict"])
def test_a_torch_save_pickle_is_named_as_such_and_not_unpickled(tmp_path: Path, what: str) -> None:
    module = Tiny()
    path = tmp_path / "saved.pt"
    torch.save(module if what == "module" else module.state_dict(), str(path))
    with pytest.raises(PredictorError) as caught:
        TorchPredictor().open(path, PredictorOptions())
    assert caught.value.message == (
        f"{path}: torch could not load the model: it was saved with torch.save (a pickle: a "
        "whole module or its weights), not as TorchScript"
    )
    assert caught.value.hint is not None and "torch.export.save" in caught.value.hint


def test_a_bad_signature_extra_file_names_it(tmp_path: Path) -> None:
    module = Tiny().eval()
    traced = torch.jit.trace(module, torch.zeros(1, 4))
    torch.jit.save(traced, str(tmp_path / "m.pt"), _extra_files={SIGNATURE_FILE: "{nope"})
    with pytest.raises(PredictorError, match=f"extra file {SIGNATURE_FILE}: not JSON"):
        TorchPredictor().open(tmp_path / "m.pt", PredictorOptions())


def test_threads_are_set(tmp_path: Path) -> None:
    save_exported(tmp_path / "tiny.pt2")
    before = torch.get_num_threads()
    try:
        predictor = TorchPredictor()
        predictor.open(tmp_path / "tiny.pt2", PredictorOptions(threads=1))
        assert torch.get_num_threads() == 1
        assert predictor.info()["options"] == {"threads": 1}
    finally:
        torch.set_num_threads(before)


def test_version_is_torchs() -> None:
    assert TorchPredictor().version() == torch.__version__
