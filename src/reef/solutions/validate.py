"""``reef validate``: a solution's checks, on a new benchmark of it or on runs recorded."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, model_validator

from reef.errors import ReefError
from reef.meta.solution import SolutionManifest
from reef.solutions.checks import CheckResult

if TYPE_CHECKING:
    from reef.bench.progress import Reporter
    from reef.meta.run import RunRecord


class Validation(BaseModel):
    """A solution's checks on a set of runs: each check's result, and whether all passed."""

    subject: str
    solution: str  # name@version
    runs: list[str]
    passed: bool = False  # at least one check, and every one passed: read from them
    checks: list[CheckResult] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _judge(cls, data: Any) -> Any:
        # Whether it passed is read from the checks, unless given: the two never disagree.
        if isinstance(data, dict) and "passed" not in data:
            checks = data.get("checks") or []
            data = data | {"passed": bool(checks) and all(c.passed for c in checks)}
        return data

    @property
    def results(self) -> list[CheckResult]:
        return self.checks


def validate(
    subject: str,
    *,
    reporter: Reporter | None = None,
    in_process: bool = False,
) -> Validation:
    """Run a solution's checks: on a new benchmark of ``subject`` when it is a solution, or on
    the runs recorded for ``subject`` when it is a run (a ``reef run`` or one benchmark)."""
    from reef.solutions.bench import bench_solution
    from reef.solutions.checks import CheckContext, run_checks
    from reef.solutions.load import is_solution, load
    from reef.solutions.tracker import load_run

    outputs: dict[str, Path] = {}  # the step folders {steps.NAME} names, for a `reef run`
    if is_solution(subject):
        solution = load(subject)
        records = bench_solution(solution, reporter=reporter, in_process=in_process)
        manifest, folder = solution.manifest, solution.folder
    else:
        solution_run = load_run(subject)
        if solution_run is not None:
            records = stored_records(solution_run.bench_runs())
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
            manifest, folder = solution_of_record(record)
            whole = load_run(record.solution.run) if record.solution.run else None
            if whole is not None:
                records = stored_records(whole.bench_runs())  # the run was one of these
                outputs = {st.name: Path(st.out) for st in whole.steps if st.out}
            else:
                records = [record]
                checks = [c for c in manifest.checks if applies(c.with_, record)]
                manifest = manifest.model_copy(update={"checks": checks})
    context = CheckContext(records=records, solution_dir=folder, outputs=outputs)
    results = run_checks(manifest.checks, context)
    return Validation(
        subject=subject,
        solution=f"{manifest.name}@{manifest.version}",
        runs=[r.id for r in records],
        checks=results,
    )


def stored_records(run_ids: list[str]) -> list[RunRecord]:
    """The stored records of ``run_ids``, latencies and all, for the checks."""
    from reef.results import Store

    with Store() as store:
        return [store.get(i, with_latencies=True) for i in run_ids]


def applies(params: dict[str, Any], record: RunRecord) -> bool:
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
    except ReefError as exc:
        raise ReefError(
            f"the solution {name!r} this run was made from is no longer at {path}"
        ) from exc
    assert isinstance(manifest, SolutionManifest)
    return manifest, Path(path).parent


def solution_of_record(record: RunRecord) -> tuple[SolutionManifest, Path]:
    """The solution a run names, as its lock pinned it (else by name and version)."""
    from reef.components.lockfile import locate
    from reef.components.lookup import find
    from reef.meta.lock import Lock

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
