"""The scoreboard the database ranks (``Store.best_in_groups``, SQLite) is the one Python
ranks from the values read run by run (any other database): same rows, medians, counts,
warnings and errors, over random runs with ties, missing values, odd hardware and accuracy
metrics in several spellings. PostgreSQL, which Python ranks for, holding the same runs ranks
them as SQLite does."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from databases import Postgres
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


def random_records() -> list[RunRecord]:
    rng = random.Random(14)
    return [random_record(rng, i) for i in range(600)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("board") / "reef.db"
    with Store(f"sqlite:///{path}") as s:
        s.add_many(random_records())
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


# The odd rows PostgreSQL can hold, each as SQLite and PostgreSQL write it: its float columns
# take no text, but infinities, and NaN, which SQLite stores as NULL. Its record_json is text
# (as on SQLite), edited here as jsonb.
TWIN_ODD_ROWS = (
    ("UPDATE runs SET hardware = NULL WHERE id LIKE '1%'",) * 2,
    ("UPDATE runs SET hardware = '' WHERE id LIKE '2%'",) * 2,
    (
        "UPDATE runs SET p90_ms = NULL, throughput_qps = 9e999 WHERE id LIKE '3%'",
        "UPDATE runs SET p90_ms = 'NaN', throughput_qps = 'Infinity' WHERE id LIKE '3%'",
    ),
    (
        "UPDATE runs SET p99_ms = -9e999, accuracy_value = NULL WHERE id LIKE '4%'",
        "UPDATE runs SET p99_ms = '-Infinity', accuracy_value = 'NaN' WHERE id LIKE '4%'",
    ),
    (
        "UPDATE runs SET record_json = json_set(record_json, '$.performance.latency_ms.p95', "
        "'fast') WHERE id LIKE '5%'",
        "UPDATE runs SET record_json = jsonb_set(record_json::jsonb, "
        "'{performance,latency_ms,p95}', '\"fast\"')::text WHERE id LIKE '5%'",
    ),
)
# Not a JSON boolean in a record: SQLite's json_extract reads `true` as the number 1, which it
# ranks, where Python, reading the record itself on PostgreSQL, finds no number.


@pytest.fixture(scope="module")
def twins(
    tmp_path_factory: pytest.TempPathFactory, postgres: Postgres
) -> Iterator[tuple[Store, Store]]:
    """The same runs and odd rows on SQLite and on PostgreSQL."""
    from databases import execute

    records = random_records()
    urls = [
        f"sqlite:///{tmp_path_factory.mktemp('board-twin') / 'reef.db'}",
        postgres.new_url("board"),
    ]
    for url in urls:
        with Store(url) as s:
            s.add_many(records)
    for sqlite_statement, postgresql_statement in TWIN_ODD_ROWS:
        for url, statement in zip(urls, (sqlite_statement, postgresql_statement), strict=True):
            assert execute(url, statement)[0] > 0
    with Store(urls[0]) as on_sqlite, Store(urls[1]) as on_postgresql:
        yield on_sqlite, on_postgresql
    postgres.release(urls[1])


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "metric",
    ["auto", "latency_p90", "latency_p95", "throughput", "accuracy", "accuracy.top1",
     "latency_p99:max", "samples:min"],
)  # fmt: skip
@pytest.mark.parametrize("hardware", [None, "epyc", "unknown"])
def test_postgresql_ranks_as_sqlite_does(
    twins: tuple[Store, Store], metric: str, hardware: str | None
) -> None:
    on_sqlite, on_postgresql = twins
    for selection in (RunFilter(), RunFilter(scenario="Offline")):
        assert on_postgresql.best_in_groups({None: ("id", False)}, selection) is None
        assert outcome(on_postgresql, metric, hardware, selection) == outcome(
            on_sqlite, metric, hardware, selection
        )
