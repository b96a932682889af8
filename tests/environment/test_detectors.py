"""Each built-in detector against this machine: the shape of its facts, what is volatile, and
NVML absent (no GPU here) or present but failing."""

from __future__ import annotations

import json
import platform
import shutil
import sys
import types
from typing import Any

import numpy as np
import onnxruntime
import pytest

from reef.environment.detect import BUILTINS, DetectorFailed, FunctionDetector, detect_all
from reef.environment.detectors.blas import blas
from reef.environment.detectors.compilers import compilers, parse_version
from reef.environment.detectors.cpu import INFERENCE_ISA, cpu
from reef.environment.detectors.frameworks import frameworks
from reef.environment.detectors.gpu import gpu
from reef.environment.detectors.memory import memory
from reef.environment.detectors.python import packages, python
from reef.environment.detectors.system import system


def _json(facts: dict[str, Any]) -> dict[str, Any]:
    assert json.loads(json.dumps(facts, allow_nan=False)) == facts
    return facts


def test_every_builtin_is_a_detector_with_a_group() -> None:
    import importlib

    for name, value in BUILTINS.items():
        module, attr = value.split(":")
        found = getattr(importlib.import_module(module), attr)
        assert isinstance(found, FunctionDetector)
        assert found.name == name
        assert found.group in ("hardware", "os", "software")


def test_system() -> None:
    facts = _json(system.detect())
    assert system.group == "os"
    assert facts["name"] == platform.system()
    assert facts["kernel"] == platform.release()
    assert set(facts["distribution"]) == {"id", "version", "name"}
    assert facts["volatile"] == {"hostname": platform.node()}


def test_cpu() -> None:
    facts = _json(cpu.detect())
    assert cpu.group == "hardware"
    assert facts["architecture"] == platform.machine()
    assert isinstance(facts["model"], str) and facts["model"]
    assert facts["logical_cores"] >= 1
    assert 1 <= facts["usable_cores"] <= facts["logical_cores"]
    assert facts["physical_cores"] is None or 1 <= facts["physical_cores"] <= facts["logical_cores"]
    assert facts["isa"] == sorted(facts["isa"])
    assert set(facts["isa"]) <= set(INFERENCE_ISA)
    if sys.platform.startswith("linux") and platform.machine() == "x86_64":
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next(line for line in f if line.startswith("flags")).split(":")[1].split()
        assert ("avx2" in facts["isa"]) == ("avx2" in flags)
        assert ("sse4_2" in facts["isa"]) == ("sse4_2" in flags)
    # The clock and the load change from one moment to the next: never outside volatile.
    assert "frequency_mhz" not in facts and "load_average" not in facts


def test_memory() -> None:
    facts = _json(memory.detect())
    assert facts["total_bytes"] > 0
    assert 0 <= facts["volatile"]["available_bytes"] <= facts["total_bytes"]


def test_python_and_packages() -> None:
    facts = _json(python.detect())
    assert facts["version"] == platform.python_version()
    assert facts["implementation"] == platform.python_implementation()
    assert facts["volatile"]["executable"] == sys.executable
    pkgs = _json(packages.detect())
    assert pkgs["numpy"] == np.__version__
    assert "reef" in pkgs and "mlcommons-loadgen" in pkgs


def test_frameworks() -> None:
    facts = _json(frameworks.detect())
    ort = facts["onnxruntime"]
    assert ort["version"] == onnxruntime.__version__
    assert "CPUExecutionProvider" in ort["providers"]
    assert facts["volatile"]["onnxruntime"]["location"]
    assert facts["problems"] == []
    for absent in ("torch", "tensorflow", "openvino", "tflite-runtime", "ai-edge-litert"):
        if absent in facts:  # only what is installed is listed
            assert facts[absent]["version"]


def test_blas() -> None:
    facts = _json(blas.detect())
    assert facts["numpy"] == np.__version__
    assert facts["blas"]["name"]
    assert "simd" in facts
    pools = facts.get("volatile", {}).get("threadpools")
    if pools is not None:  # threadpoolctl is optional
        assert all("user_api" in p for p in pools)


def test_compilers() -> None:
    facts = _json(compilers.detect())
    for name in ("gcc", "clang", "nvcc"):
        if shutil.which(name):
            assert facts[name]["version"][0].isdigit(), facts
            assert facts["volatile"][name]["path"] == shutil.which(name)
        else:
            assert name not in facts


@pytest.mark.parametrize(
    ("name", "banner", "version"),
    [
        ("gcc", "gcc (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright ...", "12.2.0"),
        ("gcc", "gcc (Ubuntu 9.4.0-1ubuntu1~20.04.2) 9.4.0\n", "9.4.0"),
        ("clang", "Ubuntu clang version 14.0.0-1ubuntu1.1\nTarget: x86_64", "14.0.0"),
        ("clang", "Apple clang version 15.0.0 (clang-1500.1.0.2.5)\n", "15.0.0"),
        (
            "nvcc",
            "nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, "
            "release 12.2, V12.2.140\nBuild cuda_12.2",
            "12.2.140",
        ),
        ("gcc", "something else entirely", None),
    ],
)
def test_compiler_banners(name: str, banner: str, version: str | None) -> None:
    assert parse_version(name, banner) == version


def test_no_gpu_is_none_cleanly() -> None:
    facts = _json(gpu.detect())
    assert facts["status"] == "none"
    assert facts["devices"] == []
    assert facts["volatile"]["note"]


def _fake_nvml(monkeypatch: pytest.MonkeyPatch, init: Any, **functions: Any) -> None:
    module = types.ModuleType("pynvml")
    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    for name, fn in functions.items():
        setattr(module, name, fn)
    monkeypatch.setitem(sys.modules, "pynvml", module)


class _NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


def test_nvml_present_but_failing_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def init() -> None:
        raise _NVMLError(999)  # NVML_ERROR_UNKNOWN

    _fake_nvml(monkeypatch, init)
    with pytest.raises(DetectorFailed, match="NVML is installed but failed"):
        gpu.detect()
    detection = detect_all(extra=[gpu], registry=False)
    assert "gpu" not in detection.facts["hardware"]
    (problem,) = detection.problems
    assert problem.detector == "gpu" and problem.kind == "failed"
    assert "NVML error 999" in problem.message


def test_nvml_without_a_driver_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def init() -> None:
        raise _NVMLError(9)  # NVML_ERROR_DRIVER_NOT_LOADED

    _fake_nvml(monkeypatch, init)
    facts = gpu.detect()
    assert facts["status"] == "none" and "no NVIDIA driver" in facts["volatile"]["note"]


def test_nvml_with_a_device(monkeypatch: pytest.MonkeyPatch) -> None:
    memory_info = types.SimpleNamespace(total=80 * 2**30, used=2**30)
    _fake_nvml(
        monkeypatch,
        lambda: None,
        nvmlSystemGetDriverVersion=lambda: "550.54.15",
        nvmlSystemGetCudaDriverVersion=lambda: 12040,
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: f"handle{i}",
        nvmlDeviceGetName=lambda h: b"NVIDIA H100 80GB HBM3",
        nvmlDeviceGetMemoryInfo=lambda h: memory_info,
        nvmlDeviceGetCudaComputeCapability=lambda h: (9, 0),
        nvmlDeviceGetUUID=lambda h: "GPU-1234",
    )
    facts = _json(gpu.detect())
    assert facts["status"] == "ok"
    assert facts["driver"] == "550.54.15" and facts["cuda"] == "12.4"
    assert facts["devices"] == [
        {
            "name": "NVIDIA H100 80GB HBM3",
            "memory_bytes": 80 * 2**30,
            "compute_capability": "9.0",
            "driver": "550.54.15",
            "cuda": "12.4",
        }
    ]
    assert facts["volatile"]["devices"] == [{"memory_used_bytes": 2**30, "uuid": "GPU-1234"}]
