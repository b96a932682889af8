"""The scoreboard the database ranks (``Store.best_in_groups``, SQLite) is the one Python
ranks from the values read run by run (any other database): same rows, medians, counts,
warnings and errors, over random runs with ties, missing values, odd hardware and accuracy
metrics in several spellings."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from factories import run_record
from reef.errors import ReefError
from reef.meta.run import Accuracy, Latency, Performance, RunRecord
from reef.meta.settings import SCENARIOS
from reef.results import Store
from reef.results.board import parse_metric, scoreboard
from reef.results.query import RunFilter

CPUS = ["AMD EPYC 7763", "Intel Xeon 8480+", "", None]
METRIC_NAMES = ["top1", "TOP1", "mAP", "Top1"]


def random_record(rng: random.Random, i: int) -> RunRecord:
    perf = None
    if rng.random() < 0.85:
        p90 = rng.choice([1.0, 2.0, 2.5, 3.0, rng.uniform(0.5, 5)])  # ties, often
        perf = Performance(
            latency_ms=Latency(
                min=p90 / 2, mean=p90, p50=p90 * 0.8, p90=p90, p95=p90 * 1.1, p99=p90 * 1.5,
                max=p90 * 2,
            ),
            throughput_qps=rng.choice([100.0, 200.0, rng.uniform(50, 500)]),
            samples=rng.choice([10, 20, 30]),
            queries=10,
        )  # fmt: skip
    accuracy = None
    if rng.random() < 0.8:
        accuracy = Accuracy(metric=rng.choice(METRIC_NAMES), value=rng.choice([0.5, 0.7, 0.9]))
    cpu = rng.choice(CPUS)
    hardware: dict[str, Any] = {} if cpu is None else {"cpu": {"model": cpu}}
    if rng.random() < 0.2:
        hardware["gpu"] = {"devices": [{"name": "NVIDIA H100"}] * rng.choice([1, 2])}
    return run_record(
        f"{rng.getrandbits(64):016x}{i:04d}",
        minutes=rng.choice([0, 1, 2]),  # ties in time too
        status=rng.choice(["valid", "valid", "valid", "invalid"]),
        name=rng.choice(["resnet", "bert"]),
        path="/m",
        sha256="ab" * 32,
        scenario=rng.choice(SCENARIOS),
        backend=None,
        performance=perf,
        accuracy=accuracy,
        environment={"hardware": hardware},
    )


# Rows as older Reefs or other tools may have left them: no hardware label, an empty one, and
# values that are text, infinite or a boolean, in columns and in records.
ODD_ROWS = (
    "UPDATE runs SET hardware = NULL WHERE id LIKE '1%'",
    "UPDATE runs SET hardware = '' WHERE id LIKE '2%'",
    "UPDATE runs SET p90_ms = 'fast', throughput_qps = 9e999 WHERE id LIKE '3%'",
    "UPDATE runs SET p99_ms = -9e999, accuracy_value = 'high' WHERE id LIKE '4%'",
    "UPDATE runs SET record_json = json_set(record_json, '$.performance.latency_ms.p95', 'fast')"
    " WHERE id LIKE '5%'",
    "UPDATE runs SET record_json = json_set(record_json, '$.performance.latency_ms.p95',"
    " json('true')) WHERE id LIKE '6%'",
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    rng = random.Random(14)
    path = tmp_path_factory.mktemp("board") / "reef.db"
    with Store(f"sqlite:///{path}") as s:
        s.add_many([random_record(rng, i) for i in range(600)])
    with sqlite3.connect(path) as conn:
        for statement in ODD_ROWS:
            assert conn.execute(statement).rowcount > 0
    conn.close()
    with Store(f"sqlite:///{path}") as s:
        yield s


def outcome(
    store: Store, metric: str, hardware: str | None, selection: RunFilter
) -> dict[str, Any]:
    try:
        return scoreboard(store, parse_metric(metric), selection, hardware).model_dump(mode="json")
    except ReefError as exc:
        return {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}


@pytest.mark.parametrize(
    "metric",
    ["auto", "latency_p90", "latency_p95", "throughput", "accuracy", "accuracy.top1",
     "accuracy.map", "accuracy.nothing", "samples:min", "latency_max:max"],
)  # fmt: skip
@pytest.mark.parametrize("hardware", [None, "epyc", "h100", "unknown", "no such cpu"])
def test_the_database_ranks_as_python_does(
    store: Store, metric: str, hardware: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for selection in (RunFilter(), RunFilter(model="bert"), RunFilter(scenario="Offline")):
        assert store.best_in_groups({None: ("id", False)}, selection) is not None
        in_database = outcome(store, metric, hardware, selection)
        with monkeypatch.context() as patched:
            patched.setattr(Store, "best_in_groups", lambda *_a, **_k: None)
            in_python = outcome(store, metric, hardware, selection)
        assert in_database == in_python


def test_no_valid_run_is_explained_the_same_way(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    selection = RunFilter(model="no-such-model")
    in_database = outcome(store, "auto", None, selection)
    monkeypatch.setattr(Store, "best_in_groups", lambda *_a, **_k: None)
    assert outcome(store, "auto", None, selection) == in_database
    assert in_database["error"] == "NoRunsMatch"
