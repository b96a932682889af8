"""The solution manifest: a portable workflow over other components.

A solution names the components it needs (``requires``), the Python packages its environment
holds (``python``), the steps that prepare and run it (a DAG through ``needs``), what ``reef
bench`` measures (``bench``) and the checks that say whether the result holds (``checks``).
Everything that can be checked without running anything is checked here, so that a bad
solution is refused before a single step runs.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from reef.meta.common import Name, Source, Strict
from reef.meta.component import ComponentBase, split_requirement
from reef.meta.settings import Scenario

# What a step's ``uses`` may name besides a program component the solution requires.
BUILTIN_USES = ("bench", "detect", "fetch", "provision", "shell", "validate")

_STEP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class StepSpec(Strict):
    """One step: what it uses, with which arguments, after which other steps."""

    name: str = Field(description="unique within the solution: lower-case letters, digits, - and _")
    uses: str = Field(
        description=f"one of {', '.join(BUILTIN_USES)}, or the name of a program component "
        "the solution requires"
    )
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="the step's arguments"
    )
    needs: list[str] = Field(default_factory=list, description="steps that must finish first")
    description: str = ""

    model_config = Strict.model_config | {"populate_by_name": True}

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _STEP_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a step name (lower-case letters, digits, '-' and '_')"
            )
        return value


class CheckSpec(Strict):
    """One check: a plugin from the ``reef.checks`` group and its arguments."""

    uses: str = Field(description="a check: accuracy, latency, throughput, loadgen, golden, ...")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    name: str | None = Field(None, description="shown in the pass / fail table")

    model_config = Strict.model_config | {"populate_by_name": True}


def _single_stream() -> list[Scenario]:
    return ["SingleStream"]


class SolutionBench(Strict):
    """What ``reef bench SOLUTION`` measures, and the bench steps' defaults."""

    models: list[Name] = Field(
        default_factory=list,
        description="the required models to measure; all of them when empty",
    )
    scenarios: list[Scenario] = Field(default_factory=_single_stream, min_length=1)
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="BenchSettings fields (duration_s, queries, threads, ...) for every scenario",
    )

    @field_validator("settings")
    @classmethod
    def _settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        from pydantic import ValidationError

        from reef.meta.settings import BenchSettings, limit_problems

        if "scenario" in value:
            raise ValueError("give scenarios in bench.scenarios, not in settings")
        try:
            settings = BenchSettings(**value)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            raise ValueError(f"{where}: {msg}") from exc
        # Only what no machine could run: a solution travels, and the cores and memory of
        # the one that benches it are checked when it does.
        problems = limit_problems(settings)
        if problems:
            field, message = problems[0]
            raise ValueError(f"{field}: {message}")
        return value


class SolutionManifest(ComponentBase):
    """A portable workflow over other components."""

    kind: Literal["solution"] = "solution"
    sources: list[Source] = Field(default_factory=list)
    bench: SolutionBench = Field(default_factory=SolutionBench)
    steps: list[StepSpec] = Field(default_factory=list)
    checks: list[CheckSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> SolutionManifest:
        # Cross-field problems name their field as "path: message", which the loader turns
        # into the problem's field path (a model validator has no location of its own).
        required = {split_requirement(r)[0] for r in self.requires}
        unknown = [m for m in self.bench.models if m not in required]
        if unknown:
            raise ValueError(
                f"bench.models: {', '.join(unknown)} not among the components in 'requires'"
            )
        names: list[str] = []
        for i, step in enumerate(self.steps):
            if step.name in names:
                raise ValueError(f"steps[{i}].name: duplicate step name {step.name!r}")
            names.append(step.name)
        for i, step in enumerate(self.steps):
            if step.uses not in BUILTIN_USES and step.uses not in required:
                raise ValueError(
                    f"steps[{i}].uses: unknown uses {step.uses!r} in step {step.name!r}; "
                    f"expected one of {', '.join(BUILTIN_USES)}, or a program component "
                    "listed in 'requires'"
                )
            missing = [n for n in step.needs if n not in names]
            if missing:
                raise ValueError(
                    f"steps[{i}].needs: step {step.name!r} needs "
                    f"{', '.join(map(repr, missing))}, which is not a step of this solution"
                )
        cycle = find_cycle({s.name: s.needs for s in self.steps})
        if cycle:
            raise ValueError(f"steps: a cycle {' -> '.join(cycle)}")
        return self

    def step(self, name: str) -> StepSpec:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``graph`` (node -> the nodes it needs) as a closed path, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological_order(graph: dict[str, list[str]]) -> list[str]:
    """Nodes in an order where each comes after what it needs; ties keep the given order."""
    order: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        done.add(node)
        for dep in graph.get(node, []):
            visit(dep)
        order.append(node)

    for node in graph:
        visit(node)
    return order
