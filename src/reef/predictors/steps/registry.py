"""Turning declared steps into callables: built-ins and steps from ``reef.steps`` plugins.

A step works on one sample (no batch dimension) and returns the transformed value. Building
a step does the per-step work (parsing parameters, loading the plugin) once, so that calling
it on the benchmark's hot path does only the transformation itself.

The built-in steps are the rows of ``reef.meta.steps.BUILTIN_STEPS``; ``STEPS`` is their
group in ``reef.plugins``, with the plugins installed for ``reef.steps``. A plugin with a
built-in's name is not used (``reef plugins`` lists it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from reef.errors import BenchError, PluginError
from reef.meta.steps import BUILTIN_STEPS, BuiltinStep, PluginStep, Step, step_name, step_params
from reef.plugins import PluginGroup, refresh

GROUP = "reef.steps"

StepFn = Callable[[Any], Any]
# A plugin's entry point: factory(params, labels) -> StepFn. A built-in's function takes its
# validated parameters (and the labels, where its row says so).
PluginFactory = Callable[[dict[str, Any], list[str] | None], StepFn]


class StepError(BenchError):
    """A step could not be built, or could not be applied to the data it was given."""


class StepPluginError(PluginError, StepError):
    """A step's plugin (or a built-in step's module) could not be loaded (exit 3)."""


def _factory(name: str, obj: Any) -> Callable[..., StepFn]:
    if not callable(obj):
        raise TypeError(f"it provides {type(obj).__name__}, not a step factory")
    return obj  # type: ignore[no-any-return]


STEPS: PluginGroup[Callable[..., StepFn]] = PluginGroup(
    GROUP,
    kind="step",
    builtins={name: step.build for name, step in BUILTIN_STEPS.items()},
    error=StepPluginError,
    accept=_factory,
)


def clear_plugin_cache() -> None:
    """Forget discovered plugins, e.g. after installing one in a running process (every
    group's: a package may add to any of them)."""
    refresh()


def known_steps() -> list[str]:
    return STEPS.names()


def _builtin_params(builtin: BuiltinStep, params: dict[str, Any]) -> Any:
    # A PluginStep built by hand may carry a built-in's name; validate it as that built-in.
    try:
        return step_params(builtin.model.model_validate({builtin.name: params}))
    except ValidationError as exc:
        raise StepError(f"step {builtin.name!r}: invalid parameters: {exc}") from exc


def build_step(step: Step, *, labels: list[str] | None = None) -> StepFn:
    """The callable for one validated step; ``labels`` are used by steps that name classes."""
    name = step_name(step)
    params = step_params(step)
    builtin = BUILTIN_STEPS.get(name)
    if builtin is not None:
        if isinstance(step, PluginStep):
            params = _builtin_params(builtin, params)
        build = STEPS.load(name)
        built: StepFn = build(params, labels) if builtin.labels else build(params)
        return built
    if name not in STEPS:
        raise StepError(
            f"unknown step {name!r}",
            hint=f"known steps: {', '.join(known_steps()) or 'none'}; a plugin adds one "
            f"under the '{GROUP}' entry-point group",
        )
    factory = STEPS.load(name)
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
