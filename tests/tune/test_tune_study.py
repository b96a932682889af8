"""The search with a made-up trial runner (the seam a cluster runner uses): pruning,
repeats, resume, the report, and the study's storage beside Reef's store."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from factories import from_raw, run_record
from reef import api
from reef.meta.run import Accuracy, RunRecord
from reef.results import Store
from reef.tune import TuneError
from reef.tune.trials import TrialRequest, tag_records

# Median latency (ms) of each configuration: more threads are faster; graph optimisation
# "all" shaves 10%. Accuracy is the same everywhere.
MEDIAN_MS = {1: 4.0, 2: 2.0, 4: 1.0}
SPACE = ["threads=1,2,4", "graph_optimization=basic,all"]


class FakeRunner:
    """Synthetic runs of a configuration, as many latencies as the duration asked would
    give, stored and tagged as the local runner stores them."""

    def __init__(self) -> None:
        self.requests: list[TrialRequest] = []

    def __call__(self, request: TrialRequest) -> list[RunRecord]:
        self.requests.append(request)
        threads = request.settings.threads or 1
        median = MEDIAN_MS[threads] * (0.9 if request.predictor.graph_optimization == "all" else 1)
        n = max(20, int(2000 * request.settings.duration_s))
        rng = np.random.default_rng(len(self.requests))
        raw = rng.lognormal(math.log(median * 1e6), 0.1, n).astype(np.int64).tolist()
        accuracy = Accuracy(metric="top1", value=0.97, reference=0.9733)
        record = run_record(
            None,
            raw=raw,
            **from_raw(raw),
            scenario=request.settings.scenario,
            settings=request.settings.model_dump(exclude={"scenario"}),
            accuracy=accuracy if request.settings.mode != "performance" else None,
        )
        assert record.performance is not None
        record.performance.duration_s = request.settings.duration_s
        tag_records(request.tags)(record)
        with Store() as store:
            store.add(record)
        return [record]


def tune(runner: FakeRunner, **options: object) -> api.TuneReport:
    values: dict[str, object] = {
        "space": SPACE,
        "objectives": ["latency_p99:min", "throughput:max"],
        "duration_s": 1.0,
        "study": "fake",
        "runner": runner,
    }
    values.update(options)
    return api.tune_study("digits-classifier", **values)  # type: ignore[arg-type]


def test_a_study_prunes_what_finished_configurations_dominate() -> None:
    runner = FakeRunner()
    report = tune(runner, budget=6, prune_k=1)
    measured = [t for t in report.trials if t.state in ("complete", "pruned")]
    assert len(measured) == 6  # the whole space, each configuration once
    assert len({t.key for t in measured}) == 6
    # The fastest configuration is alone on the frontier (latency and throughput agree).
    [[best]] = report.frontier
    assert report.trials[[t.number for t in report.trials].index(best)].config == {
        "threads": 4,
        "graph_optimization": "all",
    }
    pruned = [t for t in report.trials if t.state == "pruned"]
    assert pruned, "a clearly slower configuration measured after a faster one is pruned"
    for t in pruned:
        assert t.measured_s == pytest.approx(0.25)
        assert t.pruned_by and len(t.run_ids) == 1
    full = [t for t in report.trials if t.state == "complete"]
    assert all(t.measured_s == 1.0 for t in full)
    p = report.pruning
    assert p.pruned == len(pruned) and p.trials == 6
    assert p.saved_s == pytest.approx(0.75 * len(pruned))
    assert p.saved_share == pytest.approx(p.saved_s / 6.0, abs=1e-3)
    # A probe is measured briefly, then the rest: two requests per unpruned probed trial.
    asked = sorted(round(r.settings.duration_s, 3) for r in runner.requests)
    assert set(asked) <= {0.25, 0.75, 1.0}
    # Every run is in Reef's store, tagged with the study.
    tagged = api.runs_list(api.RunFilter(tag="tune:fake"))
    assert {r.id for r in tagged} == {i for t in report.trials for i in t.run_ids}
    assert report.recommended[0].objective == "latency_p99:min"
    assert report.recommended[0].trial == best


def test_without_pruning_every_trial_is_measured_in_full() -> None:
    runner = FakeRunner()
    report = tune(runner, budget=3, prune_k=0)
    assert [t.state for t in report.trials if "repeat" not in t.key] == ["complete"] * 3
    # Each trial in two runs, a quarter and the rest: their spread is part of its interval.
    assert [r.settings.duration_s for r in runner.requests] == [0.25, 0.75] * 3
    assert report.pruning.saved_share == 0


def test_one_objective_uses_tpe_and_recommends_with_ties() -> None:
    report = tune(FakeRunner(), objectives=["latency_p50:min"], budget=4, prune_k=0)
    assert report.sampler == "TPESampler"
    [rec] = report.recommended
    assert rec.objective == "latency_p50:min"


def test_constraints_decide_what_is_recommended() -> None:
    report = tune(
        FakeRunner(),
        budget=6,
        prune_k=0,
        constraints=["accuracy >= 0.99*reference", "latency_p50 >= 1.5"],
    )
    # digits-classifier's reference is 0.9733: 0.97 meets 0.99 of it; threads=4 is too fast.
    for t in report.trials:
        assert t.feasible == (t.config["threads"] != 4)
        assert t.constraints[0].holds is True
    by_number = {t.number: t for t in report.trials}
    assert all(by_number[rec.trial].config["threads"] != 4 for rec in report.recommended)
    assert set(report.infeasible) == {t.number for t in report.trials if t.config["threads"] == 4}


def test_resume_continues_the_study_and_skips_measured_configurations() -> None:
    runner = FakeRunner()
    first = tune(runner, budget=2, prune_k=0)
    keys = {t.key for t in first.trials}
    again = tune(runner, budget=2, prune_k=0, resume=True, space=(), objectives=())
    measured = [t for t in again.trials]
    assert len(measured) == 4 and len({t.key for t in measured}) == 4
    assert keys <= {t.key for t in measured}
    with pytest.raises(TuneError, match="exists"):
        tune(runner, budget=1)
    with pytest.raises(TuneError, match="--space: study fake was started with another"):
        tune(runner, budget=1, resume=True, space=["threads=1,2"])
    with pytest.raises(TuneError, match="no such study"):
        tune(runner, budget=1, resume=True, study="other")
    assert api.tune_report("fake").trials == again.trials


def test_the_study_lives_beside_reef_database_which_stays_as_it_was(
    reef_home: Path, reef_db: str
) -> None:
    """On SQLite and PostgreSQL alike: the study is in REEF_HOME/tune.db, Reef's database
    holds no Optuna table and still one schema revision, and its store opens."""
    import sqlalchemy

    from reef.results.migrate import HEAD

    tune(FakeRunner(), budget=2, prune_k=0)
    assert (reef_home / "tune.db").exists()
    engine = sqlalchemy.create_engine(reef_db)
    try:
        with engine.connect() as connection:
            tables = set(sqlalchemy.inspect(connection).get_table_names())
            versions = list(
                connection.scalars(sqlalchemy.text("SELECT version_num FROM alembic_version"))
            )
    finally:
        engine.dispose()
    assert "runs" in tables
    assert not tables & {"studies", "trials", "trial_values", "version_info"}
    assert versions == [HEAD]
    with Store() as store:  # opens without complaint
        assert store.count() == 4  # two trials of two runs each


def test_optuna_in_reef_database_would_clash_with_its_migrations(reef_db: str) -> None:
    """Why the study is not in Reef's database: both record their schema in a table named
    alembic_version. Optuna refuses Reef's revision; had Optuna stamped the table first,
    Reef would find two revisions and refuse to open its store."""
    import optuna

    with Store():
        pass  # Reef's database, at its head revision
    with pytest.raises(RuntimeError, match="compatible"):
        optuna.storages.RDBStorage(reef_db)


def test_time_limit_starts_no_trial_after_it() -> None:
    class Slow(FakeRunner):
        def __call__(self, request: TrialRequest) -> list[RunRecord]:
            time.sleep(0.05)
            return super().__call__(request)

    said: list[str] = []
    report = tune(Slow(), time_s="0.06s", prune_k=0, progress=said.append)
    assert len(report.trials) == 1
    assert said[-1] == "time is up (0.06 s): no new trial started"
