"""What a study found, read back from its Optuna storage and Reef's store: every trial with
its estimates, the noise-aware frontier with its ties, the recommended configuration for each
objective under the constraints, and how much measurement time pruning saved.

Estimates are recomputed from the stored runs (seeded bootstraps: the same every time), so
that a report made later, or after ``--resume``, rests on the runs themselves.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from reef.results.noisy_pareto import Estimate
from reef.results.stats import JsonFloat
from reef.tune.space import TuneSpec

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

TrialState = Literal["complete", "pruned", "failed", "running"]


class ConstraintResult(BaseModel):
    """One constraint on one trial: the figure, the bound it was held to, whether it held
    (None: the figure or the bound is unknown)."""

    model_config = ConfigDict(frozen=True)

    constraint: str
    value: JsonFloat | None
    bound: JsonFloat | None
    holds: bool | None


class TrialResult(BaseModel):
    """A configuration measured: its trial number, settings, state, the runs that measured
    it (tagged ``tune:STUDY``), one estimate per objective, the constraints, and for a pruned
    trial the finished trials that dominated its brief measurement."""

    model_config = ConfigDict(frozen=True)

    number: int
    config: dict[str, int | float | str]
    key: str
    state: TrialState
    run_ids: list[str]
    estimates: list[Estimate]
    constraints: list[ConstraintResult]
    feasible: bool
    pruned_by: list[int]
    measured_s: float
    wall_s: float
    reasons: list[str]


class Recommendation(BaseModel):
    """The best feasible configuration on one objective, and the trials statistically tied
    with it there (its interval and theirs are not separated)."""

    model_config = ConfigDict(frozen=True)

    objective: str
    trial: int
    config: dict[str, int | float | str]
    estimate: Estimate
    ties: list[int]


class Pruning(BaseModel):
    """Measurement time (the durations asked of LoadGen, in seconds) spent, and what
    measuring every trial in full would have cost; ``saved_share`` = saved / without."""

    model_config = ConfigDict(frozen=True)

    k: int
    probe: float
    trials: int
    pruned: int
    measured_s: float
    without_pruning_s: float
    saved_s: float
    saved_share: float


class TuneReport(BaseModel):
    """A study: its definition, its trials, the noise-aware frontier (groups of trial
    numbers that are statistically tied, best first by the first objective) and the trials
    it dominates, a recommendation per objective under the constraints, and pruning's
    savings. ``tag`` selects its runs: ``reef pareto --tag tune:STUDY``."""

    model_config = ConfigDict(frozen=True)

    study: str
    tag: str
    storage: str
    sampler: str
    spec: TuneSpec
    trials: list[TrialResult]
    repeats: int
    frontier: list[list[int]]
    dominated: dict[int, list[int]]
    infeasible: list[int]
    recommended: list[Recommendation]
    pruning: Pruning


def build(name: str) -> TuneReport:
    """The report of stored study ``name`` (``TuneError`` when there is none)."""
    from reef.results import Store
    from reef.results.noisy_pareto import better, estimates_of, noisy_frontier
    from reef.tune.study import load, objectives_of, storage_path

    study, spec = load(name)
    objectives = objectives_of(spec)
    directions = [o.direction for o in objectives]
    trials: list[TrialResult] = []
    repeats = 0
    with Store() as store:
        for t in study.trials:
            if "repeat_of" in t.user_attrs:
                repeats += 1
                continue
            ids = [str(i) for i in t.user_attrs.get("run_ids", [])]
            records = [store.get(i, with_latencies=True) for i in ids]
            state: TrialState = {
                "COMPLETE": "complete",
                "PRUNED": "pruned",
                "FAIL": "failed",
            }.get(t.state.name, "running")  # type: ignore[assignment]
            estimates = estimates_of(records, objectives) if records else []
            checks = _constraints(spec, records)
            trials.append(
                TrialResult(
                    number=t.number,
                    config=dict(t.params),
                    key=str(t.user_attrs.get("config", "")),
                    state=state,
                    run_ids=ids,
                    estimates=estimates,
                    constraints=checks,
                    feasible=all(c.holds is True for c in checks),
                    pruned_by=list(t.user_attrs.get("pruned_by", [])),
                    measured_s=float(t.user_attrs.get("measured_s", 0.0)),
                    wall_s=float(t.user_attrs.get("wall_s", 0.0)),
                    reasons=list(t.user_attrs.get("reasons", [])),
                )
            )
    complete = [t for t in trials if t.state == "complete"]
    feasible = {str(t.number): t.estimates for t in complete if t.feasible}
    front = noisy_frontier(feasible, directions, spec.tolerance)
    recommended = []
    for j, o in enumerate(objectives):
        ranked = [t for t in complete if t.feasible and math.isfinite(t.estimates[j].value)]
        if not ranked:
            continue
        pick = (min if o.direction == "min" else max)(ranked, key=lambda t: t.estimates[j].value)
        ties = [
            t.number
            for t in ranked
            if t is not pick
            and not better(pick.estimates[j], t.estimates[j], o.direction, spec.tolerance)
        ]
        recommended.append(
            Recommendation(
                objective=str(o), trial=pick.number, config=pick.config,
                estimate=pick.estimates[j], ties=ties,
            )
        )  # fmt: skip
    measured = [t for t in trials if t.state in ("complete", "pruned")]
    spent = sum(t.measured_s for t in measured)
    without = spec.duration_s * len(measured)
    pruned = sum(1 for t in measured if t.state == "pruned")
    return TuneReport(
        study=name,
        tag=f"tune:{name}",
        storage=str(storage_path()),
        sampler="TPESampler" if len(objectives) == 1 else "NSGAIISampler",
        spec=spec,
        trials=trials,
        repeats=repeats,
        frontier=[[int(k) for k in group] for group in front.groups],
        dominated={int(k): [int(b) for b in by] for k, by in front.dominated.items()},
        infeasible=[t.number for t in complete if not t.feasible],
        recommended=recommended,
        pruning=Pruning(
            k=spec.prune_k,
            probe=spec.probe,
            trials=len(measured),
            pruned=pruned,
            measured_s=round(spent, 3),
            without_pruning_s=round(without, 3),
            saved_s=round(without - spent, 3),
            saved_share=round((without - spent) / without, 4) if without > 0 else 0.0,
        ),
    )


def _constraints(spec: TuneSpec, records: list[RunRecord]) -> list[ConstraintResult]:
    from reef.tune.study import constraint_values

    values = constraint_values(spec, records) if records else [None] * len(spec.constraints)
    reference = next(
        (r.accuracy.reference for r in records if r.accuracy and r.accuracy.reference), None
    )
    return [
        ConstraintResult(
            constraint=c.text, value=v, bound=c.bound(reference), holds=c.holds(v, reference)
        )
        for c, v in zip(spec.constraints, values, strict=True)
    ]
