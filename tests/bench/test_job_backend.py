"""A job's backend and ONNX Runtime options: the settings' checks, the manifest's
``framework.options`` under the job's, and jobs for several backends (``reef.bench.backends``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from reef.bench import backends
from reef.bench.job import BenchJob, PredictorSettings, backend_settings
from reef.bench.runner import prepare
from reef.bench.target import job_for, resolve
from reef.errors import SettingsError
from reef.meta.ort_options import OrtOptions
from reef.meta.settings import BenchSettings

MakeOnnx = Callable[..., Path]


def _job(target: Path, predictor: PredictorSettings | None = None) -> BenchJob:
    return job_for(resolve(str(target)), BenchSettings(duration_s=0.1), predictor=predictor)


def _manifest(
    make_onnx: MakeOnnx, write_manifest: Callable[..., Path], framework: dict[str, Any]
) -> Path:
    return write_manifest(make_onnx(), framework=framework)


def test_defaults() -> None:
    settings = PredictorSettings()
    assert settings.provider_options == {} and settings.session_config == {}
    assert settings.inter_op_threads is None and settings.execution_mode is None
    assert settings.ort_only() == []


def test_every_onnxruntime_option_is_named() -> None:
    settings = PredictorSettings(
        graph_optimization="basic",
        providers=["CPUExecutionProvider"],
        provider_options={"CPUExecutionProvider": {"a": "1"}},
        session_config={"a.b": "1"},
        inter_op_threads=1,
        execution_mode="parallel",
    )
    assert settings.ort_only() == [
        "--graph-optimization",
        "--provider",
        "--provider-option",
        "--session-config",
        "--inter-op-threads",
        "--execution-mode",
    ]


def test_inter_op_threads_are_bounded_by_this_machine() -> None:
    with pytest.raises(ValidationError, match="per usable core"):
        PredictorSettings(inter_op_threads=10**6)


def test_the_job_round_trips_its_backend_and_options(make_onnx: MakeOnnx) -> None:
    predictor = PredictorSettings(session_config={"a.b": "1"}, execution_mode="sequential")
    job = _job(make_onnx(), predictor)
    job.backend = "onnxruntime"
    again = BenchJob.model_validate_json(job.model_dump_json())
    assert again.backend == "onnxruntime"
    assert again.predictor == predictor


def test_cli_options_override_the_manifests_key_by_key() -> None:
    defaults = OrtOptions.model_validate(
        {
            "provider_options": {"CUDAExecutionProvider": {"device_id": 0, "gpu_mem_limit": 8}},
            "session_config": {"a.b": 1, "c.d": 2},
            "inter_op_threads": 4,
            "execution_mode": "parallel",
        }
    )
    given = PredictorSettings(
        provider_options={"CUDAExecutionProvider": {"device_id": "1"}},
        session_config={"c.d": "3"},
        execution_mode="sequential",
    )
    merged = given.over(defaults)
    assert merged.provider_options == {
        "CUDAExecutionProvider": {"device_id": "1", "gpu_mem_limit": "8"}
    }
    assert merged.session_config == {"a.b": "1", "c.d": "3"}
    assert merged.inter_op_threads == 4
    assert merged.execution_mode == "sequential"
    assert given.over(None) is given


def test_manifest_options_apply_to_its_own_framework_only(
    make_onnx: MakeOnnx, write_manifest: Callable[..., Path]
) -> None:
    framework = {"name": "onnxruntime", "options": {"session_config": {"a.b": 1}}}
    job = _job(_manifest(make_onnx, write_manifest, framework))
    assert backend_settings(job, "onnxruntime").session_config == {"a.b": "1"}
    # another backend runs without them (and without the version check)
    assert backend_settings(job, "openvino").session_config == {}


def test_onnxruntime_options_for_another_backend_are_refused(make_onnx: MakeOnnx) -> None:
    job = _job(make_onnx(), PredictorSettings(inter_op_threads=2, execution_mode="parallel"))
    with pytest.raises(SettingsError) as info:
        backend_settings(job, "openvino")
    assert info.value.message == (
        "--inter-op-threads, --execution-mode: ONNX Runtime's options, but the backend is openvino"
    )


def test_prepare_applies_the_merged_options(
    make_onnx: MakeOnnx, write_manifest: Callable[..., Path]
) -> None:
    framework = {
        "name": "onnxruntime",
        "options": {
            "session_config": {"session.intra_op.allow_spinning": 0},
            "inter_op_threads": 2,
        },
    }
    job = _job(
        _manifest(make_onnx, write_manifest, framework),
        PredictorSettings(execution_mode="parallel"),
    )
    prepared = prepare(job)
    try:
        options = prepared.predictor.info()["options"]
    finally:
        prepared.predictor.close()
    assert options["session_config"] == {"session.intra_op.allow_spinning": "0"}
    assert options["inter_op_threads"] == 2
    assert options["execution_mode"] == "parallel"


def test_prepare_runs_the_jobs_backend(make_onnx: MakeOnnx) -> None:
    job = _job(make_onnx())
    job.backend = "no-such-backend"
    with pytest.raises(Exception, match="no-such-backend"):
        prepare(job)


# --- several backends -----------------------------------------------------------------------


def test_a_backend_named_twice() -> None:
    with pytest.raises(SettingsError) as info:
        backends.check_backends(["onnxruntime", "onnxruntime"])
    assert info.value.message == "--backend onnxruntime: given twice"


def test_an_unknown_backend_lists_the_installed() -> None:
    with pytest.raises(SettingsError) as info:
        backends.check_backends(["onnxruntime", "caffe"])
    assert info.value.message == "--backend caffe: no such backend"
    assert info.value.hint is not None and "onnxruntime" in info.value.hint


def test_jobs_per_backend_and_settings_share_their_settings(make_onnx: MakeOnnx) -> None:
    resolved = resolve(str(make_onnx()))
    settings = [BenchSettings(scenario="SingleStream"), BenchSettings(scenario="Offline")]
    jobs = backends.jobs_for(resolved, settings, ["onnxruntime", "other"])
    assert [(j.backend, j.settings.scenario) for j in jobs] == [
        ("onnxruntime", "SingleStream"),
        ("onnxruntime", "Offline"),
        ("other", "SingleStream"),
        ("other", "Offline"),
    ]
    assert len({j.run_id for j in jobs}) == 4
    assert jobs[0].settings == jobs[2].settings


def test_jobs_for_refuse_onnxruntime_options_with_another_backend(make_onnx: MakeOnnx) -> None:
    resolved = resolve(str(make_onnx()))
    predictor = PredictorSettings(session_config={"a.b": "1"})
    with pytest.raises(SettingsError, match="--session-config: ONNX Runtime's option"):
        backends.jobs_for(
            resolved, [BenchSettings()], ["onnxruntime", "other"], predictor=predictor
        )


def test_the_manifests_framework_version_binds_its_own_backend_only(
    make_onnx: MakeOnnx, write_manifest: Callable[..., Path]
) -> None:
    from reef.errors import ManifestError

    manifest = _manifest(make_onnx, write_manifest, {"name": "openvino", "version": "<0.1"})
    job = _job(manifest)
    job.backend = "onnxruntime"  # --backend onnxruntime: openvino's version is not its concern
    prepared = prepare(job)
    prepared.predictor.close()
    assert prepared.predictor.name == "onnxruntime"

    own = _manifest(make_onnx, write_manifest, {"name": "onnxruntime", "version": "<0.1"})
    job = _job(own)
    job.backend = "onnxruntime"
    with pytest.raises(ManifestError, match=r"framework\.version"):
        prepare(job)
