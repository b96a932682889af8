"""Predictor backends, found through the ``reef.predictors`` entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from reef.errors import PredictorError
from reef.predictors.base import Predictor

GROUP = "reef.predictors"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> list[str]:
    return sorted(_entry_points())


def create(name: str) -> Predictor:
    """A new, unopened predictor for the framework ``name``."""
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(available()) or "none"
        raise PredictorError(
            f"no predictor for framework {name!r}",
            hint=f"installed predictors: {known}; a plugin adds one under the "
            f"'{GROUP}' entry-point group",
        )
    try:
        factory = ep.load()
    except ImportError as exc:
        raise PredictorError(
            f"the {name!r} predictor could not be loaded: {exc}",
            hint=f"install the package it needs (pip install {name})",
        ) from exc
    predictor: Predictor = factory()
    return predictor
