"""A sweep's spec (YAML) and its cells.

A spec names targets, backends, scenarios, settings and hardware labels; the sweep is their
Cartesian product, one cell per combination::

    name: threads-and-batch          # optional
    targets: [digits-classifier, digits-cnn]
    backends: [onnxruntime]          # optional: each target's own framework
    scenarios: [SingleStream, Offline]
    settings:                        # a list is swept, a single value is fixed
      threads: [1, 2]
      batch_size: [1, 8]
      duration_s: 2
    hardware: []                     # optional: hardware labels, one cell per label

Each cell is one task with its resource requirements: ``bench`` (an agent runs one
measurement at a time), its hardware label and its backend where the spec names them. A cell's
``key`` is the hash of what it runs, so a resumed sweep knows the cells it finished.

Every cell's settings are checked as ``reef bench`` checks its options (the schema of
``BenchSettings``, and ``graph_optimization``'s values), before anything starts; what this
machine could not run (more threads than its cores) is the agent's to refuse, not this one's.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reef.errors import ReefError

# Resources a cell asks of an agent (Dask worker resources): one measurement at a time, and
# where the spec names them, the hardware label and the backend the agent must have.
BENCH_RESOURCE = "bench"
HARDWARE_PREFIX = "hardware="
BACKEND_PREFIX = "backend="
# Settings that are the predictor's, not the measurement's (PredictorSettings).
PREDICTOR_SETTINGS = {"graph_optimization": ("none", "basic", "extended", "all")}
MAX_CELLS = 100_000


class SweepSpecError(ReefError):
    """A spec that cannot be swept: its field named; nothing started (exit 2)."""


class SweepSpec(BaseModel):
    """What ``reef sweep SPEC.yaml`` reads."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200, description="a name to show; optional")
    targets: list[str] = Field(description="what reef bench takes: a component, a manifest...")
    backends: list[str] = Field(
        default_factory=list, description="backends to run each target on; none: its own"
    )
    scenarios: list[str] = Field(default_factory=lambda: ["SingleStream"])
    settings: dict[str, Any] = Field(
        default_factory=dict, description="reef bench settings: a list is swept"
    )
    hardware: list[str] = Field(
        default_factory=list, description="hardware labels: each cell runs on an agent of one"
    )


class Cell(BaseModel):
    """One combination: a task for one agent, which benchmarks ``target`` once."""

    model_config = ConfigDict(frozen=True)

    key: str
    target: str
    backend: str | None
    scenario: str
    settings: dict[str, Any]
    hardware: str | None

    @property
    def resources(self) -> dict[str, float]:
        """What an agent needs to run the cell (Dask worker resources)."""
        wanted = {BENCH_RESOURCE: 1.0}
        if self.hardware is not None:
            wanted[hardware_resource(self.hardware)] = 1.0
        if self.backend is not None:
            wanted[BACKEND_PREFIX + self.backend] = 1.0
        return wanted

    @property
    def label(self) -> str:
        """The cell in a few words, for progress lines and errors."""
        parts = [self.target]
        if self.backend:
            parts.append(self.backend)
        parts.append(self.scenario)
        parts += [f"{k}={v}" for k, v in sorted(self.settings.items())]
        if self.hardware:
            parts.append(f"on {self.hardware}")
        return " ".join(parts)


def hardware_resource(label: str) -> str:
    """The resource name an agent of hardware ``label`` offers: the label with every run of
    characters other than letters, digits, '.', '_' and '-' made one '_' (a resource name is
    a plain word on the command line of a Dask worker)."""
    return HARDWARE_PREFIX + re.sub(r"[^A-Za-z0-9._-]+", "_", label.strip())


def load_spec(path: Path) -> SweepSpec:
    """Read and check a spec file; a ``SweepSpecError`` names what is wrong."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepSpecError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepSpecError(f"{path}: cannot be read ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SweepSpecError(f"{path}: not YAML ({exc})") from exc
    return parse_spec(data, str(path))


def parse_spec(data: Any, source: str = "spec") -> SweepSpec:
    if not isinstance(data, dict):
        raise SweepSpecError(f"{source}: a sweep spec is a mapping (targets:, scenarios:, ...)")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "spec"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            fields = ", ".join(SweepSpec.model_fields)
            message = f"unknown field (a spec has {fields})"
        raise SweepSpecError(f"{source}: {where}: {message}") from None


def cells(spec: SweepSpec, source: str = "spec") -> list[Cell]:
    """The spec's cells, each one's settings checked; an empty product, or a setting
    ``reef bench`` would refuse, is a ``SweepSpecError`` naming the field."""
    for field in ("targets", "scenarios"):
        if not getattr(spec, field):
            raise SweepSpecError(f"{source}: {field}: empty, so the sweep has no cell")
    from reef.meta import choices

    scenarios = []
    for i, name in enumerate(spec.scenarios):
        found_scenario = choices.SCENARIO.find(str(name))
        if found_scenario is None:
            raise SweepSpecError(
                f"{source}: scenarios[{i}]: unknown scenario {name!r} "
                f"(one of {', '.join(choices.SCENARIO.values)})"
            )
        scenarios.append(found_scenario)
    axes: list[tuple[str, list[Any]]] = []
    for name, value in spec.settings.items():
        values = value if isinstance(value, list) else [value]
        if not values:
            raise SweepSpecError(f"{source}: settings.{name}: empty, so the sweep has no cell")
        axes.append((name, values))
    backends: list[str | None] = list(spec.backends) or [None]
    hardware: list[str | None] = list(spec.hardware) or [None]
    size = len(spec.targets) * len(backends) * len(scenarios) * len(hardware)
    for _, values in axes:
        size *= len(values)
    if size > MAX_CELLS:
        raise SweepSpecError(f"{source}: {size:,} cells, more than the {MAX_CELLS:,} a sweep runs")
    found: list[Cell] = []
    names = [name for name, _ in axes]
    for combo in itertools.product(*(values for _, values in axes)):
        settings = dict(zip(names, combo, strict=True))
        for scenario in scenarios:
            _check_settings(settings, scenario, spec, source)
            for target, backend, label in itertools.product(spec.targets, backends, hardware):
                found.append(_cell(target, backend, scenario, settings, label))
    return found


def _check_settings(settings: dict[str, Any], scenario: str, spec: SweepSpec, src: str) -> None:
    from reef.meta.settings import BenchSettings

    bench = {k: v for k, v in settings.items() if k not in PREDICTOR_SETTINGS}
    for name, allowed in PREDICTOR_SETTINGS.items():
        if name in settings and settings[name] not in allowed:
            raise SweepSpecError(
                f"{src}: settings.{name}: {settings[name]!r} is not one of {', '.join(allowed)}",
            )
    try:
        BenchSettings(scenario=scenario, **bench)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            known = sorted({*BenchSettings.model_fields, *PREDICTOR_SETTINGS} - {"scenario"})
            raise SweepSpecError(
                f"{src}: settings.{field}: not a setting of reef bench ({', '.join(known)})"
            ) from None
        raise SweepSpecError(
            f"{src}: settings.{field}: {err['msg'].removeprefix('Value error, ')} "
            f"(got {err.get('input')!r})"
        ) from None
    except TypeError as exc:  # a key that is not a string
        raise SweepSpecError(f"{src}: settings: {exc}") from None


def _cell(
    target: str, backend: str | None, scenario: str, settings: dict[str, Any], hw: str | None
) -> Cell:
    what = {
        "target": target,
        "backend": backend,
        "scenario": scenario,
        "settings": settings,
        "hardware": hw,
    }
    text = json.dumps(what, sort_keys=True, separators=(",", ":"), default=str)
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return Cell(key=key, **what)
