"""Running whole benchmark jobs in this process, with real ONNX Runtime and real LoadGen."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reef import config
from reef.bench.accuracy import NOT_APPLICABLE_NO_MANIFEST
from reef.bench.job import BenchJob
from reef.bench.runner import execute, prepare, run_job
from reef.bench.target import job_for, resolve
from reef.errors import ManifestError, SettingsError
from reef.meta.run import RunRecord, load_record
from reef.meta.settings import SCENARIOS, BenchSettings

MakeOnnx = Callable[..., Path]
DURATION_S = 0.2


def make_job(target: str, shapes: dict[str, list[int]] | None = None, **settings: Any) -> BenchJob:
    """A job built the way ``reef.api.bench`` builds one."""
    settings.setdefault("duration_s", DURATION_S)
    settings.setdefault("raw_latencies", True)
    return job_for(resolve(target), BenchSettings(**settings), shapes=shapes)


def check_performance(record: RunRecord) -> None:
    perf = record.performance
    assert perf is not None
    lat = perf.latency_ms
    assert 0 < lat.min <= lat.p50 <= lat.p90 <= lat.p95 <= lat.p99 <= lat.max
    assert lat.min <= lat.mean <= lat.max
    assert perf.throughput_qps > 0
    assert perf.queries > 0
    assert perf.samples >= perf.queries
    assert record.latencies_ns
    assert all(t > 0 for t in record.latencies_ns)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_builtin_classifier_in_every_scenario(scenario: str) -> None:
    # Server gets a bound of its own: the one calibrated from a 0.1 ms model is 2 ms, which a
    # shared 2-core machine's scheduling misses now and then even at a quarter of the load
    # (the calibration itself is tested in test_calibrate.py). The run's plumbing is what
    # this test checks.
    bound = {"latency_bound_ms": 50.0} if scenario == "Server" else {}
    job = make_job("digits-classifier", scenario=scenario, mode="both", **bound)
    record = run_job(job)

    assert record.status == "valid", record.reasons
    assert record.reasons == []
    assert record.id == job.run_id
    assert record.scenario == scenario
    assert record.finished_at is not None and record.finished_at >= record.created_at
    check_performance(record)

    lg = record.loadgen
    assert lg is not None
    assert lg.result == "VALID"
    assert lg.effective["scenario"] == scenario
    assert lg.calibration is not None and lg.calibration.latency_p50_ms

    run_dir = Path(job.run_dir)
    assert run_dir.is_relative_to(config.reef_home())
    perf_dir = Path(record.artifacts["loadgen_performance"])
    assert perf_dir.is_relative_to(run_dir)
    assert (perf_dir / "mlperf_log_detail.txt").is_file()
    assert (perf_dir / "mlperf_log_summary.txt").is_file()
    acc_dir = Path(record.artifacts["loadgen_accuracy"])
    assert (acc_dir / "mlperf_log_accuracy.json").is_file()

    acc = record.accuracy
    assert acc is not None
    assert acc.metric == "top1"
    assert acc.value is not None and acc.value >= 0.95
    assert acc.passed is True
    # every sample of the dataset is scored once, whatever the scenario's query size
    assert acc.samples == 450

    assert record.samples["count"] == 450
    assert record.samples["synthetic"] is False
    assert record.predictor is not None and record.predictor.name == "onnxruntime"
    assert record.environment["hash"]
    assert [c.kind for c in record.components] == ["model", "dataset"]

    # the record survives JSON, as it does when it comes from a worker
    again = load_record(json.loads(record.model_dump_json()))
    assert again == record


def test_accuracy_only_mode_has_no_performance() -> None:
    record = run_job(make_job("digits-classifier", scenario="Offline", mode="accuracy"))
    assert record.status == "valid", record.reasons
    assert record.performance is None
    assert record.latencies_ns is None
    assert record.loadgen is not None and record.loadgen.result is None
    assert "loadgen_performance" not in record.artifacts
    assert record.accuracy is not None
    assert record.accuracy.value is not None and record.accuracy.value >= 0.95


def test_performance_only_mode_has_no_accuracy() -> None:
    record = run_job(make_job("digits-classifier", scenario="SingleStream", mode="performance"))
    assert record.status == "valid", record.reasons
    check_performance(record)
    assert record.accuracy is None
    assert "loadgen_accuracy" not in record.artifacts


def test_offline_with_batches() -> None:
    record = run_job(make_job("digits-classifier", scenario="Offline", batch_size=32))
    assert record.status == "valid", record.reasons
    check_performance(record)
    assert record.accuracy is not None and record.accuracy.samples == 450


def test_a_long_offline_run_is_sized_from_a_pilot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from reef.bench import calibrate, logs

    # "Long" made short: a 1 s run has a 0.3 s pilot.
    monkeypatch.setattr(calibrate, "PILOT_FROM_MS", 1000)
    monkeypatch.setattr(calibrate, "PILOT_MIN_MS", 300)
    job = make_job(
        "digits-classifier", scenario="Offline", duration_s=1.0, mode="performance", queries=2000
    )
    record = run_job(job)
    assert record.status == "valid", record.reasons
    assert record.loadgen is not None and record.loadgen.calibration is not None
    derived = record.loadgen.calibration.derived
    pilot = logs.read_detail(Path(record.artifacts["loadgen_pilot"]) / "mlperf_log_detail.txt")
    assert Path(record.artifacts["loadgen_pilot"]) == Path(job.run_dir) / "pilot"
    assert pilot.values["effective_min_duration_ms"] == 300
    assert pilot.values["effective_min_query_count"] == 1  # the run's 2,000 are not its own
    assert derived["pilot_min_duration_ms"] == 300
    assert derived["pilot_qps"] == pytest.approx(float(pilot.values["result_samples_per_second"]))
    # The run itself expected the pilot's figure, with the pilot's margin, and said so.
    run = logs.read_detail(Path(record.artifacts["loadgen_performance"]) / "mlperf_log_detail.txt")
    assert float(run.values["effective_target_qps"]) == pytest.approx(
        derived["pilot_qps"] * calibrate.PILOT_MARGIN,
        rel=1e-5,  # 6 digits logged
    )
    assert any("from a 0.3 s LoadGen run's" in w for w in record.loadgen.warnings)


def test_an_offline_run_that_ran_out_sizes_its_retry_from_its_own_figure() -> None:
    from reef.bench.logs import Detail
    from reef.bench.runner import _resize_offline
    from reef.meta.run import Calibration

    settings = BenchSettings(scenario="Offline", duration_s=600)

    def resized(samples: int, qps: float) -> dict[str, float] | None:
        cal = Calibration(warmup_queries=50, latency_p50_ms=5.0, throughput_qps=180.0)
        values = {"result_samples_per_second": qps, "generated_samples_per_query": samples}
        done = _resize_offline(settings, Detail(values=values), cal, 600_000)
        return dict(cal.derived) if done else None

    # 72,000 samples at 200/s: it ended after 360 s of 600, a figure worth sizing from.
    assert resized(72_000, 200.0) == {"retry_qps": 200.0, "retry_sized_from_ms": 360_000}
    # 330 samples at 3,000/s ended after 0.11 s: start-up, not the model; the 4x retry instead.
    assert resized(330, 3000.0) is None
    # No figure logged.
    assert resized(0, 0.0) is None
    other = BenchSettings(scenario="SingleStream", duration_s=600)
    cal = Calibration(warmup_queries=50, latency_p50_ms=5.0, throughput_qps=180.0)
    values = {"result_samples_per_second": 200.0, "generated_samples_per_query": 72_000}
    assert not _resize_offline(other, Detail(values=values), cal, 600_000)


def test_a_short_offline_run_has_no_pilot() -> None:
    record = run_job(make_job("digits-classifier", scenario="Offline", mode="performance"))
    assert "loadgen_pilot" not in record.artifacts
    assert record.loadgen is not None and record.loadgen.calibration is not None
    assert "pilot_qps" not in record.loadgen.calibration.derived


@pytest.mark.parametrize("scenario", ["SingleStream", "Offline"])
def test_zero_config_onnx_file(make_onnx: MakeOnnx, scenario: str) -> None:
    path = make_onnx(input_shape=[None, 4], output_dim=3)
    record = run_job(make_job(str(path), scenario=scenario))
    assert record.status == "valid", record.reasons
    check_performance(record)
    assert record.target.kind == "onnx"
    assert record.target.name == "model"
    assert record.components == []
    assert record.samples["synthetic"] is True
    assert record.samples["shapes"] == {"x": [4]}
    assert record.accuracy is not None
    assert record.accuracy.note == NOT_APPLICABLE_NO_MANIFEST
    assert record.accuracy.note.startswith("not applicable")
    assert record.accuracy.value is None and record.accuracy.passed is None


def test_zero_config_shape_override(make_onnx: MakeOnnx) -> None:
    path = make_onnx(input_shape=[None, "seq", 4], output_dim=2)
    record = run_job(make_job(str(path), shapes={"x": [1, 5, 4]}, scenario="SingleStream"))
    assert record.status == "valid", record.reasons
    assert record.samples["shapes"] == {"x": [5, 4]}


@pytest.mark.parametrize("scenario", ["SingleStream", "Offline"])
def test_model_with_a_fixed_batch_dimension(make_onnx: MakeOnnx, scenario: str) -> None:
    path = make_onnx(input_shape=[2, 4], output_dim=3)
    record = run_job(make_job(str(path), scenario=scenario))
    assert record.status == "valid", record.reasons
    check_performance(record)


def test_manifest_without_accuracy(
    make_onnx: MakeOnnx, write_manifest: Callable[..., Path]
) -> None:
    manifest = write_manifest(make_onnx())
    record = run_job(make_job(str(manifest), scenario="SingleStream"))
    assert record.status == "valid", record.reasons
    assert record.target.kind == "manifest"
    assert record.accuracy is not None
    assert record.accuracy.note is not None and "not applicable" in record.accuracy.note


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_predictor_that_fails_mid_run(scenario: str) -> None:
    job = make_job("digits-classifier", scenario=scenario, warmup_queries=10)
    prepared = prepare(job)
    real_predict = prepared.predictor.predict
    calls = 0

    def flaky(feeds: dict[str, Any]) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls > 20:  # the warm-up passes; the measured run does not
            raise RuntimeError("the accelerator fell off the bus")
        return real_predict(feeds)

    prepared.predictor.predict = flaky  # type: ignore[method-assign]
    record = execute(prepared)
    assert record.status == "failed"
    assert any("the accelerator fell off the bus" in r for r in record.reasons)
    assert any(r.startswith("RuntimeError") for r in record.reasons)
    assert "RuntimeError" in record.artifacts["traceback"]
    assert record.finished_at is not None


def test_bad_input_raises_before_anything_runs(
    make_onnx: MakeOnnx, write_manifest: Callable[..., Path]
) -> None:
    model = make_onnx(input_shape=[None, 4])
    manifest = write_manifest(model, inputs=[{"name": "x", "shape": [-1, 5]}])
    job = make_job(str(manifest))
    with pytest.raises(ManifestError) as info:
        run_job(job)
    assert info.value.problems[0].location == "inputs[0].shape"
    assert not Path(job.run_dir).exists()


def test_batch_size_must_fit_a_fixed_batch(make_onnx: MakeOnnx) -> None:
    # All shapes fixed: no batch, so any batch size above 1 is refused.
    path = make_onnx(input_shape=[2, 4])
    with pytest.raises(SettingsError) as info:
        run_job(make_job(str(path), scenario="Offline", batch_size=8))
    assert "--batch-size 8: the model has no batch dimension" in info.value.message


def test_microsecond_singlestream_keeps_no_raw_latencies_by_default() -> None:
    record = run_job(make_job("digits-classifier", mode="performance", raw_latencies=None))

    assert record.status == "valid", record.reasons
    assert record.latencies_ns is None
    assert record.loadgen is not None
    assert any("raw per-query latencies not kept" in w for w in record.loadgen.warnings)


@pytest.mark.parametrize(("scenario", "keep"), [("Offline", None), ("SingleStream", True)])
def test_raw_latencies_kept_when_asked_or_cheap(scenario: str, keep: bool | None) -> None:
    job = make_job("digits-classifier", scenario=scenario, mode="performance", raw_latencies=keep)
    record = run_job(job)

    assert record.latencies_ns and all(t > 0 for t in record.latencies_ns)


def test_raw_latencies_can_be_turned_off() -> None:
    job = make_job("digits-classifier", scenario="Offline", mode="performance", raw_latencies=False)
    assert run_job(job).latencies_ns is None


@pytest.mark.parametrize(
    "settings",
    [
        {"scenario": "Offline", "batch_size": 4},
        {"scenario": "Server", "batch_size": 4, "target_qps": 2000, "latency_bound_ms": 50},
        {"scenario": "MultiStream", "batch_size": 2, "samples_per_query": 8},
    ],
)
def test_failure_after_some_batches_answers_each_sample_once(settings: dict[str, Any]) -> None:
    prepared = prepare(
        make_job("digits-classifier", mode="performance", warmup_queries=5, **settings)
    )
    real_predict = prepared.predictor.predict
    calls = 0

    def fails_later(feeds: dict[str, Any]) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls > 40:
            raise RuntimeError("out of device memory")
        return real_predict(feeds)

    prepared.predictor.predict = fails_later  # type: ignore[method-assign]
    record = execute(prepared)
    assert record.status == "failed"
    assert any("out of device memory" in r for r in record.reasons)


def test_a_run_whose_loadgen_log_was_not_written_is_not_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LoadGen could not write its log (a full disk): no verdict, no figures. The run must not
    come out ``valid`` with nothing measured."""
    from reef.bench import logs

    real = logs.read_detail
    monkeypatch.setattr(logs, "read_detail", lambda path: real(path.with_name("absent.txt")))
    record = run_job(make_job("digits-classifier", mode="performance"))
    assert record.status == "invalid"
    assert record.performance is None
    assert any("holds no verdict" in r and "disk full" in r for r in record.reasons)


ES = "early stopping criteria not met"
BOUND = "latency constraint not met"
SHORT = "minimum duration not met"


@pytest.mark.parametrize(
    ("scenario", "qps", "reasons", "retried"),
    [
        ("Server", None, [BOUND], "missed the latency bound"),
        ("Server", None, [BOUND, ES], "missed the latency bound"),
        # p99 under the bound, but too many queries over it for early stopping to confirm
        ("Server", None, [ES], "went over the latency bound"),
        # the user's own rate is measured as given, never lightened
        ("Server", 100.0, [ES], None),
        ("Server", 100.0, [BOUND], None),
        # too few queries is no reason to lighten the load
        ("Server", None, [ES, SHORT], None),
        ("SingleStream", None, [ES], None),
        ("SingleStream", None, [SHORT], "ran out of pre-generated queries"),
        ("SingleStream", None, [SHORT, ES], None),
    ],
)
def test_which_invalid_runs_are_rerun_with_adjusted_expectations(
    scenario: str, qps: float | None, reasons: list[str], retried: str | None
) -> None:
    from reef.bench.runner import _retry_because

    settings = BenchSettings(scenario=scenario, target_qps=qps)  # type: ignore[arg-type]
    why = _retry_because(reasons, settings)
    if retried is None:
        assert why is None
    else:
        assert why is not None and retried in why
