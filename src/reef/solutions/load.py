"""Finding and loading a solution: is a target one, and is it ready to run?

A solution is resolved like any component (``reef init`` builds its environment). Loading
it checks everything that can be checked before a step runs: its steps' programs and their
trust, the placeholders, each built-in step's parameters and the checks.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from reef.errors import ManifestError, Problem, ReefError, SolutionError
from reef.meta.lock import Lock
from reef.meta.settings import BenchSettings
from reef.meta.solution import BUILTIN_USES, SolutionManifest
from reef.solutions.engine import PlanError, Solution


class NotASolution(SolutionError):
    pass


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
    from reef.components.index import catalog
    from reef.components.lockfile import locate, lock_for
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
    "bench": {"scenarios", "models", "backends"} | (set(BenchSettings.model_fields) - {"scenario"}),
    "shell": {"run"} | _COMMAND_PARAMS,
    "program": {"args"} | _COMMAND_PARAMS,
}


def models(solution: Solution, wanted: list[str] | None = None) -> list[str]:
    """The models a bench of the solution measures: ``wanted``, else its bench.models, else
    every model it requires."""
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
        except KeyError as exc:
            raise ReefError(f"{solution.label} does not require a model {name!r}") from exc
        if kind != "model":
            raise ReefError(f"{solution.label}: {name!r} is a {kind}, not a model")
    if not models:
        raise ReefError(
            f"{solution.label} has no model to measure",
            hint="list one in the solution's requires (and bench.models)",
        )
    return models
