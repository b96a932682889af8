"""``reef.results.pareto`` through ``reef.api.pareto``: known frontiers in 2 and 3
objectives, ties, missing metrics, the dominated-by lists, and every bad input."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from factories import rid, run_record, scaled
from reef.api import pareto
from reef.meta.run import RunRecord
from reef.results import Store
from reef.results.pareto import METRICS, Frontier, Objective, ParetoError
from reef.results.query import NoRunsMatch, RunFilter


def record(
    run_id: str,
    p90: float | None,
    qps: float = 100.0,
    acc: float | None = 0.7,
    *,
    metric: str = "top1",
    name: str = "resnet",
    backend: str = "onnxruntime",
    minutes: int = 0,
) -> RunRecord:
    return run_record(
        rid(run_id),
        name=name,
        sha256="ab" * 32,
        minutes=minutes,
        backend=backend,
        backend_version="1",
        latency_ms=None
        if p90 is None
        else scaled(p90, min=0.5, mean=0.8, p50=0.7, p95=1.1, p99=1.3, max=2),
        throughput_qps=qps,
        queries=100,
        accuracy=acc,
        metric=metric,
    )


@pytest.fixture
def store(reef_db: str) -> Iterator[Store]:
    """A store on each database (REEF_DB_URL)."""
    with Store() as s:
        yield s


def ids(runs: list[object]) -> list[str]:
    return [r.id[:2] for r in runs]


def test_two_objectives_frontier_sorted_by_the_first(store: Store) -> None:
    store.add_many(
        [
            record("a1", 1.0, acc=0.60),
            record("b1", 2.0, acc=0.70),
            record("c1", 3.0, acc=0.80),
            record("d1", 2.5, acc=0.65),  # dominated by b1 (and a1? no: a1 is less accurate)
            record("e1", 4.0, acc=0.50),  # dominated by a1, b1, c1
        ]
    )
    f = pareto(["latency_p90:min", "accuracy:max"])
    assert isinstance(f, Frontier)
    assert ids(f.frontier) == ["a1", "b1", "c1"]
    assert f.frontier[0].values == [1.0, 0.6]
    assert f.frontier[0].model == "resnet@1.0" and f.frontier[0].backend == "onnxruntime"
    by = {d.id[:2]: d for d in f.dominated}
    assert [i[:2] for i in by["d1"].dominated_by] == ["b1"]
    assert [i[:2] for i in by["e1"].dominated_by] == ["a1", "b1", "c1"]
    assert by["e1"].dominated_by_count == 3
    assert ids(f.dominated) == ["b1", "d1", "e1"][1:]  # in the first objective's order
    assert f.selected == 5 and f.considered == 5 and f.missing == {} and f.warnings == []
    data = f.model_dump(mode="json")
    assert list(data) == [
        "objectives", "selected", "considered", "missing", "frontier", "dominated", "warnings",
    ]  # fmt: skip
    assert list(data["objectives"][0].items()) == [
        ("metric", "latency_p90"),
        ("direction", "min"),
        ("unit", "ms"),
    ]
    assert len(data["frontier"]) == 3 and data["dominated"][1]["dominated_by_count"] == 3
    assert list(data["dominated"][0]) == ["id", "values", "dominated_by", "dominated_by_count"]


def test_ties_do_not_dominate_each_other(store: Store) -> None:
    store.add_many(
        [
            record("a1", 1.0, acc=0.7),
            record("a2", 1.0, acc=0.7),  # identical to a1: both on the frontier
            record("b1", 1.0, acc=0.6),  # same latency, worse accuracy: dominated
            record("c1", 2.0, acc=0.7),  # same accuracy, slower: dominated
        ]
    )
    f = pareto(["latency_p90:min", "accuracy:max"])
    assert sorted(ids(f.frontier)) == ["a1", "a2"]
    assert sorted(ids(f.dominated)) == ["b1", "c1"]
    assert all(d.dominated_by_count == 2 for d in f.dominated)


def test_three_objectives(store: Store) -> None:
    store.add_many(
        [
            record("a1", 1.0, qps=100, acc=0.6),
            record("b1", 2.0, qps=300, acc=0.6),
            record("c1", 3.0, qps=100, acc=0.9),
            record("d1", 2.0, qps=200, acc=0.6),  # dominated by b1 only
            record("e1", 3.0, qps=100, acc=0.8),  # dominated by c1 only
            record("f1", 1.5, qps=150, acc=0.7),  # on the frontier: best accuracy at its speed
        ]
    )
    f = pareto(["latency_p90:min", "throughput:max", "accuracy:max"])
    assert ids(f.frontier) == ["a1", "f1", "b1", "c1"]
    by = {d.id[:2]: [i[:2] for i in d.dominated_by] for d in f.dominated}
    assert by == {"d1": ["b1"], "e1": ["c1"]}


def test_three_objectives_match_brute_force_over_many_blocks(store: Store) -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(1, 40, size=(1200, 3)).astype(float)  # many ties
    store.add_many(
        record(f"{i:06x}", p90=v[0], qps=v[1], acc=v[2] / 40, minutes=i)
        for i, v in enumerate(values)
    )
    f = pareto(["latency_p90:min", "throughput:max", "accuracy:max"])
    cost = values * np.array([1, -1, -1])
    dominated = (cost[:, None] <= cost[None]).all(-1) & (cost[:, None] < cost[None]).any(-1)
    expected = {rid(f"{i:06x}") for i in np.flatnonzero(~dominated.any(axis=0))}
    assert {r.id for r in f.frontier} == expected
    assert len(f.dominated) == 1200 - len(expected)
    row = {rid(f"{i:06x}"): i for i in range(len(values))}
    for d in f.dominated[:200]:
        assert d.dominated_by and d.dominated_by_count >= len(d.dominated_by)
        for by in d.dominated_by:
            assert by in expected and dominated[row[by], row[d.id]]


def test_two_objectives_match_brute_force(store: Store) -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(1, 30, size=(400, 2)).astype(float)
    store.add_many(record(f"{i:06x}", p90=v[0], qps=v[1]) for i, v in enumerate(values))
    f = pareto(["latency_p90:max", "throughput:min"])
    cost = values * np.array([-1, 1])
    dominated = (cost[:, None] <= cost[None]).all(-1) & (cost[:, None] < cost[None]).any(-1)
    expected = {rid(f"{i:06x}") for i in np.flatnonzero(~dominated.any(axis=0))}
    assert {r.id for r in f.frontier} == expected
    firsts = [r.values[0] for r in f.frontier]
    assert firsts == sorted(firsts, reverse=True)  # best (max) first


def test_runs_missing_a_metric_are_left_out_and_counted(store: Store) -> None:
    store.add_many(
        [
            record("a1", 1.0, acc=0.6),
            record("b1", 2.0, acc=0.7),
            record("c1", None, acc=0.9),  # no performance at all
            record("d1", 0.5, acc=None),  # no accuracy
        ]
    )
    f = pareto(["latency_p90:min", "accuracy:max"])
    assert ids(f.frontier) == ["a1", "b1"]
    assert f.selected == 4 and f.considered == 2
    assert f.missing == {"latency_p90": 1, "accuracy": 1}
    assert f.warnings and "2 selected runs left out" in f.warnings[0]


def test_metrics_read_from_the_record_and_accuracy_by_name(store: Store) -> None:
    store.add_many(
        [
            record("a1", 1.0, acc=0.6),
            record("b1", 2.0, acc=0.9, metric="f1"),  # left out of accuracy.top1
            record("c1", 3.0, acc=0.8),
        ]
    )
    f = pareto(["latency_mean:min", "accuracy.top1:max"])
    assert ids(f.frontier) == ["a1", "c1"]
    assert f.frontier[0].values == [0.8, 0.6]
    assert f.missing == {"accuracy.top1": 1}
    assert str(Objective.parse("Accuracy.top1 : MAX")) == "accuracy.top1:max"


def test_filters_select_the_runs(store: Store) -> None:
    store.add_many(
        [
            record("a1", 1.0, acc=0.6, backend="tensorrt"),
            record("b1", 2.0, acc=0.9, backend="onnxruntime"),
        ]
    )
    f = pareto(["latency_p90:min", "accuracy:max"], run_filter=RunFilter(backend="onnxruntime"))
    assert ids(f.frontier) == ["b1"] and f.dominated == []


@pytest.mark.parametrize(
    ("objectives", "fragment"),
    [
        (["latency_p90"], "not METRIC:DIRECTION"),
        (["latency_p90:min"], "give 2 or 3 objectives, not 1"),
        (["latency_p90:min", "accuracy:max", "throughput:max", "samples:max"], "not 4"),
        (["latency_p90:lowest", "accuracy:max"], "unknown direction 'lowest'"),
        (["speed:min", "accuracy:max"], "unknown metric 'speed'"),
        (["throughput.x:max", "accuracy:max"], "unknown metric"),
        (["accuracy:max", "accuracy:min"], "accuracy given more than once"),
    ],
)
def test_bad_objectives(store: Store, objectives: list[str], fragment: str) -> None:
    store.add(record("a1", 1.0))
    with pytest.raises(ParetoError) as caught:
        pareto(objectives)
    assert fragment in caught.value.message
    assert caught.value.exit_code == 2


def test_unknown_metric_lists_the_known_ones(store: Store) -> None:
    with pytest.raises(ParetoError) as caught:
        pareto(["speed:min", "accuracy:max"])
    assert caught.value.hint is not None
    assert all(name in caught.value.hint for name in METRICS)


def test_a_metric_no_selected_run_has_lists_those_they_have(store: Store) -> None:
    store.add_many([record("a1", 1.0, acc=None), record("b1", 2.0, acc=None)])
    with pytest.raises(ParetoError) as caught:
        pareto(["latency_p90:min", "accuracy:max"])
    assert "none of the 2 selected runs has accuracy" in caught.value.message
    hint = caught.value.hint or ""
    assert "latency_p90" in hint and "throughput" in hint and "accuracy" not in hint


def test_an_accuracy_metric_no_run_has_lists_those_they_have(store: Store) -> None:
    store.add(record("a1", 1.0, acc=0.5, metric="mAP"))
    with pytest.raises(ParetoError) as caught:
        pareto(["latency_p90:min", "accuracy.top1:max"])
    assert "accuracy.mAP" in (caught.value.hint or "")


def test_an_empty_selection_names_the_filter(store: Store) -> None:
    store.add(record("a1", 1.0))
    with pytest.raises(NoRunsMatch) as caught:
        pareto(
            ["latency_p90:min", "accuracy:max"],
            run_filter=RunFilter(model="resnet", backend="tensorrt"),
        )
    assert caught.value.option == "--backend" and caught.value.exit_code == 2


def test_an_empty_store(store: Store) -> None:
    with pytest.raises(ParetoError, match="no runs recorded yet"):
        pareto(["latency_p90:min", "accuracy:max"])
