"""The backends' registry: the built-ins, the suffix table, the extra each framework needs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from reef.errors import EXIT_ENVIRONMENT, EXIT_USAGE, MissingRuntime, PredictorError
from reef.predictors import registry
from reef.predictors.base import Predictor


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``without("torch")``: find_spec says that module is not installed."""
    real = importlib.util.find_spec

    def hide(*modules: str) -> None:
        def find_spec(name: str, *args: object) -> object:
            return None if name in modules else real(name, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return hide


def test_the_builtins_and_their_runtimes() -> None:
    assert set(registry.BUILTINS) == {"onnxruntime", "torch", "tflite", "openvino", "sklearn"}
    assert set(registry.RUNTIMES) == set(registry.BUILTINS)
    assert set(registry.SUFFIXES.values()) <= set(registry.BUILTINS)
    assert set(registry.BUILTINS) <= set(registry.available())


@pytest.mark.parametrize(
    ("name", "backend"),
    [
        ("m.onnx", "onnxruntime"),
        ("m.ONNX", "onnxruntime"),
        ("m.pt", "torch"),
        ("m.pt2", "torch"),
        ("m.ts", "torch"),
        ("m.tflite", "tflite"),
        ("m.xml", "openvino"),
        ("m.joblib", "sklearn"),
        ("m.pkl", "sklearn"),
        ("m.pickle", "sklearn"),
        ("m.h5", None),
        ("m", None),
    ],
)
def test_backend_for_suffix(name: str, backend: str | None) -> None:
    assert registry.backend_for_suffix(Path("/models") / name) == backend


def test_a_suffix_no_backend_reads_is_exit_2_naming_the_file() -> None:
    with pytest.raises(PredictorError) as caught:
        registry.backend_for_file(Path("/models/net.h5"))
    assert caught.value.exit_code == EXIT_USAGE
    assert caught.value.message == "/models/net.h5: suffix .h5: no backend reads such a file"
    assert caught.value.hint is not None and ".tflite (tflite)" in caught.value.hint


@pytest.mark.parametrize(
    ("backend", "module", "install"),
    [
        ("onnxruntime", "onnxruntime", "pip install 'reef-bench[cpu]' (or [gpu] for CUDA)"),
        ("torch", "torch", "pip install 'reef-bench[torch]'"),
        ("tflite", "ai_edge_litert", "pip install 'reef-bench[tflite]'"),
        ("openvino", "openvino", "pip install 'reef-bench[openvino]'"),
        ("sklearn", "sklearn", "pip install 'reef-bench[sklearn]'"),
    ],
)
def test_a_missing_runtime_names_the_extra(
    without,
    backend: str,
    module: str,
    install: str,  # type: ignore[no-untyped-def]
) -> None:
    without(module)
    assert not registry.installed(backend)
    assert registry.missing_module(backend) == module
    with pytest.raises(MissingRuntime) as caught:
        registry.create(backend)
    error = caught.value
    assert error.exit_code == EXIT_ENVIRONMENT
    assert error.message.startswith(f"the {backend} backend needs ")
    assert error.message.endswith(f"which is not installed: {install}")
    assert error.to_json()["extra"] == install.split("[")[1].split("]")[0]
    # A file of that backend named on the command line: bad input, exit 2, the same advice.
    suffix = next(s for s, b in registry.SUFFIXES.items() if b == backend)
    with pytest.raises(PredictorError) as bad:
        registry.backend_for_file(Path(f"/models/m{suffix}"))
    assert not isinstance(bad.value, MissingRuntime)
    assert bad.value.exit_code == EXIT_USAGE
    assert bad.value.message.startswith(f"/models/m{suffix}: suffix {suffix}: the {backend}")
    assert install in bad.value.message


def test_a_plugin_name_needs_no_runtime_check() -> None:
    assert registry.missing_module("someone-elses") is None


@pytest.mark.parametrize("name", ["onnxruntime", "torch", "tflite", "openvino", "sklearn"])
def test_each_installed_builtin_creates_a_predictor(name: str) -> None:
    if not registry.installed(name):
        pytest.skip(f"{name}'s framework is not installed")
    predictor = registry.create(name)
    assert isinstance(predictor, Predictor)
    assert predictor.name == name
    assert predictor.version()


def test_listing_the_backends_imports_no_framework() -> None:
    code = (
        "import sys\n"
        "from reef.predictors import registry\n"
        "registry.PREDICTORS.report()\n"
        "[registry.installed(n) for n in registry.available()]\n"
        "heavy = {'torch', 'openvino', 'ai_edge_litert', 'sklearn', 'joblib', 'onnxruntime'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("plain failure", "plain failure"),
        ("\n  first\nsecond\n", "first"),
        (
            "Exception from src/inference/src/cpp/core.cpp:84:\nCheck 'x' failed at a.cpp:5:\n"
            "FrontEnd API failed with GeneralFailure:\nModel can't be parsed\n",
            "FrontEnd API failed with GeneralFailure: Model can't be parsed",
        ),
        ("", "RuntimeError"),
    ],
)
def test_load_failed_is_one_line(text: str, line: str) -> None:
    error = registry.load_failed(Path("/m/x.bin"), "openvino", RuntimeError(text))
    assert error.message == f"/m/x.bin: openvino could not load the model: {line}"


def test_a_framework_that_fails_to_import_is_a_missing_runtime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # importing it raises ImportError
    with pytest.raises(MissingRuntime) as caught:
        registry.import_framework("openvino", "openvino")
    error = caught.value
    assert error.exit_code == EXIT_ENVIRONMENT
    assert error.message.startswith("the openvino backend needs OpenVINO, which cannot be ")
    assert error.message.endswith(": pip install 'reef-bench[openvino]'")
