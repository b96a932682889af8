"""ML frameworks and their versions, read from package metadata so that the heavy ones are not
imported; onnxruntime is, since only it can say which execution providers it was built with.

Several distributions install the one module ``onnxruntime`` (the CPU build, ``-gpu``,
``-openvino``, ``-directml``, ...). Installed side by side, the last one installed overwrote the
other's files, whatever the package metadata still says: its providers are the ones that
survive, and a CUDA provider can disappear without a word. The detector records which
distribution provides the module, and every one of them with a problem when there are several.
"""

from __future__ import annotations

import importlib
import os
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
        "onnxruntime-training",
        "ort-nightly",
        "ort-nightly-gpu",
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
# The native extension every ONNX Runtime build installs under the same name: its size tells
# which build's copy is on disk.
_ORT_NATIVE = "onnxruntime_pybind11_state"


def _installed(names: tuple[str, ...]) -> list[Distribution]:
    """The distributions of ``names`` that are installed, in that order."""
    found = []
    for name in names:
        try:
            found.append(distribution(name))
        except PackageNotFoundError:
            continue
    return found


def _name(dist: Distribution) -> str:
    return str(dist.metadata["Name"])


def installed_distributions(framework: str) -> dict[str, str]:
    """Which of ``framework``'s distributions are installed here (name -> version), in the
    order ``FRAMEWORKS`` lists them; empty when none is. Reads metadata, imports nothing."""
    return {_name(d): d.version for d in _installed(FRAMEWORKS.get(framework, (framework,)))}


def _on_disk(dists: list[Distribution]) -> Distribution | None:
    """Which of several ONNX Runtime distributions installed the files now on disk: the one
    whose record of the native extension has the size of the file there (None when that does
    not single one out)."""
    matching = []
    for dist in dists:
        for path in dist.files or ():
            if not path.name.startswith(_ORT_NATIVE) or path.size is None:
                continue
            try:
                if os.stat(str(dist.locate_file(path))).st_size == path.size:
                    matching.append(dist)
            except OSError:
                pass
            break
    return matching[0] if len(matching) == 1 else None


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


def overwritten(names: list[str], survivor: str | None, providers: list[str] | None) -> str:
    """The problem of several ONNX Runtime distributions installed side by side, with the fix."""
    listed = " and ".join(names)
    which = (
        f"{survivor}'s files overwrote the others'"
        if survivor is not None
        else "the one installed last overwrote the others' files"
    )
    left = ", ".join(providers) if providers else "none: it does not import"
    return (
        f"onnxruntime is installed by {len(names)} distributions ({listed}), which all write "
        f"the one module `onnxruntime`: {which}, and only its execution providers survive "
        f"({left}). Fix: pip uninstall -y {' '.join(names)}, then install one build: "
        "pip install 'reef-bench[cpu]' (CPU) or 'reef-bench[gpu]' (CUDA), or a vendor's "
        "build alone"
    )


@detector("frameworks", group="software")
def frameworks() -> dict[str, Any]:
    out: dict[str, Any] = {}
    volatile: dict[str, Any] = {}
    problems: list[str] = []
    for framework, names in FRAMEWORKS.items():
        dists = _installed(names)
        if not dists:
            continue
        survivor = _on_disk(dists) if len(dists) > 1 else None
        dist = survivor or dists[0]
        facts: dict[str, Any] = {"version": dist.version, "distribution": _name(dist)}
        if len(dists) > 1:
            facts["distributions"] = {_name(d): d.version for d in dists}
        if framework == "onnxruntime":
            if problem := _onnxruntime(facts):
                problems.append(problem)
            if len(dists) > 1:
                built = [_name(d) for d in dists]
                survived = _name(survivor) if survivor is not None else None
                problems.append(overwritten(built, survived, facts["providers"]))
        out[framework] = facts
        volatile[framework] = {"location": str(dist.locate_file(""))}
    return {**out, "volatile": volatile, "problems": problems}
