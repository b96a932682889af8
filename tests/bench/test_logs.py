"""Reading LoadGen's logs, checked against real ``mlperf_log_detail.txt`` files.

The fixtures under ``fixtures/<name>/`` were written by MLPerf LoadGen itself (see
``fixtures/generate.py``); the expected values below are read from the same files with a plain
JSON parser, so the tests hold whatever figures LoadGen happened to measure.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from reef.bench import logs
from reef.meta.run import Performance

FIXTURES = Path(__file__).parent / "fixtures"
SCENARIOS = ["SingleStream", "MultiStream", "Server", "Offline"]


def detail_path(name: str) -> Path:
    return FIXTURES / name / "mlperf_log_detail.txt"


def raw(name: str) -> dict[str, Any]:
    """key -> value of every line, with a strict JSON parser (the fixtures hold no nan)."""
    values = {}
    for line in detail_path(name).read_text(encoding="utf-8").splitlines():
        if line.startswith(":::MLLOG"):
            entry = json.loads(line.removeprefix(":::MLLOG"))
            values[entry["key"]] = entry["value"]
    return values


def mllog(key: str, value: str, *, error: bool = False, warning: bool = False) -> str:
    meta = json.dumps({"is_error": error, "is_warning": warning, "file": "t.cc", "line_no": 1})
    return (
        f'{":::MLLOG"} {{"key": "{key}", "value": {value}, "time_ms": 1.0, '
        f'"namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": {meta}}}'
    )


# --- read_detail ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*SCENARIOS, "Server-invalid", "SingleStream-invalid"])
def test_read_detail_keeps_every_value(name: str) -> None:
    detail = logs.read_detail(detail_path(name))
    expected = raw(name)
    assert detail.values == expected
    assert detail.values["effective_scenario"] == name.split("-")[0]


def test_read_detail_sorts_errors_and_warnings() -> None:
    detail = logs.read_detail(detail_path("SingleStream-invalid"))
    assert len(detail.errors) == 1
    assert detail.errors[0].startswith("error_runtime: Ending early: Ran out of generated queries")
    assert all(w.startswith("warning_") for w in detail.warnings)
    valid = logs.read_detail(detail_path("SingleStream"))
    assert valid.errors == []


def test_lenient_parsing_of_nan_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_detail.txt"
    lines = [
        "some banner LoadGen printed",
        mllog("result_validity", '"VALID"'),
        ":::MLLOG {this is not json",
        mllog("result_mean_latency_ns", "-nan"),
        mllog("result_min_latency_ns", "nan"),
        mllog("result_max_latency_ns", "-NaN"),
        mllog("result_note", '"nan is a word in this string"'),
        ":::MLLOG",
        ':::MLLOG {"no_key": 1}',
        "",
        mllog("result_query_count", "12"),
        mllog("error_invalid_config", '"bad"', error=True),
        mllog("warning_generic_message", '"careful"', warning=True),
        ":::MLLOG " + '{"key": "truncated", "value": ',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    detail = logs.read_detail(path)
    assert detail.values["result_validity"] == "VALID"
    assert detail.values["result_query_count"] == 12
    assert math.isnan(detail.values["result_mean_latency_ns"])
    assert math.isnan(detail.values["result_min_latency_ns"])
    assert math.isnan(detail.values["result_max_latency_ns"])
    assert detail.values["result_note"] == "nan is a word in this string"
    assert "truncated" not in detail.values
    assert detail.errors == ["error_invalid_config: bad"]
    assert detail.warnings == ["warning_generic_message: careful"]


def test_nan_in_a_real_log_line(tmp_path: Path) -> None:
    # Take a real LoadGen line and give it the value LoadGen writes for an empty run.
    text = detail_path("Server").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if '"key": "result_mean_latency_ns"' in ln)
    entry = json.loads(line.removeprefix(":::MLLOG"))
    broken = line.replace(f'"value": {entry["value"]},', '"value": -nan,')
    assert broken != line
    path = tmp_path / "mlperf_log_detail.txt"
    path.write_text(text.replace(line, broken), encoding="utf-8")
    detail = logs.read_detail(path)
    assert math.isnan(detail.values["result_mean_latency_ns"])
    assert detail.values["result_validity"] == "VALID"


def test_non_utf8_bytes_do_not_stop_reading(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_detail.txt"
    path.write_bytes(b"\xff\xfe garbage\n" + mllog("result_validity", '"INVALID"').encode() + b"\n")
    assert logs.read_detail(path).values == {"result_validity": "INVALID"}


# --- verdict -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_valid_runs_have_no_reasons(name: str) -> None:
    assert logs.verdict(logs.read_detail(detail_path(name))) == ("VALID", [])


def test_invalid_server_run_says_why() -> None:
    result, reasons = logs.verdict(logs.read_detail(detail_path("Server-invalid")))
    assert result == "INVALID"
    assert "latency constraint not met" in reasons
    assert "early stopping criteria not met" in reasons
    assert "minimum duration not met" not in reasons
    assert "LoadGen recommends: Reduce target QPS to improve latency." in reasons


def test_run_that_ran_out_of_queries_says_why() -> None:
    result, reasons = logs.verdict(logs.read_detail(detail_path("SingleStream-invalid")))
    assert result == "INVALID"
    assert "minimum duration not met" in reasons
    assert any(r.startswith("LoadGen recommends: Decrease the expected latency") for r in reasons)
    assert any(r.startswith("error_runtime: Ending early") for r in reasons)


def test_verdict_of_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_detail.txt"
    path.write_text("")
    assert logs.verdict(logs.read_detail(path)) == (None, [])


# --- performance ---------------------------------------------------------------------------


def check_latency(perf: Performance, values: dict[str, Any]) -> None:
    lat = perf.latency_ms
    assert lat.min == pytest.approx(values["result_min_latency_ns"] / 1e6)
    assert lat.mean == pytest.approx(values["result_mean_latency_ns"] / 1e6)
    assert lat.max == pytest.approx(values["result_max_latency_ns"] / 1e6)
    assert lat.p50 == pytest.approx(values["result_50.00_percentile_latency_ns"] / 1e6)
    assert lat.p90 == pytest.approx(values["result_90.00_percentile_latency_ns"] / 1e6)
    assert lat.p95 == pytest.approx(values["result_95.00_percentile_latency_ns"] / 1e6)
    assert lat.p99 == pytest.approx(values["result_99.00_percentile_latency_ns"] / 1e6)
    assert lat.min <= lat.p50 <= lat.p90 <= lat.p95 <= lat.p99 <= lat.max


def test_performance_single_stream() -> None:
    values = raw("SingleStream")
    perf = logs.performance(logs.read_detail(detail_path("SingleStream")), "SingleStream")
    assert perf is not None
    check_latency(perf, values)
    assert perf.queries == values["result_query_count"]
    assert perf.samples == perf.queries
    assert perf.throughput_qps == pytest.approx(values["result_qps_with_loadgen_overhead"])
    assert perf.duration_s == pytest.approx(perf.samples / perf.throughput_qps)
    assert any("90.0th percentile" in line for line in perf.early_stopping)
    assert all(not s.startswith("*") and s == s.strip() for s in perf.early_stopping)


def test_performance_multi_stream() -> None:
    values = raw("MultiStream")
    perf = logs.performance(logs.read_detail(detail_path("MultiStream")), "MultiStream")
    assert perf is not None
    check_latency(perf, values)
    per_query = values["effective_samples_per_query"]
    assert per_query == 8
    assert perf.queries == values["result_query_count"]
    assert perf.samples == perf.queries * per_query
    # samples per second: 8 samples every mean query latency
    assert perf.throughput_qps == pytest.approx(
        per_query / (values["result_mean_latency_ns"] / 1e9)
    )
    assert any("99.0th percentile" in line for line in perf.early_stopping)


def test_performance_server() -> None:
    values = raw("Server")
    perf = logs.performance(logs.read_detail(detail_path("Server")), "Server")
    assert perf is not None
    check_latency(perf, values)
    assert perf.queries == perf.samples == values["result_query_count"]
    assert perf.throughput_qps == pytest.approx(values["result_completed_samples_per_sec"])
    assert perf.early_stopping == ["Run successful."]


def test_performance_offline() -> None:
    values = raw("Offline")
    perf = logs.performance(logs.read_detail(detail_path("Offline")), "Offline")
    assert perf is not None
    check_latency(perf, values)
    assert perf.queries == values["result_query_count"] == 1
    assert perf.samples == values["generated_samples_per_query"]
    assert perf.throughput_qps == pytest.approx(values["result_samples_per_second"])
    assert perf.duration_s == pytest.approx(perf.samples / perf.throughput_qps)
    assert perf.early_stopping == []


def test_performance_is_none_without_results(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_detail.txt"
    path.write_text(mllog("result_validity", '"INVALID"') + "\n")
    assert logs.performance(logs.read_detail(path), "SingleStream") is None


# --- effective settings --------------------------------------------------------------------


def test_effective_settings_server() -> None:
    values = raw("Server")
    effective = logs.effective_settings(logs.read_detail(detail_path("Server")))
    assert effective["scenario"] == "Server"
    assert effective["target_qps"] == values["effective_target_qps"] == 2000
    assert effective["target_latency_ns"] == 50_000_000
    assert effective["min_duration_ms"] == 300
    assert effective["min_query_count"] == 270
    assert not any(k.startswith("effective_") for k in effective)
    assert "loaded_qsl_set" not in effective
    assert set(effective) == {
        k.removeprefix("effective_") for k in values if k.startswith("effective_")
    }


def test_effective_settings_leave_out_the_loaded_sample_set(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_detail.txt"
    path.write_text(
        "\n".join(
            [
                mllog("effective_loaded_qsl_set", "[0, 1, 2, 3]"),
                mllog("effective_samples_per_query", "8"),
                mllog("result_validity", '"VALID"'),
            ]
        )
    )
    assert logs.effective_settings(logs.read_detail(path)) == {"samples_per_query": 8}


@pytest.mark.parametrize("name", SCENARIOS)
def test_effective_scenario_matches(name: str) -> None:
    assert logs.effective_settings(logs.read_detail(detail_path(name)))["scenario"] == name


# --- the accuracy log ----------------------------------------------------------------------


def test_read_accuracy_log(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_accuracy.json"
    path.write_text(
        json.dumps(
            [
                {"seq_id": 0, "qsl_idx": 7, "data": "0a0b"},
                {"seq_id": 1, "qsl_idx": 2, "data": ""},
            ]
        )
    )
    assert logs.read_accuracy_log(path) == [(7, b"\x0a\x0b"), (2, b"")]


def test_read_empty_accuracy_log(tmp_path: Path) -> None:
    path = tmp_path / "mlperf_log_accuracy.json"
    path.write_text("")
    assert logs.read_accuracy_log(path) == []
