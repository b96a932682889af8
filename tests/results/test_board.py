"""``reef.results.board`` through ``reef.api.board``: the best valid run per (model,
scenario, hardware), by MLPerf's metric per scenario or one chosen metric, and every bad
input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from factories import rid, run_record, scaled
from reef.api import board
from reef.meta.run import RunRecord
from reef.results import Store
from reef.results.board import Board, BoardError
from reef.results.query import NoRunsMatch, RunFilter, hardware_label

EPYC = "AMD EPYC 7763"
XEON = "Intel Xeon 8480+"


def record(
    run_id: str,
    *,
    p90: float = 10.0,
    qps: float = 100.0,
    acc: float | None = 0.7,
    scenario: str = "SingleStream",
    name: str = "resnet",
    cpu: str | None = EPYC,
    gpus: list[str] | None = None,
    status: str = "valid",
    minutes: int = 0,
    version: str = "1.0",
) -> RunRecord:
    hardware: dict[str, Any] = {}
    if cpu is not None:
        hardware["cpu"] = {"model": cpu, "logical_cores": 8}
    if gpus is not None:
        hardware["gpu"] = {"devices": [{"name": g} for g in gpus]}
    return run_record(
        rid(run_id),
        name=name,
        version=version,
        path="/m",
        sha256="ab" * 32,
        minutes=minutes,
        status=status,
        scenario=scenario,
        backend_version="1",
        latency_ms=scaled(p90, min=0.5, mean=0.8, p50=0.7, p99=1.5, max=2),
        throughput_qps=qps,
        queries=100,
        accuracy=acc,
        environment={"hardware": hardware},
    )


@pytest.fixture
def store(reef_db: str) -> Iterator[Store]:
    """A store on each database (REEF_DB_URL)."""
    with Store() as s:
        yield s


def cells(result: Board) -> list[tuple[str, str, str, str, float, str, int]]:
    return [
        (r.model, r.scenario, r.hardware, r.metric, r.value, r.run_id[:2], r.runs)
        for r in result.rows
    ]


def test_auto_ranks_each_scenario_by_its_mlperf_metric(store: Store) -> None:
    store.add_many(
        [
            record("a1", p90=5.0, qps=10),  # best p90 on EPYC
            record("a2", p90=7.0, qps=999),
            record("a3", p90=1.0, status="invalid"),  # better, but not valid
            record("b1", p90=8.0, cpu=XEON),
            record("c1", scenario="Offline", qps=300, p90=50),
            record("c2", scenario="Offline", qps=500, p90=90),  # best throughput
            record("d1", scenario="MultiStream", p90=4.0),  # p99 = 6.0
            record("d2", scenario="MultiStream", p90=3.0),  # p99 = 4.5
            record("e1", scenario="Server", qps=40, name="bert"),
        ]
    )
    result = board()
    assert result.metric == "auto"
    assert result.considered == 8  # the invalid run is not considered
    assert cells(result) == [
        ("bert", "Server", EPYC, "throughput", 40.0, "e1", 1),
        ("resnet", "MultiStream", EPYC, "latency_p99", 4.5, "d2", 2),
        ("resnet", "Offline", EPYC, "throughput", 500.0, "c2", 2),
        ("resnet", "SingleStream", EPYC, "latency_p90", 5.0, "a1", 2),
        ("resnet", "SingleStream", XEON, "latency_p90", 8.0, "b1", 1),
    ]
    single = result.rows[3]
    assert (single.direction, single.unit, single.median) == ("min", "ms", 6.0)
    data = result.model_dump(mode="json")
    assert list(data) == ["metric", "considered", "missing", "rows", "warnings"]
    assert data["rows"][0]["run_id"] == rid("e1")


def test_one_metric_for_every_scenario_with_its_natural_direction(store: Store) -> None:
    store.add_many(
        [
            record("a1", acc=0.71),
            record("a2", acc=0.75),
            record("b1", scenario="Offline", acc=0.60),
            record("b2", scenario="Offline", acc=None),  # lacks the metric
        ]
    )
    result = board("accuracy")
    assert [(r.scenario, r.value, r.direction) for r in result.rows] == [
        ("Offline", 0.60, "max"),
        ("SingleStream", 0.75, "max"),
    ]
    assert result.missing == 1
    assert result.warnings == ["1 valid run left out for lacking the metric"]
    assert [r.run_id[:2] for r in board("accuracy:min").rows] == ["b1", "a1"]
    assert [
        r.value for r in board("latency_p50", run_filter=RunFilter(scenario="SingleStream")).rows
    ] == [7.0]


def test_ties_go_to_the_newest_run(store: Store) -> None:
    store.add_many([record("a1", p90=5.0, minutes=1), record("a2", p90=5.0, minutes=9)])
    assert board().rows[0].run_id == rid("a2")


def test_hardware_labels_name_the_gpus_and_the_filter_matches_them(store: Store) -> None:
    store.add_many(
        [
            record("a1", gpus=["NVIDIA H100", "NVIDIA H100"]),
            record("b1", cpu=None),
            record("c1", cpu=XEON),
        ]
    )
    labels = [r.hardware for r in board().rows]
    assert labels == [f"{EPYC} + 2x NVIDIA H100", XEON, "unknown hardware"]
    assert [r.run_id[:2] for r in board(hardware="h100").rows] == ["a1"]
    with pytest.raises(BoardError, match="--hardware tpu: no valid run's hardware matches") as e:
        board(hardware="tpu")
    assert XEON in (e.value.hint or "")


def test_hardware_label_of_odd_environments() -> None:
    assert hardware_label("  ") == "unknown hardware"
    assert hardware_label("CPU", [{"name": "A"}, {"name": "B"}, {}, "junk"]) == "CPU + A, B"


def test_unknown_metric_lists_the_known_ones(store: Store) -> None:
    store.add(record("a1"))
    with pytest.raises(BoardError, match="--metric speed: unknown metric 'speed'") as e:
        board("speed")
    assert "latency_p90" in (e.value.hint or "") and "auto" in (e.value.hint or "")
    with pytest.raises(BoardError, match="unknown direction"):
        board("throughput:up")


def test_a_metric_no_run_has_is_refused(store: Store) -> None:
    store.add(record("a1", acc=None))
    with pytest.raises(BoardError, match="none of the 1 selected valid runs has accuracy"):
        board("accuracy")


def test_an_empty_selection_names_the_filter(store: Store) -> None:
    store.add_many([record("a1"), record("b1", status="failed", name="bert")])
    with pytest.raises(NoRunsMatch, match="--model vgg"):
        board(run_filter=RunFilter(model="vgg"))
    with pytest.raises(NoRunsMatch, match="--status valid"):
        board(run_filter=RunFilter(model="bert"))


def test_an_empty_store(store: Store) -> None:
    with pytest.raises(NoRunsMatch, match="no runs are recorded yet"):
        board()
