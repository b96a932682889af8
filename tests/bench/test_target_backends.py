"""`reef bench FILE` for every backend's model files: the suffix picks the backend, which the
job carries; a suffix no backend reads, a backend not installed, an IR without its weights,
and a pickle from an untrusted repository are refused (exit 2) naming the file and field."""

from __future__ import annotations

import hashlib
import importlib.util
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from reef.bench.target import check_backend_allowed, job_for, resolve
from reef.components import repository
from reef.components.trust import UntrustedComponent
from reef.errors import EXIT_USAGE, PredictorError, ReefError
from reef.meta.settings import BenchSettings

DATA = Path(__file__).parents[1] / "data"
MakeOnnx = Callable[..., Path]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hide(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``hide("torch")``: importlib.util.find_spec says that module is not installed."""
    real = importlib.util.find_spec

    def hide_module(module: str) -> None:
        def find_spec(name: str, *args: object) -> object:
            return None if name == module else real(name, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide_module


def pickled_classifier(path: Path) -> Path:
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 4)).astype(np.float32), rng.integers(0, 2, 30)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(sklearn_linear.LogisticRegression().fit(x, y)))
    return path


@pytest.mark.parametrize(
    ("name", "backend"),
    [("tiny.tflite", "tflite"), ("model.pt2", "torch"), ("model.pt", "torch")],
)
def test_a_bare_file_is_given_to_the_backend_its_suffix_names(
    tmp_path: Path, name: str, backend: str
) -> None:
    path = tmp_path / name
    path.write_bytes((DATA / "tiny_dense.tflite").read_bytes())  # resolve opens nothing
    resolved = resolve(str(path))
    assert resolved.backend == backend
    assert resolved.manifest is None
    target = resolved.target
    assert (target.kind, target.name, target.path) == ("file", path.stem, str(path.resolve()))
    assert target.sha256 == sha256(path)
    job = job_for(resolved, BenchSettings(duration_s=0.1))
    assert job.backend == backend
    assert job.target.kind == "file"


def test_an_onnx_file_stays_onnx_and_names_its_backend(make_onnx: MakeOnnx) -> None:
    resolved = resolve(str(make_onnx()))
    assert resolved.target.kind == "onnx"
    assert resolved.backend == "onnxruntime"
    assert job_for(resolved, BenchSettings(duration_s=0.1)).backend == "onnxruntime"


def test_the_backend_option_wins_over_the_suffix(make_onnx: MakeOnnx) -> None:
    resolved = resolve(str(make_onnx()))
    job = job_for(resolved, BenchSettings(duration_s=0.1), backend="openvino")
    assert job.backend == "openvino"


def test_an_openvino_ir_records_its_weights(tmp_path: Path) -> None:
    xml, weights = tmp_path / "net.xml", tmp_path / "net.bin"
    xml.write_text("<net/>")
    weights.write_bytes(b"\0" * 16)
    resolved = resolve(str(xml))
    assert resolved.backend == "openvino"
    [ref] = resolved.components
    assert (ref.kind, ref.name, ref.path, ref.sha256) == (
        "weights", "net.bin", str(weights.resolve()), sha256(weights),
    )  # fmt: skip


def test_an_openvino_ir_without_its_weights_is_refused(tmp_path: Path) -> None:
    xml = tmp_path / "net.xml"
    xml.write_text("<net/>")
    with pytest.raises(ReefError) as caught:
        resolve(str(xml))
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.message.startswith(f"{xml.resolve()}: an OpenVINO IR is two files")
    assert "net.bin are not beside it" in caught.value.message


def test_a_suffix_no_backend_reads_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "net.h5"
    path.write_bytes(b"HDF")
    with pytest.raises(ReefError) as caught:
        resolve(str(path))
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.message.startswith(f"{path}: suffix .h5: ")
    assert caught.value.hint is not None and ".pt .pt2 .ts (torch)" in caught.value.hint


def test_a_missing_model_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ReefError, match="file not found"):
        resolve(str(tmp_path / "gone.tflite"))


def test_a_file_whose_backend_is_not_installed_names_the_extra(
    tmp_path: Path, hide: Callable[[str], None]
) -> None:
    hide("ai_edge_litert")
    path = tmp_path / "m.tflite"
    path.write_bytes(b"TFL3")
    with pytest.raises(PredictorError) as caught:
        resolve(str(path))
    assert caught.value.exit_code == EXIT_USAGE
    message = caught.value.message
    assert message.startswith(f"{path.resolve()}: suffix .tflite: the tflite backend")
    assert "pip install 'reef-bench[tflite]'" in message


def test_an_onnx_file_without_onnxruntime_names_the_extra(
    make_onnx: MakeOnnx, hide: Callable[[str], None]
) -> None:
    resolved = resolve(str(make_onnx()))
    hide("onnxruntime")
    with pytest.raises(PredictorError) as caught:
        job_for(resolved, BenchSettings(duration_s=0.1))
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.message.startswith(f"{resolved.model_path}: the onnxruntime backend")
    assert "pip install 'reef-bench[cpu]' (or [gpu] for CUDA)" in caught.value.message


def test_the_users_own_pickle_is_allowed(tmp_path: Path) -> None:
    path = pickled_classifier(tmp_path / "mine" / "model.pkl")
    resolved = resolve(str(path))
    assert resolved.backend == "sklearn"
    assert job_for(resolved, BenchSettings(duration_s=0.1)).backend == "sklearn"


def _sklearn_component(root: Path) -> Path:
    folder = root / "logistic"
    model = pickled_classifier(folder / "model.pkl")
    manifest = {
        "kind": "model",
        "name": "logistic",
        "version": "1.0.0",
        "framework": {"name": "sklearn"},
        "sources": [{"path": "model.pkl", "sha256": sha256(model)}],
        "inputs": [{"name": "X", "element_type": "float32", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "type": "classes"}],
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(manifest))
    return folder / "reef.yaml"


def test_a_pickle_model_of_an_untrusted_repository_is_refused(tmp_path: Path) -> None:
    manifest = _sklearn_component(tmp_path / "theirs")
    repository.add(str(tmp_path / "theirs"), name="theirs")
    for spec in ("logistic", str(manifest)):
        with pytest.raises(UntrustedComponent) as caught:
            resolve(spec)
        error = caught.value
        assert error.exit_code == EXIT_USAGE
        assert error.message.startswith(f"{manifest.resolve()}: framework.name: the sklearn ")
        assert "repository 'theirs', which is not trusted" in error.message
        assert error.hint == "if you trust its authors: reef repo trust theirs"
    # Nor the pickle itself, named as a bare file inside that repository.
    with pytest.raises(UntrustedComponent, match=r"suffix \.pkl: the sklearn backend"):
        resolve(str(manifest.parent / "model.pkl"))


def test_a_pickle_model_of_a_trusted_repository_is_used(tmp_path: Path) -> None:
    _sklearn_component(tmp_path / "ours")
    repository.add(str(tmp_path / "ours"), name="ours")
    repository.set_trusted("ours", True)
    resolved = resolve("logistic")
    assert resolved.manifest is not None and resolved.manifest.framework.name == "sklearn"
    assert resolved.backend is None  # the manifest's framework runs it


def test_the_sklearn_backend_may_not_be_forced_on_an_untrusted_component(
    tmp_path: Path, make_onnx: MakeOnnx, write_manifest: Callable[..., Path]
) -> None:
    root = tmp_path / "lab"
    model = make_onnx(root / "tiny" / "model.onnx")
    write_manifest(model, root / "tiny" / "reef.yaml")
    repository.add(str(root), name="lab")
    resolved = resolve("tiny")
    check_backend_allowed(resolved, "openvino")  # no pickle: nothing to refuse
    with pytest.raises(UntrustedComponent) as caught:
        job_for(resolved, BenchSettings(duration_s=0.1), backend="sklearn")
    assert "reef.yaml: --backend sklearn: the sklearn backend unpickles" in caught.value.message
    assert caught.value.hint == "if you trust its authors: reef repo trust lab"


def test_a_builtin_component_is_trusted() -> None:
    resolved = resolve("digits-classifier")
    check_backend_allowed(resolved, "sklearn")  # the built-in repository is trusted
