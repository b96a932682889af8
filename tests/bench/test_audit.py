"""MLPerf compliance audits (reef.bench.audit): the configs Reef writes for LoadGen, and the
verifications against the reference runs, passing and failing."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlperf_loadgen as lg
import pytest

from reef.bench import audit
from reef.bench.logs import Detail
from reef.bench.settings import bench_settings
from reef.errors import SettingsError
from reef.meta.model import ModelManifest


def _detail(path: Path, **values: Any) -> Path:
    """A LoadGen detail log holding ``values`` (and a VALID result unless told)."""
    values.setdefault("result_validity", "VALID")
    lines = [
        ":::MLLOG " + json.dumps({"key": k, "value": v, "time_ms": 0.0, "metadata": {}})
        for k, v in values.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _accuracy_log(path: Path, entries: list[tuple[int, bytes]]) -> Path:
    data = [
        {"seq_id": i, "qsl_idx": idx, "data": raw.hex()} for i, (idx, raw) in enumerate(entries)
    ]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _config(text: str) -> dict[str, str]:
    pairs = [line.split("=") for line in text.splitlines() if line and not line.startswith("#")]
    return {k.strip(): v.strip() for k, v in pairs}


# --- configs ---------------------------------------------------------------------------------


def test_test01_config_samples_a_fraction_with_mlperfs_seed() -> None:
    text = audit.config_text("TEST01", "Offline", expected=5000, sample_count=450)
    assert _config(text) == {
        "*.Offline.mode": "2",
        "*.Offline.accuracy_log_rng_seed": "720381539243781796",
        "*.Offline.accuracy_log_sampling_target": "500",
    }


def test_test01_sampling_target_has_a_floor() -> None:
    assert audit.sampling_target(20)[0] == audit.MIN_SAMPLING_TARGET
    assert audit.sampling_target(100_000)[0] == 10_000


def test_test01_uses_mlcommons_target_for_an_mlperf_benchmark() -> None:
    # MLCommons' compliance/TEST01/<benchmark>/audit.config values, whatever the run's length.
    for model, target in (("resnet50", 4096), ("retinanet", 256), ("3d-unet", 64)):
        text = audit.config_text("TEST01", "Server", expected=5000, sample_count=450, model=model)
        assert _config(text)["*.Server.accuracy_log_sampling_target"] == str(target)
        assert f"MLCommons' TEST01 value for {model}" in text
    # A model MLPerf does not know keeps Reef's fraction, and the config says why.
    text = audit.config_text("TEST01", "Offline", expected=5000, sample_count=450, model="mine")
    assert _config(text)["*.Offline.accuracy_log_sampling_target"] == "500"
    assert "mine has no MLCommons TEST01 value" in text


def test_test04_config_issues_one_sample() -> None:
    text = audit.config_text("TEST04", "SingleStream", expected=900, sample_count=450)
    assert _config(text) == {
        "*.SingleStream.mode": "2",
        "*.SingleStream.performance_issue_unique": "0",
        "*.SingleStream.performance_issue_same": "1",
        "*.SingleStream.performance_issue_same_index": "3",
    }
    # Fewer samples loaded than MLPerf's index: the last one.
    small = audit.config_text("TEST04", "Offline", expected=10, sample_count=2)
    assert _config(small)["*.Offline.performance_issue_same_index"] == "1"


def test_no_config_for_test06() -> None:
    with pytest.raises(ValueError, match="TEST06"):
        audit.config_text("TEST06", "Offline", expected=10, sample_count=10)


def test_loadgen_reads_the_config(tmp_path: Path) -> None:
    """LoadGen's own parser takes the file and sets what it says (its audit path reads it
    with model '*' and the scenario, as FromConfig is called here)."""
    path = tmp_path / "audit.config"
    path.write_text(audit.config_text("TEST04", "Offline", expected=10, sample_count=50))
    ts = lg.TestSettings()
    ts.scenario = lg.TestScenario.Offline
    assert ts.FromConfig(str(path), "*", "Offline", 2) == 0
    assert ts.performance_issue_same and not ts.performance_issue_unique
    assert ts.performance_issue_same_index == 3
    path.write_text(audit.config_text("TEST01", "Offline", expected=1000, sample_count=50))
    assert ts.FromConfig(str(path), "*", "Offline", 2) == 0
    assert ts.accuracy_log_sampling_target == 100
    assert ts.accuracy_log_rng_seed == audit.TEST01_LOG_SEED
    # The comment saying where an official target comes from is skipped as one.
    path.write_text(
        audit.config_text("TEST01", "Offline", expected=1000, sample_count=50, model="resnet50")
    )
    assert ts.FromConfig(str(path), "*", "Offline", 2) == 0
    assert ts.accuracy_log_sampling_target == 4096


@pytest.mark.parametrize(
    ("scenario", "values", "expected"),
    [
        ("Offline", {"offline_expected_qps": 1000.0}, 2000),
        ("SingleStream", {"single_stream_expected_latency_ns": 1_000_000}, 2000),
        ("Server", {"server_target_qps": 50.0}, 100),
        (
            "MultiStream",
            {"multi_stream_expected_latency_ns": 10_000_000, "multi_stream_samples_per_query": 8},
            1600,
        ),
    ],
)
def test_expected_samples_from_the_rate_and_duration(
    scenario: str, values: dict[str, float], expected: int
) -> None:
    ts = SimpleNamespace(min_duration_ms=2000, min_query_count=1, **values)
    assert audit.expected_samples(ts, scenario) == expected


def test_expected_samples_at_least_the_minimum_queries() -> None:
    ts = SimpleNamespace(min_duration_ms=100, min_query_count=500, offline_expected_qps=10.0)
    assert audit.expected_samples(ts, "Offline") == 500


# --- TEST01 accuracy -------------------------------------------------------------------------


def test_accuracy_passes_when_each_logged_answer_equals_the_reference(tmp_path: Path) -> None:
    ref = _accuracy_log(tmp_path / "ref.json", [(i, bytes([i, 1, 2])) for i in range(10)])
    logged = _accuracy_log(tmp_path / "audit.json", [(3, bytes([3, 1, 2])), (7, bytes([7, 1, 2]))])
    verdict = audit.verify_accuracy(ref, logged)
    assert verdict.check.passed, verdict.check.detail
    assert verdict.check.detail == "2 answers logged in performance mode equal the accuracy run's"
    lines = verdict.text().splitlines()
    assert lines[-1] == "TEST PASS"
    assert "audit entries equal to the reference = 2" in lines


def test_accuracy_fails_on_a_mismatching_answer(tmp_path: Path) -> None:
    ref = _accuracy_log(tmp_path / "ref.json", [(i, bytes([i, 1, 2])) for i in range(10)])
    logged = _accuracy_log(tmp_path / "audit.json", [(3, bytes([3, 1, 2])), (7, bytes([7, 9, 2]))])
    verdict = audit.verify_accuracy(ref, logged)
    assert not verdict.check.passed
    assert "1 of 2 answers logged in performance mode differ" in verdict.check.detail
    assert "(samples 7)" in verdict.check.detail
    text = verdict.text()
    assert "TEST PASS" not in text
    assert text.splitlines()[-1].startswith("TEST FAIL: 1 of 2 answers")


def test_accuracy_fails_for_a_sample_the_reference_lacks(tmp_path: Path) -> None:
    ref = _accuracy_log(tmp_path / "ref.json", [(0, b"\x01")])
    logged = _accuracy_log(tmp_path / "audit.json", [(0, b"\x01"), (5, b"\x01")])
    verdict = audit.verify_accuracy(ref, logged)
    assert not verdict.check.passed
    assert "samples the accuracy run did not log (samples 5)" in verdict.check.detail


def test_accuracy_fails_when_nothing_was_logged(tmp_path: Path) -> None:
    ref = _accuracy_log(tmp_path / "ref.json", [(0, b"\x01")])
    logged = _accuracy_log(tmp_path / "audit.json", [])
    verdict = audit.verify_accuracy(ref, logged)
    assert not verdict.check.passed
    assert verdict.check.detail == "the audit run logged no answers: nothing to compare"


# --- performance -----------------------------------------------------------------------------


def _pair(tmp_path: Path, scenario: str, key: str, ref: float, test: float, **extra: Any) -> Any:
    return (
        _detail(tmp_path / "ref.txt", effective_scenario=scenario, **{key: ref}, **extra),
        _detail(tmp_path / "audit.txt", effective_scenario=scenario, **{key: test}, **extra),
    )


@pytest.mark.parametrize(("test_value", "passed"), [(950.0, True), (1090.0, True), (880.0, False)])
def test_test01_performance_within_ten_percent_either_way(
    tmp_path: Path, test_value: float, passed: bool
) -> None:
    ref, test = _pair(tmp_path, "Offline", "result_samples_per_second", 1000.0, test_value)
    verdict = audit.verify_performance("TEST01", ref, test)
    assert verdict.check.passed is passed, verdict.check.detail
    assert ("TEST PASS" in verdict.text().splitlines()) is passed
    if not passed:
        assert "-12.0% from the reference's 1000, outside the 10% allowed" in verdict.check.detail
    too_fast = _pair(tmp_path, "Offline", "result_samples_per_second", 1000.0, 1200.0)
    assert not audit.verify_performance("TEST01", *too_fast).check.passed


def test_test01_single_stream_short_latencies_get_twenty_percent(tmp_path: Path) -> None:
    # 0.15 ms: at most 0.2 ms, so 20%; 17% slower passes.
    short = _pair(tmp_path, "SingleStream", "early_stopping_latency_ss", 150_000, 175_000)
    assert audit.verify_performance("TEST01", *short).check.passed
    # 1 ms: 10%; 17% slower fails.
    long = _pair(tmp_path, "SingleStream", "early_stopping_latency_ss", 1_000_000, 1_170_000)
    verdict = audit.verify_performance("TEST01", *long)
    assert not verdict.check.passed
    assert "outside the 10% allowed" in verdict.check.detail


@pytest.mark.parametrize(("test_value", "passed"), [(500.0, True), (1080.0, True), (1150.0, False)])
def test_test04_same_sample_run_may_not_be_faster(
    tmp_path: Path, test_value: float, passed: bool
) -> None:
    ref, test = _pair(tmp_path, "Offline", "result_samples_per_second", 1000.0, test_value)
    verdict = audit.verify_performance("TEST04", ref, test)
    assert verdict.check.passed is passed, verdict.check.detail
    if not passed:
        assert "15.0% faster than the reference's 1000, over the 10% allowed" in (
            verdict.check.detail
        )
        assert verdict.text().splitlines()[-1].startswith("TEST FAIL:")


def test_test04_single_stream_compares_speed_from_the_latency(tmp_path: Path) -> None:
    # 1 ms vs 0.7 ms: 1000 vs 1429 queries per second, 43% faster: over 20%.
    ref, test = _pair(tmp_path, "SingleStream", "early_stopping_latency_ss", 1_000_000, 700_000)
    verdict = audit.verify_performance("TEST04", ref, test)
    assert not verdict.check.passed
    assert "42.9% faster" in verdict.check.detail and "over the 20% allowed" in verdict.check.detail
    slower = _pair(tmp_path, "SingleStream", "early_stopping_latency_ss", 1_000_000, 1_300_000)
    assert audit.verify_performance("TEST04", *slower).check.passed


def test_performance_fails_on_an_invalid_run(tmp_path: Path) -> None:
    ref = _detail(tmp_path / "ref.txt", effective_scenario="Offline", result_samples_per_second=1)
    test = _detail(
        tmp_path / "audit.txt",
        effective_scenario="Offline",
        result_samples_per_second=1,
        result_validity="INVALID",
    )
    verdict = audit.verify_performance("TEST04", ref, test)
    assert not verdict.check.passed
    assert verdict.check.detail == "the audit run's result is INVALID, not VALID"


def test_performance_fails_on_different_server_bounds(tmp_path: Path) -> None:
    key = "result_completed_samples_per_sec"
    ref = _detail(
        tmp_path / "r.txt", effective_scenario="Server", effective_target_latency_ns=10, **{key: 5}
    )
    test = _detail(
        tmp_path / "t.txt", effective_scenario="Server", effective_target_latency_ns=20, **{key: 5}
    )
    verdict = audit.verify_performance("TEST01", ref, test)
    assert not verdict.check.passed
    assert "latency bounds differ: 10 and 20 ns" in verdict.check.detail


def test_config_read_needs_loadgens_word_and_the_setting() -> None:
    found = ["warning_generic_message: Found Audit Config file (audit.config). Overriding"]
    ok = Detail(values={"effective_performance_issue_same": True}, warnings=found)
    assert audit.config_read("TEST04", ok).passed
    missing = Detail(values={"effective_performance_issue_same": False})
    check = audit.config_read("TEST04", missing)
    assert not check.passed and check.detail == "LoadGen did not find the audit config"
    unset = Detail(values={"effective_accuracy_log_sampling_target": 0}, warnings=found)
    assert "never sampled answers" in audit.config_read("TEST01", unset).detail


# --- which audits apply ----------------------------------------------------------------------


def _manifest(output_type: str = "probability") -> ModelManifest:
    return ModelManifest.model_validate(
        {
            "kind": "model",
            "name": "m",
            "version": "1.0.0",
            "framework": {"name": "onnxruntime"},
            "sources": [{"path": "m.onnx", "sha256": "0" * 64}],
            "inputs": [{"name": "x", "element_type": "float32", "shape": [-1, 4]}],
            "outputs": [{"name": "scores", "type": output_type}],
        }
    )


def test_test06_is_refused_without_token_outputs() -> None:
    [settings] = bench_settings(["Offline"], audits=["TEST06"])
    job = SimpleNamespace(settings=settings, manifest=_manifest())
    with pytest.raises(SettingsError) as caught:
        audit.check_applicable(job)  # type: ignore[arg-type]
    message = caught.value.message
    assert "--audit TEST06" in message and "applies only to a model with token outputs" in message
    assert "m's outputs are 'scores' (probability)" in message
    assert "Reef's model manifests have no token output type yet" in message
    bare = SimpleNamespace(settings=settings, manifest=None)
    with pytest.raises(SettingsError, match="a bare model file declares no outputs"):
        audit.check_applicable(bare)  # type: ignore[arg-type]


def test_other_audits_apply_to_any_model() -> None:
    [settings] = bench_settings(["Offline"], audits=["TEST01", "TEST04"])
    audit.check_applicable(SimpleNamespace(settings=settings, manifest=None))  # type: ignore[arg-type]


def test_token_outputs_come_from_the_schema() -> None:
    # No output type of Reef's holds tokens today; the check reads the schema's types.
    assert not audit.TOKEN_OUTPUT_TYPES
    assert audit.token_outputs(_manifest("classes")) == []


# --- settings --------------------------------------------------------------------------------


def test_audits_are_read_in_any_case_once_each() -> None:
    [settings] = bench_settings(["Offline"], audits=["test04", "TEST01", "TEST04"])
    assert settings.audits == ["TEST04", "TEST01"]


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"audits": ["TEST99"]}, "--audit: unknown compliance test 'TEST99': Reef knows TEST01"),
        ({"audits": ["TEST01"], "mode": "accuracy"}, "use --mode both"),
        ({"audits": ["TEST04"], "mode": "performance"}, "use --mode both"),
        ({"audits": ["TEST01"], "repeat": 2}, "leave out --repeat"),
    ],
)
def test_audit_settings_refused(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        bench_settings(["Offline"], **options)
    assert fragment in caught.value.message
