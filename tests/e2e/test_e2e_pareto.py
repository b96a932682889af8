"""``reef pareto`` through the real CLI: the tables, JSON, and bad input (exit 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from e2e_support import Reef, assert_json_error, assert_usage_error


def _record(prefix: str, p90: float, acc: float | None, backend: str = "onnxruntime") -> Any:
    from reef.meta.run import Accuracy, Latency, Performance, PredictorInfo, RunRecord, Target
    from reef.meta.settings import BenchSettings

    return RunRecord(
        id=(prefix + "0" * 32)[:32],
        created_at=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(minutes=p90),
        status="valid",
        target=Target(kind="onnx", name="tiny", version="1.0", path="/m.onnx", sha256="cd" * 32),
        settings=BenchSettings(),
        predictor=PredictorInfo(name=backend, version="1"),
        performance=Performance(
            latency_ms=Latency(
                min=p90 / 2, mean=p90, p50=p90, p90=p90, p95=p90, p99=p90, max=p90 * 2
            ),
            throughput_qps=1000 / p90,
            samples=10,
            queries=10,
        ),
        accuracy=None if acc is None else Accuracy(metric="top1", value=acc),
    )


@pytest.fixture
def seeded(reef: Reef) -> Reef:
    from reef.results import Store

    reef.home.mkdir(parents=True, exist_ok=True)
    with Store(f"sqlite:///{reef.home / 'reef.db'}") as store:
        store.add_many(
            [
                _record("aaaa", 1.0, 0.6),
                _record("bbbb", 2.0, 0.8),
                _record("cccc", 3.0, 0.7),  # dominated by bbbb
                _record("dddd", 0.5, None, "tflite"),  # no accuracy: left out
            ]
        )
    return reef


def test_pareto_prints_the_frontier_and_the_dominated(seeded: Reef) -> None:
    result = seeded.ok("pareto", "--objective", "latency_p90:min", "--objective", "accuracy:max")
    out = result.stdout
    assert "Pareto frontier: 2 of 3 runs" in out
    assert out.index("aaaa00000000") < out.index("bbbb00000000") < out.index("Dominated")
    (row,) = [line for line in out.splitlines() if "cccc00000000" in line]
    assert "bbbb00000000" in row
    assert "1 selected run left out" in result.stderr


def test_pareto_json(seeded: Reef) -> None:
    data = seeded.ok("pareto", "-o", "latency_p90:min", "-o", "accuracy:max", "--json").json()
    assert [r["id"][:4] for r in data["frontier"]] == ["aaaa", "bbbb"]
    assert data["dominated"][0]["dominated_by"] == ["bbbb" + "0" * 28]
    assert data["missing"] == {"accuracy": 1} and data["selected"] == 4


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["-o", "latency_p90:min"], ["give 2 or 3 objectives"]),
        (["-o", "speed:min", "-o", "accuracy:max"], ["unknown metric 'speed'", "latency_p90"]),
        (["-o", "latency_p90:min", "-o", "accuracy:up"], ["unknown direction"]),
        (
            ["-o", "latency_p90:min", "-o", "accuracy:max", "--backend", "tensorrt"],
            ["no runs match", "--backend tensorrt"],
        ),
        (["-o", "latency_p90:min", "-o", "accuracy:max", "--status", "nope"], ["--status"]),
    ],
)
def test_pareto_bad_input_exits_2(seeded: Reef, args: list[str], fragments: list[str]) -> None:
    assert_usage_error(seeded("pareto", *args), *fragments)


def test_pareto_metric_the_runs_lack_lists_theirs_in_json(seeded: Reef) -> None:
    result = seeded(
        "pareto", "-o", "latency_p90:min", "-o", "accuracy:max", "--json", "--backend", "tflite"
    )
    assert result.rc == 2
    data = assert_json_error(result, "none of the 1 selected runs has accuracy")
    assert "latency_p90" in (data.get("hint") or "")
