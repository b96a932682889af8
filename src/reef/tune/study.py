"""The search: Optuna asks for a configuration, Reef measures it, Optuna is told the result.

Optuna's sampler picks configurations: TPE for one objective, NSGA-II for several, with the
constraints as Optuna's constraint values (positive: violated). Reef measures them through a
trial runner (``reef.tune.trials``) and decides, not Optuna, which trials are pruned.

**Pareto-aware pruning.** Every trial is first measured for ``probe`` of the duration. Once
``prune_k`` configurations have finished (and meet the constraints), if ``prune_k`` of them
dominate that brief measurement with separated intervals (``reef.results.noisy_pareto``),
the trial is stopped there and told ``TrialState.PRUNED``; otherwise it is measured for the
rest of the duration and its two runs are pooled, the interval spanning both runs' figures. A brief
measurement has wider intervals, so it is pruned only when it is clearly worse. Optuna has
no pruner for multi-objective studies (optuna#3450); this one needs none of its pruners.

**Storage.** Studies are kept in Optuna's RDB storage in a SQLite file beside Reef's
database, ``REEF_HOME/tune.db``, not in Reef's database itself: Optuna records its schema
revision in a table named ``alembic_version``, the table Reef's own migrations read. In one
database, Optuna refuses Reef's revision ("no longer compatible with the table schema"), and
once Optuna has stamped it Reef finds two revisions and refuses to open its store
(``SchemaMismatch``). The runs themselves are in Reef's store as ever (its database, SQLite or
PostgreSQL), tagged ``tune:STUDY``; each trial keeps their ids in its user attributes.

A configuration the sampler proposes again is not measured again: the trial is told the
result of the first, and does not count against the budget.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.tune import TuneError
from reef.tune.space import TuneSpec, config_key

if TYPE_CHECKING:
    import optuna

    from reef.meta.run import RunRecord
    from reef.results.noisy_pareto import Estimate
    from reef.results.pareto import Objective
    from reef.tune.trials import TrialRequest, TrialRunner

SPEC_ATTR = "reef"
STORAGE_FILE = "tune.db"
Progress = Callable[[str], None]


def storage_path() -> Path:
    from reef import config

    return config.reef_home() / STORAGE_FILE


def study_exists(name: str) -> bool:
    """Whether a study of this name is stored; opens (and creates) nothing when there is no
    storage yet."""
    path = storage_path()
    if not path.exists():
        return False
    import optuna

    with _quiet():
        return name in optuna.study.get_all_study_names(storage=_storage())


def study_names() -> list[str]:
    if not storage_path().exists():
        return []
    import optuna

    with _quiet():
        return list(optuna.study.get_all_study_names(storage=_storage()))


def _storage() -> optuna.storages.RDBStorage:
    import optuna

    path = storage_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.RDBStorage(
        f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 30}}
    )


@contextmanager
def _quiet() -> Iterator[None]:
    """Optuna's INFO lines and experimental-feature warnings kept off the user's terminal."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def load(name: str) -> tuple[optuna.Study, TuneSpec]:
    """A stored study and its definition; ``TuneError`` when there is none of that name."""
    import optuna

    if not study_exists(name):
        known = study_names()
        raise TuneError(
            f"--study {name}: no such study",
            hint=("studies: " + ", ".join(known)) if known else "no study is stored yet",
        )
    with _quiet():
        study = optuna.load_study(study_name=name, storage=_storage())
    return study, TuneSpec.model_validate(study.user_attrs[SPEC_ATTR])


def objectives_of(spec: TuneSpec) -> list[Objective]:
    from reef.results.pareto import Objective

    return [Objective.parse(o) for o in spec.objectives]


def _sampler(spec: TuneSpec, seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    # Optuna 5 reads constraints a trial sets (Trial.set_constraint) and deprecates
    # constraints_func; Optuna 4 has only constraints_func.
    by_func = spec.constraints and not hasattr(optuna.trial.Trial, "set_constraint")
    constraints = _constraint_values if by_func else None
    grid = spec.grid_size()
    if len(spec.objectives) == 1:
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=max(3, min(10, grid // 4)), constraints_func=constraints
        )
    # Small populations: a budget of a dozen trials still sees a second generation.
    return optuna.samplers.NSGAIISampler(
        seed=seed, population_size=max(4, min(50, grid // 3)), constraints_func=constraints
    )


def _constraint_values(trial: optuna.trial.FrozenTrial) -> list[float]:
    values = trial.user_attrs.get("constraints")
    return [float(v) for v in values] if isinstance(values, list) else [1.0]


class _Done:
    """A configuration measured in this study: its trial and what came out."""

    def __init__(
        self, number: int, state: str, estimates: list[Estimate] | None, feasible: bool
    ) -> None:
        self.number, self.state, self.estimates, self.feasible = number, state, estimates, feasible


def run_study(
    spec: TuneSpec,
    name: str,
    runner: TrialRunner,
    *,
    resume: bool,
    budget: int | None,
    time_s: float | None,
    progress: Progress | None = None,
) -> None:
    """Create (or, with ``resume``, continue) study ``name`` and measure up to ``budget``
    new configurations, starting none after ``time_s`` seconds; stops early once every
    configuration of the space is measured."""
    import optuna

    from reef.results.noisy_pareto import dominators_of, estimates_of

    say = progress or (lambda _line: None)
    objectives = objectives_of(spec)
    directions = [o.direction for o in objectives]
    with _quiet():
        storage = _storage()
        if resume:
            study = optuna.load_study(study_name=name, storage=storage)
            seed = len(study.trials)
            study = optuna.load_study(
                study_name=name, storage=storage, sampler=_sampler(spec, seed)
            )
        else:
            study = optuna.create_study(
                study_name=name,
                storage=storage,
                sampler=_sampler(spec, 0),
                directions=["minimize" if d == "min" else "maximize" for d in directions],
            )
            study.set_user_attr(SPEC_ATTR, spec.model_dump(mode="json"))
    done = _measured(study, objectives, spec)
    distributions: dict[str, optuna.distributions.BaseDistribution] = {
        d.key: optuna.distributions.CategoricalDistribution(d.values) for d in spec.space
    }
    tags = (f"tune:{name}",)
    started = time.monotonic()
    new = proposals = 0
    grid = spec.grid_size()
    while (budget is None or new < budget) and len(done) < grid and proposals < 20 * grid + 100:
        if time_s is not None and time.monotonic() - started >= time_s:
            say(f"time is up ({time_s:g} s): no new trial started")
            break
        proposals += 1
        with _quiet():
            trial = study.ask(distributions)
        config = {d.key: trial.params[d.key] for d in spec.space}
        key = config_key(config)
        trial.set_user_attr("config", key)
        if key in done:
            _repeat(study, trial, done[key])
            continue
        new += 1
        finished = {
            k: d.estimates
            for k, d in done.items()
            if d.state == "complete" and d.feasible and d.estimates is not None
        }
        probing = spec.prune_k > 0 and len(finished) >= spec.prune_k
        # Always two runs (probe, then the rest), pruned or not: their spread is part of
        # each estimate's interval (reef.results.noisy_pareto).
        first_s = spec.duration_s * spec.probe
        clock = time.monotonic()
        try:
            records = runner(_request(spec, config, first_s, spec.needs_accuracy(), tags))
            measured_s = first_s
            estimates = estimates_of(records, objectives)
            dominated_by: list[str] = []
            if probing and _usable(records):
                dominated_by = dominators_of(estimates, finished, directions, spec.tolerance)
            pruned = probing and len(dominated_by) >= spec.prune_k
            if not pruned and _usable(records):
                records += runner(_request(spec, config, spec.duration_s - first_s, False, tags))
                measured_s = spec.duration_s
                estimates = estimates_of(records, objectives)
        except BaseException:
            with _quiet():
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        violations = _violations(spec, records)
        feasible = all(v == 0 for v in violations)
        attrs: dict[str, Any] = {
            "run_ids": [r.id for r in records],
            "measured_s": measured_s,
            "planned_s": spec.duration_s,
            "wall_s": round(time.monotonic() - clock, 3),
            "constraints": violations,
        }
        for attr, value in attrs.items():
            trial.set_user_attr(attr, value)
        _set_constraints(trial, violations)
        values = [e.value for e in estimates]
        with _quiet():
            if not _usable(records) or not all(math.isfinite(v) for v in values):
                reasons = [reason for r in records for reason in r.reasons][:3]
                trial.set_user_attr("reasons", reasons or ["a metric is missing"])
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                done[key] = _Done(trial.number, "failed", None, False)
                say(f"trial {trial.number} {key}: failed ({'; '.join(reasons) or 'no metric'})")
            elif pruned:
                by = sorted(done[k].number for k in dominated_by)
                trial.set_user_attr("pruned_by", by)
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                done[key] = _Done(trial.number, "pruned", estimates, feasible)
                say(
                    f"trial {trial.number} {key}: pruned after {measured_s:g} s, dominated "
                    f"by trials {', '.join(map(str, by))}"
                )
            else:
                study.tell(trial, values)
                done[key] = _Done(trial.number, "complete", estimates, feasible)
                shown = ", ".join(
                    f"{o.name} {e.value:.4g}" for o, e in zip(objectives, estimates, strict=True)
                )
                note = "" if feasible else " (fails a constraint)"
                say(f"trial {trial.number} {key}: {shown}{note}")


def _set_constraints(trial: optuna.trial.Trial, violations: list[float]) -> None:
    if hasattr(trial, "set_constraint"):
        for i, value in enumerate(violations):
            trial.set_constraint(f"c{i}", value)


def _usable(records: list[RunRecord]) -> bool:
    return bool(records) and all(
        r.status != "failed" and r.performance is not None for r in records
    )


def _repeat(study: optuna.Study, trial: optuna.trial.Trial, prior: _Done) -> None:
    """Tell a configuration proposed again what its first trial found, measuring nothing."""
    import optuna

    first = study.trials[prior.number]
    trial.set_user_attr("repeat_of", prior.number)
    trial.set_user_attr("constraints", first.user_attrs.get("constraints", []))
    _set_constraints(trial, list(first.user_attrs.get("constraints", [])))
    with _quiet():
        if prior.state == "complete" and first.values is not None:
            study.tell(trial, list(first.values))
        elif prior.state == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)


def _request(
    spec: TuneSpec, config: dict[str, Any], seconds: float, accuracy: bool, tags: tuple[str, ...]
) -> TrialRequest:
    from reef.tune.trials import TrialRequest

    settings, predictor = trial_settings(spec, config, seconds, accuracy)
    return TrialRequest(target=spec.target, settings=settings, predictor=predictor, tags=tags)


def trial_settings(
    spec: TuneSpec, config: dict[str, Any], seconds: float, accuracy: bool
) -> tuple[Any, Any]:
    """The ``BenchSettings`` and ``PredictorSettings`` a configuration is measured with:
    raw latencies kept (the intervals need them), accuracy measured when an objective or a
    constraint needs it."""
    from reef.bench.job import PredictorSettings
    from reef.bench.settings import bench_settings

    kinds = {d.key: d.kind for d in spec.space}
    bench = {k: v for k, v in config.items() if kinds[k] == "bench"}
    predictor = {k: v for k, v in config.items() if kinds[k] == "predictor"}
    [settings] = bench_settings(
        [spec.scenario],
        duration_s=seconds,
        mode="both" if accuracy else "performance",
        raw_latencies=True,
        **bench,
    )
    return settings, PredictorSettings(**predictor)


def _violations(spec: TuneSpec, records: list[RunRecord]) -> list[float]:
    """Optuna's constraint values of a trial: 0 where a constraint holds."""
    values = constraint_values(spec, records)
    reference = _reference(records)
    return [c.violation(v, reference) for c, v in zip(spec.constraints, values, strict=True)]


def constraint_values(spec: TuneSpec, records: list[RunRecord]) -> list[float | None]:
    from reef.results.noisy_pareto import estimates_of
    from reef.results.pareto import Objective

    if not spec.constraints:
        return []
    asked = [Objective.parse(f"{c.metric}:max") for c in spec.constraints]
    return [e.value if math.isfinite(e.value) else None for e in estimates_of(records, asked)]


def _reference(records: list[RunRecord]) -> float | None:
    for r in records:
        if r.accuracy is not None and r.accuracy.reference is not None:
            return r.accuracy.reference
    return None


def _measured(study: optuna.Study, objectives: list[Objective], spec: TuneSpec) -> dict[str, _Done]:
    """The configurations a resumed study measured already, with their estimates read back
    from Reef's store."""
    from reef.results import Store
    from reef.results.noisy_pareto import estimates_of

    done: dict[str, _Done] = {}
    trials = [t for t in study.trials if "repeat_of" not in t.user_attrs]
    if not trials:
        return done
    with Store() as store:
        for t in trials:
            key = t.user_attrs.get("config")
            state = t.state.name.lower()
            if not isinstance(key, str) or state not in ("complete", "pruned", "fail"):
                continue
            if state == "fail":
                done[key] = _Done(t.number, "failed", None, False)
                continue
            records = [store.get(i, with_latencies=True) for i in t.user_attrs.get("run_ids", [])]
            estimates = estimates_of(records, objectives)
            feasible = all(v == 0 for v in t.user_attrs.get("constraints", []))
            done[key] = _Done(t.number, state, estimates, feasible)
    return done
