"""Turning declared steps into callables: built-ins and steps from ``reef.steps`` plugins.

A step works on one sample (no batch dimension) and returns the transformed value. Building
a step does the per-step work (parsing parameters, looking up plugins) once, so that calling
it on the benchmark's hot path does only the transformation itself.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from pydantic import ValidationError

from reef.errors import ReefError
from reef.meta.steps import BUILTIN_STEPS, PluginStep, Step, step_name, step_params

GROUP = "reef.steps"

StepFn = Callable[[Any], Any]
# A plugin's entry point: factory(params, labels) -> StepFn.
PluginFactory = Callable[[dict[str, Any], list[str] | None], StepFn]


class StepError(ReefError):
    """A step could not be built, or could not be applied to the data it was given."""


@cache
def _builtins() -> dict[str, Callable[[Any, list[str] | None], StepFn]]:
    # Imported here so that importing the registry (e.g. for `known_steps`) stays cheap.
    from reef.predictors.steps import image, output, tensor
    from reef.predictors.steps import text as text_steps

    return {
        "cast": lambda p, _: tensor.cast(p),
        "scale": lambda p, _: tensor.scale(p),
        "normalize": lambda p, _: tensor.normalize(p),
        "reshape": lambda p, _: tensor.reshape(p),
        "transpose": lambda p, _: tensor.transpose(p),
        "decode": lambda p, _: image.decode(p),
        "resize": lambda p, _: image.resize(p),
        "center_crop": lambda p, _: image.center_crop(p),
        "softmax": lambda p, _: output.softmax(p),
        "argmax": lambda p, _: output.argmax(p),
        "top_k": lambda p, labels: output.top_k(p, labels),
        "resize_pad": lambda p, _: text_steps.resize_pad(p),
        "ctc_decode": lambda p, labels: text_steps.ctc_decode(p, labels),
    }


@cache
def _plugin_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


@cache
def _plugin_factory(name: str) -> PluginFactory:
    ep = _plugin_entry_points().get(name)
    if ep is None:
        raise StepError(
            f"unknown step {name!r}",
            hint=f"known steps: {', '.join(known_steps()) or 'none'}; a plugin adds one "
            f"under the '{GROUP}' entry-point group",
        )
    try:
        factory = ep.load()
    except (ImportError, AttributeError) as exc:
        raise StepError(
            f"step {name!r} could not be loaded from {ep.value}: {exc}",
            hint="install or repair the package that provides it",
        ) from exc
    if not callable(factory):
        raise StepError(f"step {name!r}: entry point {ep.value} is not callable")
    return factory  # type: ignore[no-any-return]


def clear_plugin_cache() -> None:
    """Forget discovered plugins, e.g. after installing one in a running process."""
    _plugin_entry_points.cache_clear()
    _plugin_factory.cache_clear()


def known_steps() -> list[str]:
    return sorted(set(BUILTIN_STEPS) | set(_plugin_entry_points()))


def _builtin_params(name: str, params: dict[str, Any]) -> Any:
    # A PluginStep built by hand may carry a built-in's name; validate it as that built-in.
    try:
        return step_params(BUILTIN_STEPS[name].model_validate({name: params}))
    except ValidationError as exc:
        raise StepError(f"step {name!r}: invalid parameters: {exc}") from None


def build_step(step: Step, *, labels: list[str] | None = None) -> StepFn:
    """The callable for one validated step; ``labels`` are used by steps that name classes."""
    name = step_name(step)
    params = step_params(step)
    if name in BUILTIN_STEPS:
        if isinstance(step, PluginStep):
            params = _builtin_params(name, params)
        return _builtins()[name](params, labels)
    factory = _plugin_factory(name)
    try:
        fn = factory(dict(params), labels)
    except (ValueError, TypeError) as exc:
        raise StepError(f"step {name!r}: invalid parameters: {exc}") from exc
    if not callable(fn):
        raise StepError(f"step {name!r}: its plugin returned {type(fn).__name__}, not a function")
    return fn


def _identity(x: Any) -> Any:
    return x


def build_pipeline(steps: Sequence[Step], *, labels: list[str] | None = None) -> StepFn:
    """One callable that applies ``steps`` in order."""
    fns = tuple(build_step(s, labels=labels) for s in steps)
    if not fns:
        return _identity
    if len(fns) == 1:
        return fns[0]

    def pipeline(x: Any) -> Any:
        for fn in fns:
            x = fn(x)
        return x

    return pipeline
