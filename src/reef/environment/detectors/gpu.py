"""NVIDIA GPUs through NVML (``pip install 'reef-bench[gpu]'`` brings the ``pynvml`` module).

No module or no driver means no GPU to report: ``status`` is ``none``, and why goes in the
volatile part, since installing the bindings does not change the machine. NVML that is there
but fails is a problem the user should see, so it raises.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from reef.environment.detect import DetectorFailed, detector

# NVML_ERROR_DRIVER_NOT_LOADED, NVML_ERROR_LIBRARY_NOT_FOUND: no NVIDIA driver on this machine.
_NO_DRIVER = {9, 12}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _none(why: str) -> dict[str, Any]:
    return {"status": "none", "devices": [], "volatile": {"note": why}}


def _cuda(nvml: Any) -> str | None:
    try:
        version = int(nvml.nvmlSystemGetCudaDriverVersion())
    except Exception:
        return None
    return f"{version // 1000}.{version % 1000 // 10}"


def _device(nvml: Any, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stable facts, volatile facts) of one device."""
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    facts: dict[str, Any] = {"name": _text(nvml.nvmlDeviceGetName(handle))}
    facts["memory_bytes"] = int(memory.total)
    try:
        major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
        facts["compute_capability"] = f"{major}.{minor}"
    except Exception:
        facts["compute_capability"] = None
    volatile: dict[str, Any] = {"memory_used_bytes": int(memory.used)}
    with contextlib.suppress(Exception):
        volatile["uuid"] = _text(nvml.nvmlDeviceGetUUID(handle))  # names the card, not the kind
    return facts, volatile


@detector("gpu", group="hardware")
def gpu() -> dict[str, Any]:
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError:
        return _none("the NVML bindings are not installed (pip install 'reef-bench[gpu]')")
    try:
        nvml.nvmlInit()
    except Exception as exc:
        if getattr(exc, "value", None) in _NO_DRIVER:
            return _none(f"no NVIDIA driver: {exc}")
        raise DetectorFailed(f"NVML is installed but failed to start: {exc}") from exc
    try:
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        cuda = _cuda(nvml)
        devices, volatile = [], []
        for i in range(int(nvml.nvmlDeviceGetCount())):
            facts, changing = _device(nvml, i)
            devices.append({**facts, "driver": driver, "cuda": cuda})
            volatile.append(changing)
    except Exception as exc:
        raise DetectorFailed(f"NVML failed: {exc}") from exc
    finally:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()  # the answer is already in hand
    return {
        "status": "ok" if devices else "none",
        "driver": driver,
        "cuda": cuda,
        "devices": devices,
        "volatile": {"devices": volatile},
    }
