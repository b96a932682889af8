"""Predictor backends: the built-in ones and those of the ``reef.predictors`` entry-point group.

``PREDICTORS`` is their group in ``reef.plugins``: a backend's module is imported when a model
of its framework is first opened, and a plugin with a built-in's name is not used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reef.errors import PredictorError, PredictorPluginError
from reef.plugins import PluginGroup
from reef.predictors.base import Predictor

GROUP = "reef.predictors"

# Declared under the entry-point group in Reef's own metadata too; an entry point with the same
# target is that declaration, not a clash.
BUILTINS = {"onnxruntime": "reef.predictors.onnxruntime:OnnxRuntimePredictor"}


def _factory(name: str, obj: Any) -> Callable[[], Predictor]:
    if not callable(obj):
        raise TypeError(f"it provides {type(obj).__name__}, not a predictor class")
    return obj  # type: ignore[no-any-return]


PREDICTORS: PluginGroup[Callable[[], Predictor]] = PluginGroup(
    GROUP, kind="predictor", builtins=BUILTINS, error=PredictorPluginError, accept=_factory
)


def available() -> list[str]:
    return PREDICTORS.names()


def create(name: str) -> Predictor:
    """A new, unopened predictor for the framework ``name``."""
    if name not in PREDICTORS:
        known = ", ".join(available()) or "none"
        raise PredictorError(
            f"no predictor for framework {name!r}",
            hint=f"installed predictors: {known}; a plugin adds one under the "
            f"'{GROUP}' entry-point group",
        )
    return PREDICTORS.load(name)()
