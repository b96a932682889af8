"""Running a solution's steps: in dependency order, each one cached, tracked and logged.

The engine knows nothing of what a step does: ``actions`` maps each ``uses`` to a function
(the built-in ones come from ``reef.solutions.actions``; program and shell steps from
``reef.solutions.commands``). It decides which steps run, runs them, keeps the cache honest
and writes the tracker's record. A step that fails stops the steps that need it, and the
others go on; the run then fails, naming the step and its log.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from reef.errors import EXIT_FAILED, Interrupted, ReefError, SolutionError
from reef.meta.lock import Lock
from reef.meta.solution import SolutionManifest, StepSpec, topological_order
from reef.solutions import cache
from reef.solutions.tracker import RunOwner, SolutionRun, StepRecord, settle_orphans

# {out}, {solution}, {python}, {steps.NAME}; a shell's ${VAR} is left alone, and {{ and }}
# stand for literal braces (a Python f-string in a command).
_PLACEHOLDER = re.compile(r"\{\{|\}\}|(?<!\$)\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_SIMPLE = ("out", "solution", "python")


class StepFailed(SolutionError):
    """A step did not succeed; the run exits 1 (the solution, not the input, failed)."""

    exit_code = EXIT_FAILED


class PlanError(SolutionError):
    """The solution cannot be run as written; nothing was run."""


@dataclass
class Solution:
    """A solution ready to run: its manifest, where it is, and what it resolved to."""

    manifest: SolutionManifest
    manifest_path: Path
    lock: Lock
    lock_sha256: str
    trusted: bool
    where: str | None  # the repository it came from, for messages
    python: str  # the interpreter its steps use: the provisioned environment's, or this one
    environment: str | None = None  # the provisioned environment's folder
    programs: dict[str, Path] = field(default_factory=dict)  # program name -> its reef.yaml

    @property
    def folder(self) -> Path:
        return self.manifest_path.parent

    @property
    def label(self) -> str:
        return f"{self.manifest.name}@{self.manifest.version}"

    def step_context(self, spec: StepSpec) -> Any:
        """What a built-in step reads from the manifest besides its own definition: a bench
        step its bench settings, a validate step the checks. Part of the step's cache key,
        so that editing them re-runs the steps that read them and only those."""
        if spec.uses == "bench":
            return self.manifest.bench.model_dump(mode="json")
        if spec.uses == "validate":
            return [c.model_dump(mode="json", by_alias=True) for c in self.manifest.checks]
        return None


@dataclass
class StepResult:
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> path relative to out
    runs: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "artifacts": self.artifacts,
            "runs": self.runs,
            "checks": self.checks,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepResult:
        return cls(
            metrics={str(k): float(v) for k, v in (data.get("metrics") or {}).items()},
            artifacts=dict(data.get("artifacts") or {}),
            runs=list(data.get("runs") or []),
            checks=list(data.get("checks") or []),
        )


@dataclass
class StepContext:
    solution: Solution
    spec: StepSpec
    params: dict[str, Any]  # ``with``, placeholders expanded
    out: Path
    log_path: Path
    needs: dict[str, StepRecord]  # the records of every step it needs, transitively
    run: SolutionRun

    def log(self, line: str) -> None:
        with self.log_path.open("a", encoding="utf-8") as f:
            f.write(line.rstrip("\n") + "\n")


Action = Callable[[StepContext], StepResult]


class Events(Protocol):
    def step_started(self, step: StepRecord) -> None: ...
    def step_finished(self, step: StepRecord) -> None: ...


class _Quiet:
    def step_started(self, step: StepRecord) -> None:
        pass

    def step_finished(self, step: StepRecord) -> None:
        pass


def selected_steps(manifest: SolutionManifest, only: str | None) -> list[str]:
    """The steps to run, in order: all of them, or ``only`` and what it needs."""
    graph = {s.name: s.needs for s in manifest.steps}
    if only is None:
        return topological_order(graph)
    if only not in graph:
        known = ", ".join(graph) or "none"
        raise PlanError(f"{manifest.name} has no step {only!r}", hint=f"its steps: {known}")
    wanted = _closure(graph, only)
    return [n for n in topological_order(graph) if n in wanted]


def _closure(graph: dict[str, list[str]], name: str) -> set[str]:
    seen = {name}
    todo = [name]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def check_placeholders(manifest: SolutionManifest) -> None:
    """Every ``{...}`` in a step's ``with`` must be one the engine fills, and a ``{steps.X}``
    must name a step it needs (else X's output might not exist yet)."""
    graph = {s.name: s.needs for s in manifest.steps}
    for spec in manifest.steps:
        needed = _closure(graph, spec.name) - {spec.name}
        for text in _strings(spec.with_):
            for name in _PLACEHOLDER.findall(text):
                if not name or name in _SIMPLE:
                    continue
                if name.startswith("steps."):
                    other = name.removeprefix("steps.")
                    if other not in needed:
                        raise PlanError(
                            f"step {spec.name!r}: {{{name}}} names a step it does not need",
                            hint=f"add {other!r} to the step's needs",
                        )
                    continue
                raise PlanError(
                    f"step {spec.name!r}: unknown placeholder {{{name}}}",
                    hint="placeholders: {out}, {solution}, {python}, {steps.NAME}",
                )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _expand(value: Any, fill: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: fill(m.group(1)) if m.group(1) else m.group(0)[0], value)
    if isinstance(value, dict):
        return {k: _expand(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, fill) for v in value]
    return value


def run(
    solution: Solution,
    actions: Mapping[str, Action],
    *,
    environment_key: Callable[[Solution], str],
    only: str | None = None,
    force: bool = False,
    events: Events | None = None,
) -> SolutionRun:
    """Run the selected steps; returns the tracker's record (status ``ok`` or ``failed``).

    ``force`` re-runs the selected step (``only``), or every step when none is selected,
    even when its cache entry is valid.
    """
    events = events or _Quiet()
    manifest = solution.manifest
    order = selected_steps(manifest, only)
    graph = {s.name: s.needs for s in manifest.steps}
    forced = set(order) if force and only is None else ({only} if force and only else set())
    # Runs whose process was killed say so now, rather than `running` for ever.
    settle_orphans()
    run_record = SolutionRun(
        owner=RunOwner.this_process(),
        solution=manifest.name,
        version=manifest.version,
        path=str(solution.manifest_path),
        lock_sha256=solution.lock_sha256,
        environment=solution.environment,
        steps=[
            StepRecord(name=n, uses=manifest.step(n).uses, needs=manifest.step(n).needs)
            for n in order
        ],
    )
    run_record.save()
    outputs: dict[str, str] = {}  # step -> output sha256, the input of its dependants
    try:
        for name in order:
            record = run_record.step(name)
            failed_needs = [
                n
                for n in _closure(graph, name) - {name}
                if run_record.step(n).status in ("failed", "skipped")
            ]
            if failed_needs:
                record.status = "skipped"
                record.reason = f"needs {', '.join(map(repr, sorted(failed_needs)))}, which failed"
                events.step_finished(record)
                continue
            spec = manifest.step(name)
            key = cache.step_key(
                {
                    "step": {"name": name, "uses": spec.uses, "with": spec.with_},
                    "solution": solution.step_context(spec),
                    # Every step it needs, not only the direct ones: {steps.X} reaches them all.
                    "inputs": {n: outputs[n] for n in sorted(_closure(graph, name) - {name})},
                    "lock": solution.lock_sha256,
                    "environment": environment_key(solution),
                }
            )
            record.key = key
            record.started_at = datetime.now(UTC)
            events.step_started(record)
            # Provisioning is never taken from the cache: it is what makes the environment
            # exist, and reusing a complete one costs little.
            fresh = name in forced or spec.uses == "provision"
            entry = None if fresh else cache.lookup(key)
            if entry is not None:
                _fill(record, entry, "cached")
                record.reason = f"cached (made {entry.created_at:%Y-%m-%d %H:%M:%S} UTC)"
            else:
                entry = _execute(solution, actions, spec, record, run_record, graph, key)
            if entry is not None:
                outputs[name] = entry.output_sha256
            run_record.save()
            events.step_finished(record)
    except BaseException:
        for record in run_record.steps:
            if record.status == "pending":
                record.status = "skipped"
                record.reason = "interrupted"
        run_record.status = "interrupted"
        run_record.finished_at = datetime.now(UTC)
        run_record.save()
        raise
    failed = any(s.status in ("failed", "skipped") for s in run_record.steps)
    run_record.status = "failed" if failed else "ok"
    run_record.finished_at = datetime.now(UTC)
    run_record.save()
    return run_record


def _fill(record: StepRecord, entry: cache.CacheEntry, status: str) -> None:
    result = StepResult.from_json(entry.result)
    record.status = "cached" if status == "cached" else "ok"
    record.duration_s = entry.duration_s
    record.metrics = result.metrics
    record.artifacts = {k: str(entry.out / v) for k, v in result.artifacts.items()}
    record.runs = result.runs
    record.checks = result.checks
    record.params = dict(entry.result.get("params") or {})
    record.log = str(entry.log)
    record.out = str(entry.out)


def _execute(
    solution: Solution,
    actions: Mapping[str, Action],
    spec: StepSpec,
    record: StepRecord,
    run_record: SolutionRun,
    graph: dict[str, list[str]],
    key: str,
) -> cache.CacheEntry | None:
    staging = cache.stage(key)
    needs = {n: run_record.step(n) for n in _closure(graph, spec.name) - {spec.name}}

    def fill(name: str) -> str:
        if name == "out":
            return str(staging.out)
        if name == "solution":
            return str(solution.folder)
        if name == "python":
            return solution.python
        return needs[name.removeprefix("steps.")].out or ""

    params = _expand(spec.with_, fill)
    if spec.uses == "shell" and isinstance(spec.with_.get("run"), str):
        # A path with a space, a quote or a $ must reach bash as one word, as it is.
        params["run"] = _expand(spec.with_["run"], lambda n: shlex.quote(fill(n)))
    record.params = params
    ctx = StepContext(solution, spec, params, staging.out, staging.log, needs, run_record)
    action = actions.get(spec.uses) or actions.get("program")
    assert action is not None, spec.uses
    started = time.perf_counter()
    try:
        result = action(ctx)
    except Interrupted:
        # Ctrl-C or SIGTERM inside a step (a benchmark records its run as interrupted):
        # the whole run stops, not just this step.
        record.status = "failed"
        record.reason = "interrupted"
        record.duration_s = time.perf_counter() - started
        _keep_for_inspection(record, staging, run_record)
        raise
    except StepFailed as exc:
        _failed(record, staging, run_record, exc.message, started)
        return None
    except ReefError as exc:
        message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        _failed(record, staging, run_record, message, started)
        return None
    except Exception as exc:
        import traceback

        ctx.log(traceback.format_exc())
        _failed(record, staging, run_record, f"{type(exc).__name__}: {exc}", started)
        return None
    except BaseException:
        record.status = "failed"
        record.reason = "interrupted"
        record.duration_s = time.perf_counter() - started
        _keep_for_inspection(record, staging, run_record)
        raise
    duration = time.perf_counter() - started
    final_out = str(cache.steps_dir() / key / cache.OUT)
    # {out} was the staging folder while the step ran; the record names where it is now.
    shown = _expand(spec.with_, lambda n: final_out if n == "out" else fill(n))
    entry = staging.commit(
        solution=solution.label,
        step=spec.name,
        uses=spec.uses,
        duration_s=duration,
        result=result.to_json(),
        params=shown,
    )
    _fill(record, entry, "ok")
    record.reason = None
    return entry


def _failed(
    record: StepRecord,
    staging: cache.Staging,
    run_record: SolutionRun,
    message: str,
    started: float,
) -> None:
    record.status = "failed"
    record.reason = message
    record.duration_s = time.perf_counter() - started
    _keep_for_inspection(record, staging, run_record)


def _keep_for_inspection(record: StepRecord, staging: cache.Staging, run: SolutionRun) -> None:
    """A failed step's folder moves to the run's, where its log and outputs can be read; it
    never enters the cache."""
    import os

    target = run.folder / "steps" / record.name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staging.path, target)
    except OSError:
        staging.discard()
        return
    record.log = str(target / cache.LOG)
    record.out = str(target / cache.OUT)


def log_tail(path: str | None, lines: int = 20) -> list[str]:
    if not path:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]
