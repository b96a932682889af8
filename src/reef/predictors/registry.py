"""Predictor backends: the built-in ones and those of the ``reef.predictors`` entry-point group.

``PREDICTORS`` is their group in ``reef.plugins``: a backend's module is imported when a model
of its framework is first opened, and a plugin with a built-in's name is not used.

Each built-in backend needs its framework, installed by an extra of ``reef-bench``
(``RUNTIMES``); a bare model file is given to the backend its suffix names (``SUFFIXES``).
Whether a framework is installed is asked of ``importlib.util.find_spec``, which imports
nothing: listing the backends stays cheap.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reef.errors import MissingRuntime, PredictorError, PredictorPluginError
from reef.plugins import PluginGroup
from reef.predictors.base import Predictor

GROUP = "reef.predictors"

# Declared under the entry-point group in Reef's own metadata too; an entry point with the same
# target is that declaration, not a clash.
BUILTINS = {
    "onnxruntime": "reef.predictors.onnxruntime:OnnxRuntimePredictor",
    "torch": "reef.predictors.torch:TorchPredictor",
    "tflite": "reef.predictors.tflite:TfLitePredictor",
    "openvino": "reef.predictors.openvino:OpenVinoPredictor",
    "sklearn": "reef.predictors.sklearn:SklearnPredictor",
}


@dataclass(frozen=True)
class Runtime:
    """The framework a built-in backend needs: the modules it imports, its name in words,
    and the extra of ``reef-bench`` that installs it (``alternative``: another one that
    does, and when to choose it)."""

    modules: tuple[str, ...]
    title: str
    extra: str
    alternative: str | None = None

    def install(self) -> str:
        line = f"pip install 'reef-bench[{self.extra}]'"
        return f"{line} (or {self.alternative})" if self.alternative else line


RUNTIMES: dict[str, Runtime] = {
    "onnxruntime": Runtime(("onnxruntime",), "ONNX Runtime", "cpu", "[gpu] for CUDA"),
    "torch": Runtime(("torch",), "PyTorch", "torch"),
    "tflite": Runtime(("ai_edge_litert",), "LiteRT (ai-edge-litert)", "tflite"),
    "openvino": Runtime(("openvino",), "OpenVINO", "openvino"),
    "sklearn": Runtime(("sklearn", "joblib"), "scikit-learn", "sklearn"),
}

# A bare model file goes to the backend its suffix names (lower-cased). ``.onnx`` stays with
# ONNX Runtime, the default; OpenVINO reads ONNX too, when a manifest or --backend asks it.
SUFFIXES: dict[str, str] = {
    ".onnx": "onnxruntime",
    ".pt": "torch",
    ".pt2": "torch",
    ".ts": "torch",
    ".tflite": "tflite",
    ".xml": "openvino",
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
}

# Backends whose model files are pickles: loading one runs code the file names.
PICKLE_BACKENDS = frozenset({"sklearn"})


def _factory(name: str, obj: Any) -> Callable[[], Predictor]:
    if not callable(obj):
        raise TypeError(f"it provides {type(obj).__name__}, not a predictor class")
    return obj  # type: ignore[no-any-return]


PREDICTORS: PluginGroup[Callable[[], Predictor]] = PluginGroup(
    GROUP, kind="predictor", builtins=BUILTINS, error=PredictorPluginError, accept=_factory
)


def available() -> list[str]:
    return PREDICTORS.names()


def missing_module(name: str) -> str | None:
    """The first module the built-in backend ``name`` needs that is not installed; None
    when all are, or when ``name`` is not a built-in (a plugin brings its own)."""
    runtime = RUNTIMES.get(name)
    if runtime is None:
        return None
    for module in runtime.modules:
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):  # a broken package: as good as missing
            return module
    return None


def installed(name: str) -> bool:
    """Whether the backend ``name`` is known and its framework is installed."""
    return name in PREDICTORS and missing_module(name) is None


def missing_runtime(name: str) -> MissingRuntime | None:
    """The error that ``create(name)`` raises because ``name``'s framework is missing."""
    if missing_module(name) is None:
        return None
    runtime = RUNTIMES[name]
    return MissingRuntime(
        name,
        f"the {name} backend needs {runtime.title}, which is not installed: {runtime.install()}",
        runtime.extra,
        hint="`reef plugins` lists the backends",
    )


def ensure_runtime(name: str) -> None:
    """Raise ``MissingRuntime`` (exit 3) naming the extra to install when the built-in
    backend ``name``'s framework is not installed."""
    error = missing_runtime(name)
    if error is not None:
        raise error


def import_framework(name: str, module: str) -> Any:
    """``module`` of the built-in backend ``name``'s framework, imported; one that is missing
    or fails to import (a broken install) is a ``MissingRuntime`` naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        runtime = RUNTIMES[name]
        raise MissingRuntime(
            name,
            f"the {name} backend needs {runtime.title}, which cannot be imported "
            f"({first_line(exc)}): {runtime.install()}",
            runtime.extra,
            hint="reinstall it; `reef plugins` lists the backends",
        ) from exc


def backend_for_suffix(path: Path | str) -> str | None:
    """The backend a bare model file's suffix names, or None."""
    return SUFFIXES.get(Path(path).suffix.lower())


def backend_for_file(path: Path | str) -> str:
    """The backend for the bare model file ``path``, installed: a PredictorError (exit 2)
    naming the file when its suffix names no backend, or names one whose framework is not
    installed (then it says which extra installs it)."""
    name = backend_for_suffix(path)
    if name is None:
        suffix = Path(path).suffix or "(none)"
        raise PredictorError(
            f"{path}: suffix {suffix}: no backend reads such a file",
            hint=f"model files Reef reads: {suffixes_in_words()}",
        )
    error = missing_runtime(name)
    if error is not None:
        runtime = RUNTIMES[name]
        raise PredictorError(
            f"{path}: suffix {Path(path).suffix}: the {name} backend reads it, and it needs "
            f"{runtime.title}, which is not installed: {runtime.install()}",
        )
    return name


def suffixes_in_words() -> str:
    """``.onnx (onnxruntime), .pt .pt2 .ts (torch), ...``"""
    by_backend: dict[str, list[str]] = {}
    for suffix, name in SUFFIXES.items():
        by_backend.setdefault(name, []).append(suffix)
    return ", ".join(f"{' '.join(s)} ({name})" for name, s in by_backend.items())


def create(name: str) -> Predictor:
    """A new, unopened predictor for the framework ``name``; a built-in whose framework is
    not installed is a ``MissingRuntime`` naming the extra that installs it."""
    if name not in PREDICTORS:
        known = ", ".join(available()) or "none"
        raise PredictorError(
            f"no predictor for framework {name!r}",
            hint=f"installed predictors: {known}; a plugin adds one under the "
            f"'{GROUP}' entry-point group",
        )
    ensure_runtime(name)
    return PREDICTORS.load(name)()


def load_failed(path: Path, backend: str, exc: BaseException) -> PredictorError:
    """What a backend raises when its framework cannot load a model file: one line,
    ``{path}: {backend} could not load the model: {the first line of its own message}``.
    Frameworks whose messages begin with where in their C++ they were raised (OpenVINO's
    ``Exception from src/...``, ``Check '...' failed at ...``) are given the first line past
    those."""
    return PredictorError(f"{path}: {backend} could not load the model: {first_line(exc)}")


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Exception from", "Check '"))]
    kept = useful or lines or [type(exc).__name__]
    detail = kept[0]
    if detail.endswith(":") and len(kept) > 1:  # "FrontEnd API failed with GeneralFailure:"
        detail = f"{detail} {kept[1]}"
    return detail if len(detail) <= _MAX_LINE else detail[:_MAX_LINE] + "…"


_MAX_LINE = 300
