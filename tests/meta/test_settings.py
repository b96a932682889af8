"""Benchmark settings refuse nonsense before anything runs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reef import api
from reef.errors import SettingsError
from reef.meta.settings import SCENARIOS, BenchSettings


def error_fields(**values: Any) -> list[tuple[str, ...]]:
    with pytest.raises(ValidationError) as info:
        BenchSettings(**values)
    return [tuple(str(p) for p in e["loc"]) for e in info.value.errors()]


def test_defaults_are_valid() -> None:
    settings = BenchSettings()
    assert settings.scenario == "SingleStream"
    assert settings.mode == "both"
    # None: Reef's short default run, or the MLPerf configs' under --compliant or a user.conf.
    assert settings.duration_s is None and settings.seed is None
    assert settings.user_conf is None and settings.compliant is False


@pytest.mark.parametrize("duration", [0, -1, -0.5])
def test_duration_must_be_positive(duration: float) -> None:
    assert error_fields(duration_s=duration) == [("duration_s",)]


def test_tiny_durations_are_allowed() -> None:
    assert BenchSettings(duration_s=0.2).duration_s == 0.2


@pytest.mark.parametrize("qps", [0, -10])
def test_target_qps_must_be_positive(qps: float) -> None:
    assert error_fields(scenario="Server", target_qps=qps) == [("target_qps",)]


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "Server"])
def test_target_qps_is_for_server_only(scenario: str) -> None:
    with pytest.raises(ValidationError) as info:
        BenchSettings(scenario=scenario, target_qps=100)  # type: ignore[arg-type]
    assert "applies to the Server scenario only" in str(info.value)
    assert info.value.errors()[0]["loc"] == ("target_qps",)


def test_target_qps_on_server() -> None:
    assert BenchSettings(scenario="Server", target_qps=100).target_qps == 100


@pytest.mark.parametrize(
    "values",
    [
        {"latency_bound_ms": 0},
        {"samples_per_query": 0},
        {"batch_size": 0},
        {"threads": 0},
        {"warmup_queries": -1},
        {"sample_count": 0},
        {"queries": 0},
        {"seed": -1},
        {"scenario": "Streaming"},
        {"mode": "fast"},
    ],
)
def test_other_nonsense_is_refused(values: dict[str, Any]) -> None:
    assert error_fields(**values) == [(next(iter(values)),)]


def test_unknown_setting_is_refused() -> None:
    assert error_fields(durration_s=1) == [("durration_s",)]


def test_api_reports_the_option_name() -> None:
    with pytest.raises(SettingsError) as info:
        api.bench_settings(["SingleStream"], duration_s=-1)
    assert info.value.message.startswith("--duration: ")
    assert "-1" in info.value.message


def test_api_refuses_target_qps_for_a_single_non_server_scenario() -> None:
    with pytest.raises(SettingsError) as info:
        api.bench_settings(["Offline"], target_qps=10)
    assert "--target-qps" in info.value.message


def test_api_unknown_scenario() -> None:
    with pytest.raises(SettingsError) as info:
        api.bench_settings(["Batch"])
    assert info.value.hint is not None and "Offline" in info.value.hint


def test_api_scenario_names_are_case_insensitive() -> None:
    (settings,) = api.bench_settings(["offline"], duration_s=0.2)
    assert settings.scenario == "Offline"
