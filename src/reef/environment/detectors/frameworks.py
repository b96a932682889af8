"""ML frameworks and their versions, read from package metadata so that the heavy ones are not
imported; onnxruntime is, since only it can say which execution providers it was built with."""

from __future__ import annotations

import importlib
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from typing import Any

from reef.environment.detect import detector

# A framework -> the distributions that install it (CPU, GPU and vendor builds).
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "onnxruntime": (
        "onnxruntime",
        "onnxruntime-gpu",
        "onnxruntime-openvino",
        "onnxruntime-directml",
        "onnxruntime-qnn",
        "onnxruntime-rocm",
        "onnxruntime-silicon",
    ),
    "torch": ("torch",),
    "tensorflow": (
        "tensorflow",
        "tensorflow-cpu",
        "tensorflow-gpu",
        "tensorflow-macos",
        "tensorflow-intel",
        "tf-nightly",
    ),
    "openvino": ("openvino",),
    "tflite-runtime": ("tflite-runtime",),
    "ai-edge-litert": ("ai-edge-litert",),
}


def _installed(names: tuple[str, ...]) -> Distribution | None:
    for name in names:
        try:
            return distribution(name)
        except PackageNotFoundError:
            continue
    return None


def _onnxruntime(facts: dict[str, Any]) -> str | None:
    """Adds the execution providers; returns a problem when the package will not import."""
    try:
        ort: Any = importlib.import_module("onnxruntime")
        facts["providers"] = list(ort.get_available_providers())
        facts["device"] = str(ort.get_device())
    except Exception as exc:
        facts["providers"] = None
        return f"onnxruntime {facts['version']} is installed but cannot be imported: {exc}"
    return None


@detector("frameworks", group="software")
def frameworks() -> dict[str, Any]:
    out: dict[str, Any] = {}
    volatile: dict[str, Any] = {}
    problems: list[str] = []
    for framework, names in FRAMEWORKS.items():
        dist = _installed(names)
        if dist is None:
            continue
        facts: dict[str, Any] = {"version": dist.version, "distribution": dist.metadata["Name"]}
        if framework == "onnxruntime" and (problem := _onnxruntime(facts)):
            problems.append(problem)
        out[framework] = facts
        volatile[framework] = {"location": str(dist.locate_file(""))}
    return {**out, "volatile": volatile, "problems": problems}
