"""Energy per sample as an objective of ``reef pareto``, a metric of ``reef board`` (read from
the stored records: no column keeps it, on each database) and a row of ``reef compare``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from factories import rid, run_record
from reef.api import board, compare, pareto
from reef.environment.energy import NO_NVML, NO_RAPL, summarise
from reef.meta.run import EnergyDomain, RunRecord
from reef.results import Store
from reef.results.pareto import METRICS


@pytest.fixture
def store(reef_db: str) -> Iterator[Store]:
    with Store() as s:
        yield s


def record(run_id: str, qps: float, joules_per_sample: float | None) -> RunRecord:
    """A run of 1,000 samples in 1 s at ``qps``; None: one measured without counters."""
    if joules_per_sample is None:
        energy = summarise([], 1.0, 1000, [NO_RAPL, NO_NVML])
    else:
        package = EnergyDomain(name="package-0", joules=joules_per_sample * 1000, method="rapl")
        energy = summarise([package], 1.0, 1000, [NO_NVML])
    return run_record(rid(run_id), throughput_qps=qps, queries=1000, energy=energy)


def test_energy_per_sample_is_a_metric_in_joules() -> None:
    assert METRICS["energy_per_sample"].unit == "J"
    assert METRICS["energy_per_sample"].path == ("energy", "joules_per_sample")


def test_the_frontier_over_energy_per_sample_and_throughput(store: Store) -> None:
    store.add_many(
        [
            record("a1", 100.0, 0.010),  # frugal and slow
            record("b1", 200.0, 0.020),
            record("c1", 300.0, 0.050),  # fast and hungry
            record("d1", 150.0, 0.030),  # dominated by b1
            record("e1", 90.0, 0.060),  # dominated by every frontier run
            record("f1", 500.0, None),  # no counters here: left out, and counted
        ]
    )
    f = pareto(["energy_per_sample:min", "throughput:max"])
    assert [r.id[:2] for r in f.frontier] == ["a1", "b1", "c1"]
    assert f.frontier[0].values == [pytest.approx(0.010), 100.0]
    by = {d.id[:2]: d for d in f.dominated}
    assert [i[:2] for i in by["d1"].dominated_by] == ["b1"]
    assert by["e1"].dominated_by_count == 3
    assert f.missing == {"energy_per_sample": 1}
    assert f.considered == 5 and f.selected == 6
    data = f.model_dump(mode="json")
    assert data["objectives"][0] == {"metric": "energy_per_sample", "direction": "min", "unit": "J"}


def test_the_board_ranks_by_energy_per_sample_lowest_first(store: Store) -> None:
    store.add_many([record("a1", 100.0, 0.03), record("b1", 200.0, 0.01)])
    ranked = board("energy_per_sample")
    assert [row.run_id[:2] for row in ranked.rows] == ["b1"]  # the best run of its group
    row = ranked.rows[0]
    assert row.value == pytest.approx(0.01) and row.direction == "min" and row.unit == "J"
    assert row.runs == 2


def test_compare_has_an_energy_row_where_some_run_measured_it(store: Store) -> None:
    store.add_many(
        [
            record("a1", 100.0, 0.02),
            record("b1", 100.0, 0.01),
            record("c1", 90.0, None),
            record("d1", 95.0, None),
        ]
    )
    rows = {m.name: m for m in compare([rid("a1"), rid("b1"), rid("c1")]).metrics}
    row = rows["energy_per_sample"]
    assert row.unit == "J" and row.better == "lower"
    assert row.values == [pytest.approx(0.02), pytest.approx(0.01), None]
    assert row.ratios == [1.0, pytest.approx(0.5), None]
    unmeasured = compare([rid("c1"), rid("d1")]).metrics
    assert "energy_per_sample" not in {m.name for m in unmeasured}
