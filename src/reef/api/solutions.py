"""The solution verbs: run, bench, validate and reproduce a solution, and its step cache.

A solution is resolved like any component (``reef init`` builds its environment); here its
steps run through ``reef.solutions.engine`` with the built-in step actions defined below,
its bench settings become benchmark runs tagged with the solution, and its checks decide
whether the result holds.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reef.bench.progress import NullReporter, Reporter
from reef.errors import EXIT_FAILED, ManifestError, Problem, ReefError, SettingsError
from reef.meta.lock import Lock
from reef.meta.run import RunRecord, SolutionRef
from reef.meta.settings import BenchSettings
from reef.meta.solution import BUILTIN_USES, SolutionManifest
from reef.solutions.engine import (
    Action,
    Events,
    PlanError,
    Solution,
    StepContext,
    StepFailed,
    StepResult,
)
from reef.solutions.tracker import SolutionRun


class NotASolution(ReefError):
    pass


# --- finding and loading -------------------------------------------------------------------


def is_solution(target: str) -> bool:
    """Whether ``target`` (a lock file, a folder or manifest, or a name) is a solution."""
    from reef.components.index import MANIFEST
    from reef.components.lookup import parse_ref

    path = Path(target).expanduser()
    if path.is_dir() and (path / MANIFEST).is_file():
        path = path / MANIFEST
    if path.is_file():
        if path.name == "reef.lock" or path.suffix == ".lock":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                root = next(c for c in data["components"] if c["name"] == data["root"])
                return bool(root["kind"] == "solution")
            except (OSError, ValueError, KeyError, TypeError, StopIteration):
                return False
        if path.suffix in (".yaml", ".yml"):
            from reef.meta.load import read_yaml

            try:
                data = read_yaml(path)
            except ReefError:
                return False
            return isinstance(data, dict) and data.get("kind") == "solution"
        return False
    if "/" in target or target.endswith((".yaml", ".yml", ".lock", ".onnx")):
        return False
    from reef.components.index import query

    try:
        name = parse_ref(target)[0]
        kinds = {e.kind for e in query(name=name)}
    except ReefError:
        return False
    return kinds == {"solution"}


def _lock_sha256(lock: Lock, folder: Path) -> str:
    """What the lock pins, whatever spelling of the target resolved to it; of the solution
    itself only its other files (scripts a step runs), not its ``reef.yaml``: each step's key
    holds the part of the manifest that step reads, so editing one step re-runs just it and
    what needs it."""
    from reef.components.content import format_listing, listing

    body = lock.model_dump(mode="json", exclude={"environment", "target"})
    files = [
        (digest, name)
        for digest, name in listing(folder)
        if name != "reef.yaml" and "__pycache__" not in name.split("/")
    ]
    for component in body["components"]:
        if component["name"] == lock.root:
            component["sha256"] = hashlib.sha256(format_listing(files).encode()).hexdigest()
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def load(target: str) -> Solution:
    """Resolve (or read the lock of) a solution and check everything that can be checked
    before a step runs: its steps' programs and their trust, placeholders and checks."""
    from reef.api.components import lock_for
    from reef.components.index import catalog
    from reef.components.lockfile import locate
    from reef.components.trust import ensure_trusted, trust_of
    from reef.environment.provision import find_provisioned
    from reef.meta.load import load_manifest

    lock = lock_for(target)
    root = lock.root_component
    if root.kind != "solution":
        raise NotASolution(
            f"{target} is a {root.kind}, not a solution",
            hint="reef run and reef validate take a solution; reef bench takes either",
        )
    entries = catalog()
    located = {c.name: locate(c, entries) for c in lock.components}
    path = located[root.name].manifest_path
    manifest = load_manifest(path)
    assert isinstance(manifest, SolutionManifest)
    trusted, where = trust_of(path)
    programs: dict[str, Path] = {}
    for step in manifest.steps:
        if step.uses == "shell":
            ensure_trusted(
                f"solution {manifest.name!r}", path, f"run the shell command of step {step.name!r}"
            )
        elif step.uses not in BUILTIN_USES:
            locked = lock.component(step.uses)
            if locked.kind != "program":
                raise PlanError(
                    f"step {step.name!r} uses {step.uses!r}, which is a {locked.kind}, "
                    "not a program"
                )
            program_path = located[step.uses].manifest_path
            ensure_trusted(
                f"program {step.uses!r}", program_path, f"run its command in step {step.name!r}"
            )
            programs[step.uses] = program_path
    problems = solution_problems(manifest, str(path))
    if problems:
        raise ManifestError(problems)
    provisioned = find_provisioned(lock)
    if provisioned is None and lock.environment is not None:
        raise ReefError(
            f"{target}: this lock was provisioned but its environment is not here",
            hint=f"run `reef init {target}`",
        )
    return Solution(
        manifest=manifest,
        manifest_path=path,
        lock=lock,
        lock_sha256=_lock_sha256(lock, path.parent),
        trusted=trusted,
        where=where,
        python=str(provisioned.python) if provisioned else sys.executable,
        environment=str(provisioned.path) if provisioned else None,
        programs=programs,
    )


def solution_problems(manifest: SolutionManifest, file: str) -> list[Problem]:
    """What the schema cannot see and running would refuse: placeholders, each built-in
    step's parameters, a validate step with no bench step before it, and the checks."""
    from reef.solutions.checks import check_problems
    from reef.solutions.engine import check_placeholders, selected_steps

    problems: list[Problem] = []
    try:
        check_placeholders(manifest)
    except PlanError as exc:
        problems.append(
            Problem(file, "steps", exc.message + (f" ({exc.hint})" if exc.hint else ""))
        )
    for i, step in enumerate(manifest.steps):
        where = f"steps[{i}].with"
        allowed = _STEP_PARAMS.get(step.uses, _STEP_PARAMS["program"])
        unknown = sorted(set(step.with_) - allowed)
        if unknown:
            takes = ", ".join(sorted(allowed)) if allowed else "no parameters"
            problems.append(
                Problem(
                    file,
                    where,
                    f"unknown parameter(s) {', '.join(unknown)} for a {step.uses} step "
                    f"(it takes {takes})",
                )
            )
        if step.uses == "shell" and not isinstance(step.with_.get("run"), str):
            problems.append(Problem(file, f"{where}.run", "a shell step needs a command to run"))
        if "args" in step.with_ and not (
            isinstance(step.with_["args"], list)
            and all(isinstance(a, str | int | float) for a in step.with_["args"])
        ):
            problems.append(Problem(file, f"{where}.args", "expected a list of strings"))
        if step.uses == "validate" and not any(
            manifest.step(n).uses == "bench" for n in selected_steps(manifest, step.name)
        ):
            problems.append(
                Problem(
                    file,
                    f"steps[{i}].needs",
                    f"step {step.name!r} validates, but no bench step comes before it "
                    "(add the bench step to its needs)",
                )
            )
    problems.extend(check_problems(manifest.checks, file))
    return problems


_COMMAND_PARAMS = {"env", "timeout_s"}
_STEP_PARAMS: dict[str, set[str]] = {
    "fetch": set(),
    "detect": set(),
    "validate": set(),
    "provision": {"python", "installer", "find_links", "no_index"},
    "bench": {"scenarios", "models"} | (set(BenchSettings.model_fields) - {"scenario"}),
    "shell": {"run"} | _COMMAND_PARAMS,
    "program": {"args"} | _COMMAND_PARAMS,
}


def _models(solution: Solution, wanted: list[str] | None = None) -> list[str]:
    from reef.meta.component import split_requirement

    models = wanted or solution.manifest.bench.models
    if not models:
        required = {split_requirement(r)[0] for r in solution.manifest.requires}
        models = [
            c.name for c in solution.lock.components if c.kind == "model" and c.name in required
        ]
    for name in models:
        try:
            kind = solution.lock.component(name).kind
        except KeyError:
            raise ReefError(f"{solution.label} does not require a model {name!r}") from None
        if kind != "model":
            raise ReefError(f"{solution.label}: {name!r} is a {kind}, not a model")
    if not models:
        raise ReefError(
            f"{solution.label} has no model to measure",
            hint="list one in the solution's requires (and bench.models)",
        )
    return models


# --- bench ---------------------------------------------------------------------------------


def solution_settings(
    solution: Solution,
    scenarios: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[BenchSettings]:
    """The solution's scenarios and settings, with what the user (or a step) changed."""
    from reef import api

    values = {**solution.manifest.bench.settings, **(overrides or {})}
    return api.bench_settings(scenarios or list(solution.manifest.bench.scenarios), **values)


def bench_solution(
    target: str | Solution,
    *,
    settings: list[BenchSettings] | None = None,
    scenarios: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    models: list[str] | None = None,
    in_process: bool = False,
    reporter: Reporter | None = None,
    store: bool = True,
    predictor: Any = None,
    run_id: str | None = None,
    step: str | None = None,
    trace: Any = None,
) -> list[RunRecord]:
    """Measure the solution's models under its scenarios and settings, in its environment;
    each record names the solution (and the ``reef run`` and step that made it)."""
    from reef import api
    from reef.bench.target import locked_model

    solution = target if isinstance(target, Solution) else load(target)
    chosen = settings or solution_settings(solution, scenarios, overrides)
    where = str(solution.manifest_path)
    jobs = [
        (locked_model(solution.lock, model, where, kind="solution"), s)
        for model in _models(solution, models)
        for s in chosen
    ]
    ref = SolutionRef(
        name=solution.manifest.name, version=solution.manifest.version, run=run_id, step=step
    )

    def annotate(record: RunRecord) -> None:
        record.solution = ref

    return api.bench_resolved(
        jobs,
        in_process=in_process,
        reporter=reporter or NullReporter(),
        store=store,
        predictor=predictor,
        annotate=annotate,
        trace=trace,
    )


# --- run -----------------------------------------------------------------------------------


def environment_key(solution: Solution) -> str:
    """The environment a step runs in: this machine's fingerprint and the provisioned
    environment, when there is one."""
    from reef.bench.fingerprint import host_fingerprint_hash

    host = host_fingerprint_hash()
    return f"{host}:{Path(solution.environment).name if solution.environment else 'host'}"


def run(
    target: str,
    *,
    step: str | None = None,
    force: bool = False,
    events: Events | None = None,
    reporter: Reporter | None = None,
    in_process: bool = False,
) -> SolutionRun:
    """Run a solution's steps (or ``step`` and what it needs), reusing cached ones.

    Bad input (an unknown step, an untrusted shell step, a bad check) raises before any step
    runs. A failed step raises ``StepFailed`` (exit 1) once the steps that do not need it
    have run; the tracker's record is returned otherwise.
    """
    from reef.solutions import engine
    from reef.solutions.commands import program_step, shell_step

    solution = load(target)
    engine.selected_steps(solution.manifest, step)  # an unknown step fails before anything runs
    reporter = reporter or NullReporter()
    actions: dict[str, Action] = {
        "fetch": _fetch_step,
        "detect": _detect_step,
        "provision": lambda ctx: _provision_step(ctx, target),
        "bench": lambda ctx: _bench_step(ctx, reporter, in_process),
        "validate": _validate_step,
        "shell": shell_step,
        "program": program_step,
    }
    record = engine.run(
        solution,
        actions,
        environment_key=_step_environment_key,
        only=step,
        force=force,
        events=events,
    )
    if record.status != "ok":
        failed = [s for s in record.steps if s.status == "failed"]
        first = failed[0] if failed else record.steps[0]
        raise RunFailed(record, first)
    return record


def _step_environment_key(solution: Solution) -> str:
    return environment_key(solution)


class RunFailed(StepFailed):
    def __init__(self, run: SolutionRun, step: Any) -> None:
        skipped = [s.name for s in run.steps if s.status == "skipped"]
        message = f"step {step.name!r} ({step.uses}) failed: {step.reason}"
        if skipped:
            message += f"; not run: {', '.join(skipped)}"
        super().__init__(message, hint=f"its log: {step.log}" if step.log else None)
        self.run = run
        self.step = step


def _fetch_step(ctx: StepContext) -> StepResult:
    from reef.components.fetch import fetch_lock

    fetched = fetch_lock(ctx.solution.lock)
    for f in fetched:
        ctx.log(f"{f.status}: {f.to_json().get('location', '')}")
    # How many were downloaded this time is in the log, not the metrics: what dependants see
    # of a step must not change because a cache was warm.
    return StepResult(metrics={"sources": len(fetched)})


def _detect_step(ctx: StepContext) -> StepResult:
    from reef import api

    fingerprint = api.detect()
    (ctx.out / "fingerprint.json").write_text(
        json.dumps(fingerprint, indent=2, sort_keys=True, default=str), encoding="utf-8"
    )
    ctx.log(f"environment fingerprint {fingerprint.get('hash')}")
    for problem in fingerprint.get("problems") or []:
        ctx.log(f"problem: {problem}")
    return StepResult(artifacts={"fingerprint": "fingerprint.json"})


def _provision_step(ctx: StepContext, target: str) -> StepResult:
    from reef import api

    params = dict(ctx.params)
    report = api.init(
        target,
        python=params.get("python"),
        installer=params.get("installer", "auto"),
        find_links=[Path(p) for p in params.get("find_links", [])],
        no_index=bool(params.get("no_index", False)),
        output=ctx.out / "reef.lock",
        progress=ctx.log,
        on_line=ctx.log,
    )
    env = report.environment
    assert env is not None
    ctx.solution.environment = str(env.path)
    ctx.solution.python = str(env.python)
    ctx.log(f"environment {env.hash} {env.status} in {env.seconds:.2f} s")
    return StepResult(metrics={"packages": len(env.packages)}, artifacts={"lock": "reef.lock"})


def _bench_step(ctx: StepContext, reporter: Reporter, in_process: bool) -> StepResult:
    params = dict(ctx.params)
    scenarios = params.pop("scenarios", None)
    models = params.pop("models", None)
    records = bench_solution(
        ctx.solution,
        scenarios=scenarios,
        overrides=params,
        models=models,
        in_process=in_process,
        reporter=reporter,
        run_id=ctx.run.id,
        step=ctx.spec.name,
    )
    metrics: dict[str, float] = {}
    for r in records:
        prefix = f"{r.target.name}.{r.scenario}"
        ctx.log(f"run {r.id} {prefix}: {r.status} {'; '.join(r.reasons)}")
        if r.performance is not None:
            metrics[f"{prefix}.latency_p50_ms"] = r.performance.latency_ms.p50
            metrics[f"{prefix}.latency_p90_ms"] = r.performance.latency_ms.p90
            metrics[f"{prefix}.throughput_qps"] = r.performance.throughput_qps
        if r.accuracy is not None and r.accuracy.value is not None:
            metrics[f"{prefix}.{r.accuracy.metric}"] = r.accuracy.value
    broken = [r for r in records if r.status in ("failed", "interrupted")]
    if broken:
        raise StepFailed(
            f"step {ctx.spec.name!r}: {len(broken)} of {len(records)} runs "
            f"{broken[0].status}: {'; '.join(broken[0].reasons)}"
        )
    return StepResult(metrics=metrics, runs=[r.id for r in records])


def _validate_step(ctx: StepContext) -> StepResult:
    from reef.solutions.checks import CheckContext, run_checks

    run_ids = [
        run for record in ctx.needs.values() if record.uses == "bench" for run in record.runs
    ]
    records = _records(run_ids)
    outputs = {name: Path(r.out) for name, r in ctx.needs.items() if r.out}
    results = run_checks(
        ctx.solution.manifest.checks,
        CheckContext(records=records, solution_dir=ctx.solution.folder, outputs=outputs),
    )
    for r in results:
        ctx.log(
            f"{'PASS' if r.passed else 'FAIL'}  {r.check}  {r.subject}: {r.value} ({r.expected})"
        )
    checks = [r.to_json() for r in results]
    (ctx.out / "checks.json").write_text(json.dumps(checks, indent=2), encoding="utf-8")
    failed = [r for r in results if not r.passed]
    if failed:
        raise StepFailed(
            f"{len(failed)} of {len(results)} checks failed: "
            + "; ".join(f"{r.check} ({r.value})" for r in failed[:3])
        )
    return StepResult(
        metrics={"checks_passed": len(results)}, artifacts={"checks": "checks.json"}, checks=checks
    )


def _records(run_ids: list[str]) -> list[RunRecord]:
    from reef.results import Store

    with Store() as store:
        return [store.get(i, with_latencies=True) for i in run_ids]


# --- validate ------------------------------------------------------------------------------


@dataclass
class Validation:
    subject: str
    solution: str
    runs: list[str]
    results: list[Any] = field(default_factory=list)  # CheckResult

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "solution": self.solution,
            "runs": self.runs,
            "passed": self.passed,
            "checks": [r.to_json() for r in self.results],
        }


def validate(
    subject: str,
    *,
    reporter: Reporter | None = None,
    in_process: bool = False,
) -> Validation:
    """Run a solution's checks: on a new benchmark of ``subject`` when it is a solution, or on
    the runs recorded for ``subject`` when it is a run (a ``reef run`` or one benchmark)."""
    from reef.solutions.checks import CheckContext, run_checks
    from reef.solutions.tracker import load_run

    outputs: dict[str, Path] = {}  # the step folders {steps.NAME} names, for a `reef run`
    if is_solution(subject):
        solution = load(subject)
        records = bench_solution(solution, reporter=reporter, in_process=in_process)
        manifest, folder = solution.manifest, solution.folder
    else:
        solution_run = load_run(subject)
        if solution_run is not None:
            records = _records(solution_run.bench_runs())
            outputs = {st.name: Path(st.out) for st in solution_run.steps if st.out}
            if not records:
                raise ReefError(
                    f"solution run {solution_run.id[:12]} made no benchmark runs to check",
                    hint=f"run its bench step: reef run {solution_run.solution} --step bench",
                )
            manifest, folder = _solution_manifest_of(solution_run.path, solution_run.solution)
        else:
            record = _record_or_none(subject)
            if record is None:
                raise ReefError(
                    f"{subject!r} is neither a solution nor a recorded run",
                    hint="give a solution (name, folder or reef.lock) or a run id from "
                    "`reef runs list`",
                )
            if record.solution is None:
                raise ReefError(
                    f"run {record.id[:12]} was not made from a solution, so it has no checks",
                    hint="validate a solution: reef validate SOLUTION",
                )
            manifest, folder = _solution_of_record(record)
            whole = load_run(record.solution.run) if record.solution.run else None
            if whole is not None:
                records = _records(whole.bench_runs())  # the run was one of these
                outputs = {st.name: Path(st.out) for st in whole.steps if st.out}
            else:
                records = [record]
                checks = [c for c in manifest.checks if _applies(c.with_, record)]
                manifest = manifest.model_copy(update={"checks": checks})
    context = CheckContext(records=records, solution_dir=folder, outputs=outputs)
    results = run_checks(manifest.checks, context)
    return Validation(
        subject=subject,
        solution=f"{manifest.name}@{manifest.version}",
        runs=[r.id for r in records],
        results=results,
    )


def _applies(params: dict[str, Any], record: RunRecord) -> bool:
    """Whether a check's scenario and model filters select this one run."""
    scenario, model = params.get("scenario"), params.get("model")
    return scenario in (None, record.scenario) and model in (None, record.target.name)


def _record_or_none(run_id: str) -> RunRecord | None:
    from reef.errors import RunNotFound
    from reef.results import Store

    with Store() as store:
        try:
            return store.get(run_id, with_latencies=True)
        except RunNotFound as exc:
            if "ambiguous" in exc.message:
                raise
            return None


def _solution_manifest_of(path: str, name: str) -> tuple[SolutionManifest, Path]:
    from reef.meta.load import load_manifest

    try:
        manifest = load_manifest(Path(path))
    except ReefError:
        raise ReefError(
            f"the solution {name!r} this run was made from is no longer at {path}"
        ) from None
    assert isinstance(manifest, SolutionManifest)
    return manifest, Path(path).parent


def _solution_of_record(record: RunRecord) -> tuple[SolutionManifest, Path]:
    """The solution a run names, as its lock pinned it (else by name and version)."""
    from reef.components.lockfile import locate
    from reef.components.lookup import find

    assert record.solution is not None
    ref = record.solution
    if record.lock is not None:
        lock = Lock.model_validate(record.lock)
        try:
            path = locate(lock.component(ref.name)).manifest_path
        except KeyError:
            path = find(f"{ref.name}@{ref.version}", kind="solution").manifest_path
    else:
        path = find(f"{ref.name}@{ref.version}", kind="solution").manifest_path
    return _solution_manifest_of(str(path), ref.name)


# --- cache ---------------------------------------------------------------------------------


def cache_list(solution: str | None = None) -> list[Any]:
    from reef.solutions import cache

    return [e for e in cache.entries() if solution in (None, e.solution.split("@")[0])]


def cache_clean(
    *,
    everything: bool = False,
    unused_for_s: float | None = None,
    solution: str | None = None,
    dry_run: bool = False,
) -> list[Any]:
    from reef.solutions import cache

    if unused_for_s is not None and unused_for_s < 0:
        raise SettingsError(f"a cache entry cannot be unused for a negative time ({unused_for_s})")
    if not (everything or unused_for_s is not None or solution is not None):
        raise ReefError(
            "say what to remove",
            hint="--all, --unused-for DAYS or --solution NAME (--dry-run shows it first)",
        )
    return cache.clean(
        everything=everything, unused_for_s=unused_for_s, solution=solution, dry_run=dry_run
    )


__all__ = [
    "EXIT_FAILED",
    "NotASolution",
    "RunFailed",
    "Validation",
    "bench_solution",
    "cache_clean",
    "cache_list",
    "is_solution",
    "load",
    "run",
    "validate",
]
