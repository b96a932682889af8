"""The plugins verb: what each entry-point group holds, where it came from, whether it loads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from reef.plugins import PluginGroup


class PluginEntry(BaseModel):
    """One entry of an entry-point group: where it came from and whether it loads."""

    name: str
    source: str  # "built-in", or the distribution's "name version"
    package: str | None  # the distribution's name; None for a built-in
    version: str | None
    target: str | None  # "module:attribute"; None for a built-in defined in Reef's code
    status: Literal["ok", "error", "shadowed", "not loaded"]
    error: str | None = None  # why it could not be loaded
    hint: str | None = None
    shadowed_by: str | None = None  # the source of the entry used in its place


class PluginGroupReport(BaseModel):
    """The entries of one entry-point group."""

    group: str  # the entry-point group, e.g. "reef.steps"
    kind: str  # what one entry is, e.g. "step"
    entries: list[PluginEntry]


class PluginsReport(BaseModel):
    """What ``plugins`` reports: each of the six entry-point groups."""

    groups: list[PluginGroupReport]


def _groups() -> list[PluginGroup[Any]]:
    # Each subsystem declares its own group; importing them here imports no plugin.
    from reef.bench.metrics import METRICS
    from reef.drift.checkers import DRIFT_CHECKERS
    from reef.environment.detect import DETECTORS
    from reef.predictors.registry import PREDICTORS
    from reef.predictors.steps.registry import STEPS
    from reef.solutions.checks import CHECKS

    return [PREDICTORS, STEPS, METRICS, DETECTORS, CHECKS, DRIFT_CHECKERS]


def plugins(*, load: bool = True) -> PluginsReport:
    """Every entry of the six entry-point groups, built-ins and plugins, with its source.

    With ``load`` (the default) each entry in use is imported, so that one that cannot be
    loaded shows its error here rather than when a benchmark first needs it. Plugins hidden
    by a built-in (or an earlier plugin) of the same name are listed as ``shadowed``.
    """
    out: list[PluginGroupReport] = []
    for group in _groups():
        entries = [
            PluginEntry(
                name=r.entry.name,
                source=r.entry.source,
                package=r.entry.package,
                version=r.entry.version,
                target=r.entry.target,
                status=r.status,
                error=r.error,
                hint=r.hint,
                shadowed_by=r.entry.shadowed_by,
            )
            for r in group.report(load=load)
        ]
        out.append(PluginGroupReport(group=group.group, kind=group.kind, entries=entries))
    return PluginsReport(groups=out)
