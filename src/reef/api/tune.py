"""The tuning verbs: search a space of ``reef bench`` settings for the configurations on a
noise-aware Pareto frontier (``tune_study``), and report a stored study (``tune_report``).

Everything asked is checked before anything starts: a bad space, objective, constraint,
budget, study name or target raises (exit 2) with no run recorded and no study stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from reef.errors import SettingsError
from reef.results.noisy_pareto import Estimate
from reef.tune.report import TuneReport

if TYPE_CHECKING:
    from reef.bench.progress import Reporter
    from reef.tune.space import Dimension, TuneSpec
    from reef.tune.trials import TrialRunner

__all__ = ["Estimate", "TuneReport", "tune_report", "tune_study"]  # Estimate: a field type

DEFAULT_DURATION_S = 5.0
DEFAULT_PROBE = 0.25
DEFAULT_PRUNE_K = 2
MAX_DEFAULT_BUDGET = 40


def tune_study(
    target: str,
    space: Sequence[str] = (),
    objectives: Sequence[str] = (),
    *,
    constraints: Sequence[str] = (),
    budget: int | None = None,
    time_s: float | str | None = None,
    study: str | None = None,
    resume: bool = False,
    scenario: str = "SingleStream",
    duration_s: float = DEFAULT_DURATION_S,
    probe: float = DEFAULT_PROBE,
    prune_k: int = DEFAULT_PRUNE_K,
    tolerance: float = 0.05,
    in_process: bool = False,
    runner: TrialRunner | None = None,
    reporter: Reporter | None = None,
    progress: Callable[[str], None] | None = None,
) -> TuneReport:
    """Tune ``target`` over ``space`` (``["threads=1,2,4", "graph_optimization=basic,all"]``)
    for ``objectives`` (``["latency_p99:min", "throughput:max"]``) under ``constraints``
    (``["accuracy >= 0.99*reference"]``), measuring at most ``budget`` new configurations
    (default: the whole space, at most 40) and starting none after ``time_s`` (seconds, or
    text such as ``"10m"``). Returns the study's report.

    Each trial is measured for ``duration_s`` through ``runner`` (default: on this machine,
    in worker processes unless ``in_process``); once ``prune_k`` configurations have
    finished, a trial is first measured for ``probe`` of that and pruned if ``prune_k`` of
    them dominate it. The study is stored under ``study`` (default: the target's name and
    the time); ``resume`` continues a stored one, with its own definition (space, objectives
    and constraints given must equal it). Runs are stored in Reef's store tagged
    ``tune:STUDY``.
    """
    from reef.tune import TuneError
    from reef.tune.report import build
    from reef.tune.space import check_limits, check_study_name, parse_time
    from reef.tune.study import run_study, study_exists

    try:
        import optuna  # noqa: F401
    except ImportError as exc:
        raise TuneError(
            "reef tune needs Optuna, which is not installed", hint="pip install 'reef-bench[tune]'"
        ) from exc
    seconds = parse_time(time_s) if isinstance(time_s, str) else time_s
    if seconds is not None:
        parse_time(str(seconds))
    check_limits(budget, seconds)
    if resume and study is None:
        raise TuneError("--resume needs --study NAME", hint="the study to continue")
    name = check_study_name(study) if study is not None else _default_name(target)
    if resume:
        spec = _resumed(name, target, space, objectives, constraints)
    else:
        spec = _spec(target, space, objectives, constraints, scenario, duration_s, probe,
                     prune_k, tolerance)  # fmt: skip
        if study_exists(name):
            raise TuneError(
                f"--study {name}: a study of this name exists",
                hint="add --resume to continue it, or choose another --study name",
            )
    _check_values(spec)
    if runner is None:
        from reef.tune.trials import local_runner

        runner = local_runner(spec.target, in_process=in_process, reporter=reporter)
        _check_backend(spec)
    if budget is None:
        budget = min(spec.grid_size(), MAX_DEFAULT_BUDGET)
    run_study(spec, name, runner, resume=resume, budget=budget, time_s=seconds, progress=progress)
    return build(name)


def tune_report(study: str) -> TuneReport:
    """The report of a stored study: its trials, the noise-aware frontier with its ties, the
    recommended configuration per objective under its constraints, and pruning's savings.
    ``TuneError`` (exit 2) when no study has that name."""
    from reef.tune.report import build
    from reef.tune.space import check_study_name

    return build(check_study_name(study))


def _default_name(target: str) -> str:
    import re
    from datetime import datetime
    from pathlib import PurePath

    stem = PurePath(target.split("@")[0]).stem.lower() or "study"
    stem = re.sub(r"[^a-z0-9._-]+", "-", stem).strip("-.") or "study"
    return f"{stem[:40]}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _spec(
    target: str,
    space: Sequence[str],
    objectives: Sequence[str],
    constraints: Sequence[str],
    scenario: str,
    duration_s: float,
    probe: float,
    prune_k: int,
    tolerance: float,
) -> TuneSpec:
    from reef.meta import choices
    from reef.tune.space import (
        TuneSpec,
        check_measurement,
        parse_constraint,
        parse_objectives,
        parse_space,
    )

    parsed_objectives = parse_objectives(list(objectives))
    dims = parse_space(list(space))
    parsed_constraints = [parse_constraint(c) for c in constraints]
    check_measurement(duration_s, probe, prune_k, tolerance)
    return TuneSpec(
        target=target,
        space=dims,
        objectives=parsed_objectives,
        constraints=parsed_constraints,
        scenario=choices.SCENARIO.parse(scenario, SettingsError),
        duration_s=duration_s,
        probe=probe,
        prune_k=prune_k,
        tolerance=tolerance,
    )


def _resumed(
    name: str,
    target: str,
    space: Sequence[str],
    objectives: Sequence[str],
    constraints: Sequence[str],
) -> TuneSpec:
    """The stored definition of the study to resume; what is given must agree with it."""
    from reef.tune import TuneError
    from reef.tune.space import parse_constraint, parse_objectives, parse_space
    from reef.tune.study import load

    _, spec = load(name)
    given = {
        "TARGET": (target, spec.target),
        "--space": (parse_space(list(space)) if space else None, spec.space),
        "--objective": (parse_objectives(list(objectives)) if objectives else None,
                        spec.objectives),
        "--constraint": ([parse_constraint(c) for c in constraints] if constraints else None,
                         spec.constraints),
    }  # fmt: skip
    for option, (asked, stored) in given.items():
        if asked is not None and asked != stored:
            raise TuneError(
                f"{option}: study {name} was started with another {option}",
                hint="--resume continues a study as it was defined: leave the option out, "
                "or start a new --study",
            )
    return spec


def _check_values(spec: TuneSpec) -> None:
    """Every value of the space, checked by the code ``reef bench`` checks its options with
    (``bench_settings``, ``predictor_settings``), at the full and at the probe duration."""
    from reef.bench.settings import bench_settings
    from reef.tune import TuneError

    base: dict[str, object] = {
        "mode": "both" if spec.needs_accuracy() else "performance",
        "raw_latencies": True,
    }
    for seconds in (spec.duration_s, spec.duration_s * spec.probe):
        try:
            bench_settings([spec.scenario], duration_s=seconds, **base)
        except SettingsError as exc:
            raise TuneError(exc.message, hint=exc.hint) from exc
    for dim in spec.space:
        for value in dim.values:
            try:
                _check_value(spec, dim, value, base)
            except SettingsError as exc:
                raise TuneError(f"--space {dim.key}={value}: {exc.message}", hint=exc.hint) from exc


def _check_backend(spec: TuneSpec) -> None:
    """ONNX Runtime's options in the space refused, naming the option, for a target another
    backend runs (as ``reef bench`` refuses them)."""
    from reef.bench.backends import check_options, default_backend
    from reef.bench.job import PredictorSettings
    from reef.bench.target import resolve
    from reef.tune import TuneError

    backend = default_backend(resolve(spec.target))
    for dim in spec.space:
        if dim.kind == "predictor":
            for value in dim.values:
                try:
                    check_options(PredictorSettings(**{dim.key: value}), [backend])
                except SettingsError as exc:
                    raise TuneError(
                        f"--space {dim.key}={value}: {exc.message}", hint=exc.hint
                    ) from exc


def _check_value(spec: TuneSpec, dim: Dimension, value: object, base: dict[str, object]) -> None:
    from reef.api.runs import predictor_settings
    from reef.bench.settings import bench_settings

    if dim.kind == "bench":
        bench_settings([spec.scenario], duration_s=spec.duration_s, **base, **{dim.key: value})
        return
    options: dict[str, object] = {dim.key: value}
    predictor_settings(
        graph_optimization=options.get("graph_optimization"),  # type: ignore[arg-type]
        inter_op_threads=options.get("inter_op_threads"),  # type: ignore[arg-type]
        execution_mode=options.get("execution_mode"),  # type: ignore[arg-type]
    )
