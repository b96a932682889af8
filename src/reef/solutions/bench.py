"""Benchmarking a solution: its models under its scenarios and settings, in its environment,
each record naming the solution (and the ``reef run`` and step that made it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reef.solutions.engine import Solution

if TYPE_CHECKING:
    from reef.bench.job import PredictorSettings, TraceSettings
    from reef.bench.progress import Reporter
    from reef.meta.run import RunRecord
    from reef.meta.settings import BenchSettings


def solution_settings(
    solution: Solution,
    scenarios: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[BenchSettings]:
    """The solution's scenarios and settings, with what the user (or a step) changed."""
    from reef.bench.settings import bench_settings

    values = {**solution.manifest.bench.settings, **(overrides or {})}
    return bench_settings(scenarios or list(solution.manifest.bench.scenarios), **values)


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
    predictor: PredictorSettings | None = None,
    run_id: str | None = None,
    step: str | None = None,
    trace: TraceSettings | None = None,
    backends: list[str] | None = None,
) -> list[RunRecord]:
    """Measure the solution's models under its scenarios and settings (``settings`` in their
    place when given), in its environment; each record names the solution, and the
    ``reef run`` and step that made it. ``backends``: each model on each of them in turn,
    instead of on its manifest's framework."""
    from reef.bench import backends as multi
    from reef.bench import session
    from reef.bench.target import locked_model
    from reef.meta.run import SolutionRef
    from reef.solutions.load import load
    from reef.solutions.load import models as solution_models

    solution = target if isinstance(target, Solution) else load(target)
    chosen = settings or solution_settings(solution, scenarios, overrides)
    where = str(solution.manifest_path)
    names = multi.check_backends(backends) if backends else []
    resolved = [
        locked_model(solution.lock, model, where, kind="solution")
        for model in solution_models(solution, models)
    ]
    # Jobs grouped by the backend the session is to make them with (None: made already, or
    # the manifest's framework). Every backend's jobs are checked before the first runs; a
    # provisioned model's are made by the session, which runs them in its environment.
    groups: list[tuple[str | None, list[session.Job]]] = []
    for one in resolved:
        if names:
            checked = multi.jobs_for(one, chosen, names, predictor=predictor)
            if one.provisioned is None:
                groups.append((None, list(checked)))
            else:
                groups += [(name, [(one, s) for s in chosen]) for name in names]
        else:
            multi.check_options(predictor, [multi.default_backend(one)])
            groups.append((None, [(one, s) for s in chosen]))
    ref = SolutionRef(
        name=solution.manifest.name, version=solution.manifest.version, run=run_id, step=step
    )

    def annotate(record: RunRecord) -> None:
        record.solution = ref
        if names:  # the session keeps the lock only with the jobs it makes itself
            record.lock = solution.lock.model_dump(mode="json")

    records: list[RunRecord] = []
    with session.open_store(store) as db:
        for backend, jobs in groups:
            records += session.run(
                jobs,
                db,
                reporter,
                in_process=in_process,
                predictor=predictor,
                annotate=annotate,
                trace=trace,
                backend=backend,
            )
    return records
