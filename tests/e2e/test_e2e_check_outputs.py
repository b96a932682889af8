"""``reef check-outputs`` as a user runs it: two backends on the same model agree (exit 0),
a planted disagreement exits 1, and bad requests exit 2 with the message."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
from e2e_support import DIGITS_CLASSIFIER, Reef

NOISY_BACKEND = """
import numpy as np
from reef.predictors.onnxruntime import OnnxRuntimePredictor


class Noisy(OnnxRuntimePredictor):
    name = "ort-noisy"

    def open(self, path, options):
        signature = super().open(path, options)
        run = self.predict
        self.predict = lambda feeds: [o + np.float32(0.01) for o in run(feeds)]
        return signature
"""


def _openvino() -> None:
    from reef.predictors.registry import available

    if "openvino" not in available():
        pytest.skip("this Reef has no openvino backend yet")
    if importlib.util.find_spec("openvino") is None:
        pytest.skip("OpenVINO is not installed")


def _noisy_site(root: Path) -> dict[str, str]:
    """A plugin distribution with an ONNX Runtime that adds 0.01 to every output, found by the
    CLI's interpreter through PYTHONPATH."""
    root.mkdir()
    info = root / "reef_noisy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reef-noisy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[reef.predictors]\nort-noisy = noisy:Noisy\n")
    (root / "noisy.py").write_text(textwrap.dedent(NOISY_BACKEND))
    return {"PYTHONPATH": str(root)}


@pytest.mark.slow
def test_onnxruntime_and_openvino_agree(reef: Reef, tiny_onnx: Path) -> None:
    _openvino()
    result = reef.ok(
        "check-outputs", str(tiny_onnx), "--backend", "onnxruntime", "--backend", "openvino",
        "--samples", "8",
    )  # fmt: skip
    assert "openvino" in result.stdout and "agree" in result.stdout
    assert result.says("agree: openvino match onnxruntime")
    data = reef.ok(
        "check-outputs", str(tiny_onnx), "-b", "onnxruntime", "-b", "openvino", "--json",
        "--samples", "4", "--seed", "7",
    ).json()  # fmt: skip
    assert data["agree"] is True and data["samples"] == 4 and data["seed"] == 7
    assert data["reference"] == "onnxruntime" and data["inputs"] == "synthetic"
    (row,) = data["rows"]
    assert row["backend"] == "openvino" and row["output"] == "y" and row["agree"]
    assert row["max_abs_error"] < 1e-4 and row["argmax_agreement"] == 1.0


@pytest.mark.slow
def test_a_dataset_feeds_its_samples(reef: Reef) -> None:
    _openvino()
    data = reef.ok(
        "check-outputs", DIGITS_CLASSIFIER, "-b", "onnxruntime", "-b", "openvino",
        "--samples", "8", "--json",
    ).json()  # fmt: skip
    assert data["agree"] is True
    assert data["inputs"] == "dataset" and data["dataset"] == "digits" and data["samples"] == 8


@pytest.mark.slow
def test_a_disagreement_exits_1(reef: Reef, tiny_onnx: Path, tmp_path: Path) -> None:
    env = _noisy_site(tmp_path / "site")
    result = reef(
        "check-outputs", str(tiny_onnx), "-b", "onnxruntime", "-b", "ort-noisy",
        "--samples", "4", env=env,
    )  # fmt: skip
    assert result.rc == 1, str(result)
    assert "disagree" in result.stdout
    assert result.says(
        "ort-noisy y:", "outside the tolerance", "disagree: ort-noisy does not match onnxruntime"
    )
    data = reef(
        "check-outputs", str(tiny_onnx), "-b", "onnxruntime", "-b", "ort-noisy", "--json",
        env=env,
    )  # fmt: skip
    assert data.rc == 1 and data.json()["agree"] is False
    assert data.json()["rows"][0]["max_abs_error"] == pytest.approx(0.01, rel=1e-3)
    # A loose tolerance accepts it.
    loose = reef(
        "check-outputs", str(tiny_onnx), "-b", "onnxruntime", "-b", "ort-noisy",
        "--atol", "0.02", env=env,
    )  # fmt: skip
    assert loose.rc == 0, str(loose)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-b", "onnxruntime"), "--backend: name at least two backends"),
        (("-b", "onnxruntime", "-b", "onnxruntime"), "--backend: onnxruntime named more than once"),
        (("-b", "onnxruntime", "-b", "nosuch"), "--backend: unknown backend(s) nosuch"),
        (("-b", "onnxruntime", "-b", "openvino", "--samples", "0"), "--samples must be"),
        (("-b", "onnxruntime", "-b", "openvino", "--rtol", "-1"), "--rtol must be"),
        (("-b", "onnxruntime", "-b", "openvino", "--shape", "x=0"), "--shape 'x=0'"),
    ],
)
def test_bad_requests_exit_2(
    reef: Reef, tiny_onnx: Path, args: tuple[str, ...], message: str
) -> None:
    result = reef("check-outputs", str(tiny_onnx), *args)
    assert result.rc == 2, str(result)
    assert result.says(message), str(result)
    assert "Traceback" not in result.stderr


def test_a_missing_model_exits_2(reef: Reef, tmp_path: Path) -> None:
    result = reef(
        "check-outputs", str(tmp_path / "nope.onnx"), "-b", "onnxruntime", "-b", "openvino",
        "--json",
    )  # fmt: skip
    assert result.rc == 2, str(result)
    assert "file not found" in result.json()["message"]
