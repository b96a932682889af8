"""LoadGen's expectations, derived from what the warm-up measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from reef.bench import calibrate
from reef.bench.calibrate import (
    MARGIN,
    MAX_GENERATED_QUERIES,
    MIN_QUERIES,
    SERVER_LOAD,
    expectations,
    warm_up,
)
from reef.bench.samples import SampleSet
from reef.meta.run import Calibration
from reef.meta.settings import BenchSettings


def cal(p50_ms: float = 1.0, qps: float = 1000.0, p99_ms: float | None = None) -> Calibration:
    derived = {"latency_p99_ms": p99_ms} if p99_ms is not None else {}
    return Calibration(
        warmup_queries=50, latency_p50_ms=p50_ms, throughput_qps=qps, derived=derived
    )


# --- per scenario --------------------------------------------------------------------------


def test_single_stream() -> None:
    exp = expectations(BenchSettings(scenario="SingleStream", duration_s=2), cal(p50_ms=1.0))
    assert exp.min_duration_ms == 2000
    assert exp.min_query_count == MIN_QUERIES["SingleStream"]
    # expecting a little better than measured makes LoadGen generate more than enough
    assert exp.values == {"single_stream_expected_latency_ns": pytest.approx(1e6 / MARGIN)}
    assert exp.notes == []


def test_multi_stream() -> None:
    settings = BenchSettings(scenario="MultiStream", duration_s=1, samples_per_query=8)
    exp = expectations(settings, cal(qps=4000.0))
    per_query_ns = 8 * 1e9 / 4000.0
    assert exp.values["multi_stream_expected_latency_ns"] == pytest.approx(per_query_ns / MARGIN)
    assert exp.values["multi_stream_samples_per_query"] == 8
    assert exp.min_query_count == MIN_QUERIES["MultiStream"]


def test_offline() -> None:
    exp = expectations(BenchSettings(scenario="Offline", duration_s=1), cal(qps=5000.0))
    assert exp.values == {"offline_expected_qps": pytest.approx(5000.0 * MARGIN)}
    assert exp.min_query_count == MIN_QUERIES["Offline"]


def test_offline_after_a_pilot_is_sized_from_it_with_the_smaller_margin() -> None:
    measured = cal(qps=128.0)
    measured.derived.update(pilot_qps=350.0, pilot_min_duration_ms=20_000)
    exp = expectations(BenchSettings(scenario="Offline", duration_s=600), measured)
    assert exp.values == {"offline_expected_qps": pytest.approx(350.0 * calibrate.PILOT_MARGIN)}
    assert exp.notes == [
        "target QPS 402.5 from a 20 s LoadGen run's 350 samples/s (x 1.15); "
        "the warm-up measured 128/s"
    ]
    # A retry after running out of samples still asks for more.
    again = expectations(BenchSettings(scenario="Offline", duration_s=600), measured, scale=4.0)
    assert again.values["offline_expected_qps"] == pytest.approx(350.0 * 1.15 * 4.0)
    # The figure of a run that ended early comes before the pilot's.
    measured.derived.update(retry_qps=500.0, retry_sized_from_ms=480_000)
    retry = expectations(BenchSettings(scenario="Offline", duration_s=600), measured)
    assert retry.values["offline_expected_qps"] == pytest.approx(500.0 * 1.15)
    assert retry.notes[0].startswith("target QPS 575 from a 480 s LoadGen run's 500 samples/s")


def _settled(tmp_path: Path, **options: Any) -> tuple[BenchSettings, calibrate.Expectations]:
    from reef.bench import loadgen

    settings = BenchSettings(**options)
    exp = expectations(settings, cal(qps=500.0))
    loadgen.settle(settings, exp)
    return settings, exp


def test_a_pilot_runs_for_long_offline_runs_only(tmp_path: Path) -> None:
    pilot = calibrate.pilot_ms
    assert pilot(*_settled(tmp_path, scenario="Offline", duration_s=600)) == 20_000
    assert pilot(*_settled(tmp_path, scenario="Offline", duration_s=60)) == 5_000  # its floor
    assert pilot(*_settled(tmp_path, scenario="Offline", duration_s=3600)) == 30_000  # its cap
    assert pilot(*_settled(tmp_path, scenario="Offline", duration_s=59)) is None
    assert pilot(*_settled(tmp_path, scenario="Offline", compliant=True)) == 20_000  # 600 s
    for scenario in ("SingleStream", "MultiStream", "Server"):
        assert pilot(*_settled(tmp_path, scenario=scenario, duration_s=600)) is None
    # A user.conf's expected QPS is the user's: no pilot to replace it.
    conf = tmp_path / "user.conf"
    conf.write_text("*.Offline.target_qps = 100\n")
    settings, exp = _settled(tmp_path, scenario="Offline", duration_s=600, user_conf=str(conf))
    assert pilot(settings, exp) is None


def test_server_defaults_are_calibrated_and_say_so() -> None:
    exp = expectations(BenchSettings(scenario="Server", duration_s=1), cal(qps=2000.0, p99_ms=0.5))
    assert exp.values["server_target_qps"] == pytest.approx(SERVER_LOAD * 2000.0)
    # the bound is 10x the warm-up's p99, here 5 ms
    assert exp.values["server_target_latency_ns"] == pytest.approx(5e6)
    assert exp.min_query_count == MIN_QUERIES["Server"]
    assert len(exp.notes) == 2
    assert any("latency bound" in n and "--latency-bound-ms" in n for n in exp.notes)
    assert any("target QPS" in n and "--target-qps" in n for n in exp.notes)


def test_server_latency_bound_has_a_floor() -> None:
    exp = expectations(BenchSettings(scenario="Server"), cal(qps=2000.0, p99_ms=0.01))
    assert exp.values["server_target_latency_ns"] == calibrate.SERVER_MIN_BOUND_NS


def test_server_user_values_are_respected() -> None:
    settings = BenchSettings(
        scenario="Server", duration_s=1, target_qps=123.0, latency_bound_ms=7.5
    )
    exp = expectations(settings, cal(qps=99999.0, p99_ms=50.0))
    assert exp.values["server_target_qps"] == 123.0
    assert exp.values["server_target_latency_ns"] == pytest.approx(7.5e6)
    assert exp.notes == []


def test_server_user_target_qps_with_calibrated_bound() -> None:
    settings = BenchSettings(scenario="Server", target_qps=50.0)
    exp = expectations(settings, cal(qps=1000.0, p99_ms=1.0))
    assert exp.values["server_target_qps"] == 50.0
    assert len(exp.notes) == 1 and "latency bound" in exp.notes[0]


def test_user_query_count_is_used() -> None:
    exp = expectations(BenchSettings(scenario="SingleStream", queries=1000), cal())
    assert exp.min_query_count == 1000


def test_retry_scale_expects_more() -> None:
    settings = BenchSettings(scenario="SingleStream")
    first = expectations(settings, cal(p50_ms=1.0))
    retry = expectations(settings, cal(p50_ms=1.0), scale=4.0)
    assert retry.values["single_stream_expected_latency_ns"] == pytest.approx(
        first.values["single_stream_expected_latency_ns"] / 4
    )
    offline = BenchSettings(scenario="Offline")
    assert expectations(offline, cal(qps=10.0), scale=4.0).values[
        "offline_expected_qps"
    ] == pytest.approx(4 * expectations(offline, cal(qps=10.0)).values["offline_expected_qps"])


# --- the query cap -------------------------------------------------------------------------


def test_query_cap_shortens_the_duration_with_a_note() -> None:
    # 1 µs per query and an hour: billions of pre-generated queries without the cap
    settings = BenchSettings(scenario="SingleStream", duration_s=3600)
    exp = expectations(settings, cal(p50_ms=0.001))
    expected_ns = exp.values["single_stream_expected_latency_ns"]
    assert exp.min_duration_ms < 3_600_000
    planned = (1e9 / expected_ns) * exp.min_duration_ms / 1000
    assert planned <= MAX_GENERATED_QUERIES
    assert planned > MAX_GENERATED_QUERIES * 0.99
    (note,) = exp.notes
    assert "minimum duration shortened from 3600 s" in note


@pytest.mark.parametrize("scenario", ["Offline", "Server", "MultiStream"])
def test_query_cap_applies_to_every_scenario(scenario: str) -> None:
    settings = BenchSettings(scenario=scenario, duration_s=3600)  # type: ignore[arg-type]
    exp = expectations(settings, cal(p50_ms=0.001, qps=1e7, p99_ms=0.002))
    assert exp.min_duration_ms < 3_600_000
    assert any("shortened" in n for n in exp.notes)


def test_slow_model_keeps_the_duration() -> None:
    exp = expectations(BenchSettings(scenario="Offline", duration_s=60), cal(qps=100.0))
    assert exp.min_duration_ms == 60_000
    assert exp.notes == []


def test_query_count_is_capped() -> None:
    exp = expectations(BenchSettings(scenario="Offline", queries=10**9), cal())
    assert exp.min_query_count == MAX_GENERATED_QUERIES


# --- the warm-up ---------------------------------------------------------------------------


def samples(count: int = 4, fixed_batch: int | None = None) -> SampleSet:
    x = np.arange(count * 3, dtype=np.float32).reshape(count, 3)
    return SampleSet({"x": x}, None, count, True, fixed_batch, 0.0)


def test_warm_up_measures_latency_and_throughput() -> None:
    calls: list[tuple[int, ...]] = []

    def predict(feed: dict[str, Any]) -> list[Any]:
        calls.append(feed["x"].shape)
        return [feed["x"]]

    result = warm_up(predict, samples(), BenchSettings(warmup_queries=20))
    assert result.warmup_queries == 20
    assert len(calls) == 20
    assert all(shape == (1, 3) for shape in calls)
    assert result.latency_p50_ms is not None and result.latency_p50_ms > 0
    assert result.throughput_qps == pytest.approx(1e3 / result.latency_p50_ms)
    assert result.derived["batch"] == 1
    assert result.derived["latency_p99_ms"] >= result.latency_p50_ms


def test_warm_up_runs_exactly_the_queries_asked_for() -> None:
    calls = 0

    def predict(feed: dict[str, Any]) -> list[Any]:
        nonlocal calls
        calls += 1
        return [feed["x"]]

    result = warm_up(predict, samples(), BenchSettings(warmup_queries=3))
    assert result.warmup_queries == calls == 3


def test_zero_warm_up_queries_is_refused() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        BenchSettings(warmup_queries=0)


def test_warm_up_measures_batches_for_offline() -> None:
    shapes: set[tuple[int, ...]] = set()

    def predict(feed: dict[str, Any]) -> list[Any]:
        shapes.add(feed["x"].shape)
        return [feed["x"]]

    settings = BenchSettings(scenario="Offline", batch_size=4, warmup_queries=8)
    result = warm_up(predict, samples(count=6), settings)
    assert (4, 3) in shapes
    assert result.derived["batch"] == 4
    assert result.throughput_qps is not None and result.throughput_qps > 0


def test_warm_up_feeds_a_fixed_batch_model_full_batches() -> None:
    # A model whose batch dimension is fixed at 2 cannot run a batch of 1.
    def predict(feed: dict[str, Any]) -> list[Any]:
        if feed["x"].shape[0] != 2:
            raise ValueError(f"batch must be 2, got {feed['x'].shape[0]}")
        return [feed["x"]]

    result = warm_up(predict, samples(fixed_batch=2), BenchSettings(warmup_queries=10))
    assert result.latency_p50_ms is not None and result.latency_p50_ms > 0
