"""Every bad input to reef export exits 2 with a message naming what is wrong, and writes
nothing: no output folder, no staging folder beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from deploy_support import reef, tree


@pytest.fixture
def model_dir(
    tmp_path: Path, make_onnx: Callable[..., Path], write_manifest: Callable[..., Path]
) -> Callable[..., Path]:
    """``model_dir(**fields) -> reef.yaml`` of a tiny model of the user's own."""

    def make(**fields: Any) -> Path:
        folder = tmp_path / "tiny"
        folder.mkdir()
        model = make_onnx(folder / "model.onnx")
        return write_manifest(model, folder / "reef.yaml", **fields)

    return make


def refused(capsys: pytest.CaptureFixture[str], where: Path, *args: str, kind: str = "k8s") -> str:
    """Run the export into ``where / 'out'``; assert exit 2 and nothing written there."""
    before = tree(where)
    done = reef(capsys, "export", kind, *args, "-o", str(where / "out"))
    assert done.code == 2, (done.code, done.err)
    assert "error:" in done.err
    assert tree(where) == before
    return done.err


def test_a_model_of_the_users_own_exports(
    tmp_path: Path, model_dir: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = model_dir()
    done = reef(capsys, "export", "compose", str(manifest), "-o", str(tmp_path / "out"))
    assert done.code == 0, done.err
    assert "COPY artifacts/" in (tmp_path / "out" / "Dockerfile").read_text()


def test_an_unknown_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no component named 'no-such-model'" in refused(capsys, tmp_path, "no-such-model")
    assert "file not found" in refused(capsys, tmp_path, str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--gpu", "-1"], "--gpu -1"),
        (["--max-inflight-mb", "16"], "--max-inflight-mb 16: below reef serve's --max-body 64"),
        (["--cpu-request", "lots"], "--cpu-request 'lots'"),
        (["--cpu-limit", "0"], "--cpu-limit '0'"),
        (["--memory-limit", "2GB"], "--memory-limit '2GB'"),
        (["--memory-request", "4Gi", "--memory-limit", "1Gi"], "--memory-request is above"),
        (["--port", "70000"], "--port 70000"),
        (["--max-batch-size", "0"], "--max-batch-size 0"),
        (["--workers", "0"], "--workers 0: expected 1 to 64"),
        (["--workers", "65"], "--workers 65: expected 1 to 64"),
        (["--replicas", "5", "--max-replicas", "2"], "--max-replicas 2"),
        (["--image", "Not An Image"], "--image 'Not An Image'"),
        (["--name", "Bad_Name"], "--name 'Bad_Name'"),
    ],
)
def test_a_bad_option_value(
    options: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert named in refused(capsys, tmp_path, "digits-classifier", *options)


def test_a_non_empty_folder_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    err = refused(capsys, tmp_path, "digits-classifier")
    assert "not empty" in err and "--force" in err
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep me"


def test_an_output_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").write_text("a file")
    assert "is a file" in refused(capsys, tmp_path, "digits-classifier", kind="compose")
    assert (tmp_path / "out").read_text() == "a file"


def test_a_gpu_for_a_cpu_only_framework(
    tmp_path: Path, model_dir: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = model_dir(framework={"name": "openvino"})
    err = refused(capsys, tmp_path, str(manifest), "--gpu", "1")
    assert "--gpu 1: the openvino backend runs on the CPU only" in err


def test_a_framework_no_extra_installs(
    tmp_path: Path, model_dir: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = model_dir(framework={"name": "tensorflow-serving"})
    assert "framework.name: 'tensorflow-serving'" in refused(capsys, tmp_path, str(manifest))


@pytest.mark.parametrize(
    ("provider", "options", "named"),
    [
        ("TensorrtExecutionProvider", ["--gpu", "1"], "has no TensorrtExecutionProvider"),
        ("OpenVINOExecutionProvider", [], "has no OpenVINOExecutionProvider"),
        ("CUDAExecutionProvider", [], "needs a GPU"),
    ],
)
def test_an_execution_provider_the_image_has_not(
    provider: str,
    options: list[str],
    named: str,
    tmp_path: Path,
    model_dir: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    framework = {"name": "onnxruntime", "options": {"provider_options": {provider: {}}}}
    err = refused(capsys, tmp_path, str(model_dir(framework=framework)), *options)
    assert f"framework.options.provider_options.{provider}" in err and named in err


def test_cuda_with_a_gpu_is_mapped(
    tmp_path: Path, model_dir: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    framework = {
        "name": "onnxruntime",
        "options": {"provider_options": {"CUDAExecutionProvider": {"device_id": 0}}},
    }
    manifest = model_dir(framework=framework)  # fmt: skip
    done = reef(capsys, "export", "k8s", str(manifest), "-o", str(tmp_path / "out"), "--gpu", "1")
    assert done.code == 0, done.err


def test_recurrent_state_cannot_be_served(
    tmp_path: Path,
    make_onnx: Callable[..., Path],
    write_manifest: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "rnn"
    folder.mkdir()
    model = make_onnx(folder / "model.onnx")
    manifest = write_manifest(model, folder / "reef.yaml")
    text = manifest.read_text().replace("shape:", "state: output\n  shape:", 1)
    manifest.write_text(text)
    err = refused(capsys, tmp_path, str(manifest))
    assert "inputs[0].state" in err


def test_a_source_outside_the_models_folder(
    tmp_path: Path,
    make_onnx: Callable[..., Path],
    write_manifest: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = make_onnx(tmp_path / "model.onnx")
    manifest = write_manifest(model, tmp_path / "m" / "reef.yaml")
    manifest.write_text(manifest.read_text().replace("path: model.onnx", "path: ../model.onnx"))
    err = refused(capsys, tmp_path, str(manifest))
    assert "sources[0].path" in err and "outside" in err


def test_a_dataset_from_another_repository(
    tmp_path: Path,
    make_onnx: Callable[..., Path],
    write_manifest: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """reef serve resolves the model with its dataset, and the image has only reef-bench's."""
    import shutil

    from reef import api

    repo = tmp_path / "repo"
    shutil.copytree(Path(api.__file__).parents[1] / "builtin" / "digits", repo / "my-digits")
    meta = repo / "my-digits" / "reef.yaml"
    meta.write_text(meta.read_text().replace("name: digits\n", "name: my-digits\n", 1))
    folder = repo / "tiny"
    folder.mkdir()
    model = make_onnx(folder / "model.onnx")
    write_manifest(model, folder / "reef.yaml", dataset="my-digits")
    api.repo_add(str(repo), name="lab")
    err = refused(capsys, tmp_path, "tiny")
    assert "dataset: 'my-digits' comes from repository 'lab'" in err
