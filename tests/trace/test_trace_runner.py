"""Traced benchmark jobs in this process, with real ONNX Runtime and LoadGen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reef import config
from reef.bench.job import TraceSettings
from reef.bench.progress import NullReporter
from reef.bench.runner import run_job
from reef.bench.target import job_for, resolve
from reef.meta.settings import BenchSettings
from reef.predictors import registry
from reef.trace import chrome


def traced_job(model: str, level: str, **trace: Any) -> Any:
    settings = BenchSettings(
        scenario="SingleStream", mode="performance", duration_s=0.2, sample_count=16,
        warmup_queries=20,
    )  # fmt: skip
    job = job_for(resolve(model), settings)
    job.trace = TraceSettings(level=level, **trace)  # type: ignore[arg-type]
    return job


def test_framework_level_places_operators_inside_their_queries() -> None:
    record = run_job(traced_job("digits-cnn", "framework", first_queries=100_000))
    assert record.status == "valid", record.reasons
    info = record.trace
    assert info is not None and info.level == "framework"
    assert info.layers == ["model", "framework"]
    path = Path(info.path or "")
    assert path.parent == config.runs_dir() / record.id and path.is_file()
    assert record.artifacts["trace"] == str(path)
    trace = chrome.read(path)
    meta = chrome.metadata(trace)
    counts = meta["counts"]
    assert counts["operator_events_profiled"] > 0
    assert counts["operator_events_dropped"] == 0  # every profiled operator lies in a query
    events = trace["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    phases = [e for e in spans if e["cat"] == "phase"]
    start = min(p["ts"] for p in phases)
    end = max(p["ts"] + p["dur"] for p in phases)
    predicts = sorted((e["ts"], e["ts"] + e["dur"]) for e in spans if e["name"] == "predict")
    ops = [e for e in spans if e["cat"] == "operator"]
    assert ops and len(ops) == counts["operator_events_kept"]
    for op in ops:
        assert start <= op["ts"] and op["ts"] + op["dur"] <= end
        assert any(a <= op["ts"] and op["ts"] + op["dur"] <= b + 1 for a, b in predicts), op
    summary = meta["summary"]
    assert summary["phase"] == "performance" and summary["operators_by_total"]
    assert summary["cold"]["seq"] == 0 and summary["median"]["stages_us"]["predict"] > 0


class NoProfiler:
    """The ONNX Runtime predictor, minus its profiler: a backend that has none."""

    name = "noprof"

    def __init__(self) -> None:
        from reef.predictors.onnxruntime import OnnxRuntimePredictor

        self._inner = OnnxRuntimePredictor()

    def open(self, model_path: Path, options: Any) -> Any:
        signature = self._inner.open(model_path, options)
        self.predict = self._inner.predict
        return signature

    def predict(self, feeds: dict[str, Any]) -> list[Any]:  # replaced in open
        raise AssertionError

    def close(self) -> None:
        self._inner.close()

    def version(self) -> str:
        return self._inner.version()

    def info(self) -> dict[str, Any]:
        return self._inner.info()


class Notes(NullReporter):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


def test_a_backend_without_profiler_says_so_and_records_the_other_levels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "create", lambda name: NoProfiler())
    reporter = Notes()
    record = run_job(traced_job("digits-classifier", "full"), reporter)
    assert record.status == "valid", record.reasons
    info = record.trace
    assert info is not None and info.level == "full"
    assert info.layers == ["model", "system"]
    said = "the noprof backend has no profiler: the framework level is not recorded"
    assert any(said in n for n in info.notes)
    assert any(said in n for n in reporter.notes)
    meta = chrome.metadata(chrome.read(Path(info.path or "")))
    assert meta["counts"]["operator_events_profiled"] == 0
    assert meta["counts"]["system_samples"] >= 1


def test_untraced_runs_record_no_trace() -> None:
    record = run_job(traced_job("digits-classifier", "none"))
    assert record.status == "valid", record.reasons
    assert record.trace is None and "trace" not in record.artifacts
    assert not (config.runs_dir() / record.id / chrome.TRACE_FILE).exists()
