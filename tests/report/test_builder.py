"""What the report's figures say they show: an Offline run's raw timings are compute time per
batch and LoadGen's figures are latency per sample, never under one label; throughputs orders
of magnitude apart get a panel per model."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import run_record
from reef.report.builder import build_document
from reef.report.charts import BarChart, LineChart
from reef.report.document import Figure, Table


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REEF_HOME", str(tmp_path))  # runs without raw latencies look there


def figures(section: str, *records: object) -> list[Figure]:
    doc = build_document(list(records))  # type: ignore[arg-type]
    [found] = [s for s in doc.sections if s.anchor == section]
    return [b for b in found.blocks if isinstance(b, Figure)]


def test_an_offline_runs_two_latencies_are_two_figures_with_their_own_labels() -> None:
    offline = run_record("off", scenario="Offline", raw=[7_000, 8_000, 9_000] * 10)
    found = figures("latency", offline)
    labels = {f.name: (f.chart.title, getattr(f.chart, "x_label", None)) for f in found}
    raw_cdf = labels["latency-resnet-offline-cdf"]
    assert raw_cdf == (
        "resnet, Offline: compute time per batch (raw)",
        "compute time per batch (ms), timed by the system under test",
    )
    assert (
        labels["latency-resnet-offline-loadgen"][1]
        == "LoadGen latency per sample (ms), issue to answer"
    )
    histogram = labels["latency-resnet-offline-histogram"]
    assert histogram[1] == "compute time per batch (ms), timed by the system under test"
    # No figure draws both quantities.
    for figure in found:
        if isinstance(figure.chart, LineChart):
            assert ("LoadGen" in figure.chart.x_label) != (
                "system under test" in figure.chart.x_label
            )


def test_a_single_stream_run_names_its_raw_timing_per_query() -> None:
    found = figures("latency", run_record("ss", raw=[1_000_000] * 30))
    assert found[0].chart.x_label == "latency per query (ms), timed by the system under test"  # type: ignore[union-attr]


def test_runs_without_raw_latencies_get_only_the_loadgen_figure() -> None:
    found = figures("latency", run_record("a"), run_record("b"))
    assert [f.name for f in found] == ["latency-resnet-singlestream-loadgen"]


def test_the_runs_table_says_its_latencies_are_loadgens() -> None:
    doc = build_document([run_record("a")])
    [table] = [b for b in doc.sections[0].blocks if isinstance(b, Table)]
    names = [c.name for c in table.columns]
    assert {"LoadGen p50 ms", "LoadGen p90 ms", "LoadGen p99 ms"} <= set(names)
    assert "p50 ms" not in names


def test_throughputs_orders_of_magnitude_apart_get_a_panel_per_model() -> None:
    tiny = run_record("t", name="tiny", throughput_qps=50_000.0)
    big = run_record("b", name="big", throughput_qps=20.0)
    found = figures("throughput", tiny, big)
    assert [f.chart.title for f in found] == [
        "SingleStream, big: throughput",
        "SingleStream, tiny: throughput",
    ]
    assert all(isinstance(f.chart, BarChart) and len(f.chart.bars) == 1 for f in found)
    close = figures("throughput", tiny, run_record("c", name="close", throughput_qps=9_000.0))
    assert [f.chart.title for f in close] == ["SingleStream: throughput"]
