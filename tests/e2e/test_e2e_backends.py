"""`reef bench FILE` through the real CLI for each backend's own model files: the suffix picks
the backend, the run is valid and records it; refusals (a suffix no backend reads, a corrupt
file, a pickle from an untrusted repository) are exit 2, one line, nothing recorded.

Each run costs 5-25 s on a busy 2-core machine (torch's, OpenVINO's and scikit-learn's
imports alone take seconds): those three are marked slow; LiteRT's and the refusals are not."""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import Reef

PERFORMANCE = ("--mode", "performance", "--duration", "0.2")
DATA = Path(__file__).parents[1] / "data"


def bench_file(reef: Reef, path: Path, backend: str) -> dict[str, Any]:
    result = reef("bench", str(path), *PERFORMANCE, "--json")
    assert result.rc == 0, str(result)
    assert "Traceback" not in result.stderr
    [record] = result.json()
    assert record["status"] == "valid", record["reasons"]
    assert record["target"]["kind"] == "file"
    assert record["target"]["name"] == path.stem
    assert record["predictor"]["name"] == backend
    assert record["performance"]["latency_ms"]["p50"] > 0
    assert [r["id"] for r in reef.runs()] == [record["id"]]
    return dict(record)


def test_tflite(reef: Reef, tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    path = Path(shutil.copy(DATA / "tiny_dense.tflite", tmp_path / "tiny_dense.tflite"))
    record = bench_file(reef, path, "tflite")
    assert record["samples"]["shapes"] == {"x": [8]}


@pytest.mark.slow
def test_openvino_ir(reef: Reef, tmp_path: Path, tiny_onnx: Path) -> None:
    ov = pytest.importorskip("openvino")
    xml = tmp_path / "tiny.xml"
    ov.save_model(ov.convert_model(str(tiny_onnx)), str(xml), compress_to_fp16=False)
    record = bench_file(reef, xml, "openvino")
    assert record["samples"]["shapes"] == {"x": [3, 8, 8]}
    [weights] = [c for c in record["components"] if c["kind"] == "weights"]
    assert weights["name"] == "tiny.bin"


@pytest.mark.slow
def test_sklearn_joblib(reef: Reef, tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    linear = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((60, 4)), rng.integers(0, 3, 60)
    path = tmp_path / "logistic.joblib"
    joblib.dump(linear.LogisticRegression(max_iter=200).fit(x, y), path)
    record = bench_file(reef, path, "sklearn")
    assert record["samples"]["shapes"] == {"X": [4]}


@pytest.mark.slow
def test_torch_export(reef: Reef, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=-1)).eval()
    batch = torch.export.Dim("batch")
    program = torch.export.export(module, (torch.zeros(2, 4),), dynamic_shapes=({0: batch},))
    path = tmp_path / "tiny.pt2"
    torch.export.save(program, str(path))
    record = bench_file(reef, path, "torch")
    assert record["samples"]["shapes"] == {"input": [4]}  # the argument's name


def test_a_suffix_no_backend_reads_is_refused(reef: Reef, tmp_path: Path) -> None:
    path = tmp_path / "net.h5"
    path.write_bytes(b"\x89HDF\r\n")
    result = reef("bench", str(path), *PERFORMANCE)
    assert result.rc == 2, str(result)
    assert result.says(f"{path}: suffix .h5:", "model files Reef reads:"), str(result)
    assert "Traceback" not in result.stderr
    reef.assert_nothing_written()


def test_a_corrupt_model_file_is_one_line(reef: Reef, tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    path = tmp_path / "broken.tflite"
    path.write_bytes((DATA / "tiny_dense.tflite").read_bytes()[:200])
    result = reef("bench", str(path), *PERFORMANCE)
    assert result.rc == 2, str(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, str(result)
    assert result.says(f"{path}: tflite could not load the model:"), str(result)
    assert "Traceback" not in result.stderr
    reef.assert_nothing_written()


def test_a_pickle_from_an_untrusted_repository_is_refused(reef: Reef, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    linear = pytest.importorskip("sklearn.linear_model")
    folder = tmp_path / "theirs" / "logistic"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    estimator = linear.LogisticRegression().fit(rng.standard_normal((20, 4)), np.arange(20) % 2)
    model = folder / "model.pkl"
    model.write_bytes(pickle.dumps(estimator))
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    manifest = {
        "kind": "model",
        "name": "logistic",
        "version": "1.0.0",
        "framework": {"name": "sklearn"},
        "sources": [{"path": "model.pkl", "sha256": digest}],
        "inputs": [{"name": "X", "element_type": "float32", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "type": "classes"}],
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(manifest))
    reef.ok("repo", "add", str(tmp_path / "theirs"), "--name", "theirs")
    result = reef("bench", "logistic", *PERFORMANCE)
    assert result.rc == 2, str(result)
    assert result.says(
        f"{(folder / 'reef.yaml').resolve()}: framework.name: the sklearn backend unpickles",
        "reef repo trust theirs",
    ), str(result)
    reef.assert_nothing_written()


def test_a_runtime_that_fails_to_import_names_the_extra(reef: Reef, tmp_path: Path) -> None:
    """A broken install (here a LiteRT whose import fails) is one line, exit 3, nothing
    recorded; the message says which extra installs it."""
    shadow = tmp_path / "shadow" / "ai_edge_litert"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("libLiteRt.so: no such file")\n')
    path = Path(shutil.copy(DATA / "tiny_dense.tflite", tmp_path / "tiny_dense.tflite"))
    result = reef("bench", str(path), *PERFORMANCE, env={"PYTHONPATH": str(shadow.parent)})
    assert result.rc == 3, str(result)
    assert result.says(
        "the tflite backend needs LiteRT (ai-edge-litert), which cannot be imported "
        "(libLiteRt.so: no such file): pip install 'reef-bench[tflite]'"
    ), str(result)
    assert "Traceback" not in result.stderr
    reef.assert_nothing_written()
