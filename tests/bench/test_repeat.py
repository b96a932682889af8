"""``--repeat N``: N processes merged into one run that keeps each process's summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import LATENCY_MS, run_record, scaled
from reef.bench.job import BenchJob
from reef.bench.progress import NullReporter
from reef.bench.repeat import merge, process_job, run_repeated
from reef.meta.run import Interference, RunRecord
from reef.meta.settings import BenchSettings


def job(tmp_path: Path, repeat: int = 3, mode: str = "both") -> BenchJob:
    record = run_record("r1")
    return BenchJob(
        run_id="r1",
        run_dir=str(tmp_path / "r1"),
        target=record.target,
        model_path=str(tmp_path / "m.onnx"),
        settings=BenchSettings(repeat=repeat, mode=mode),  # type: ignore[arg-type]
    )


def quiet(share: float = 0.01, busy: bool = False, reason: str = "quiet") -> Interference:
    return Interference(
        cpus=[0], seconds=2.0, others_cpu_share=share, steal_share=0.0, involuntary_switches=10,
        migrations=1, freq_mhz_min=2000.0, freq_mhz_max=2600.0, busy=busy, reason=reason,
    )  # fmt: skip


def process(p50: float, raw: list[int] | None, **fields: object) -> RunRecord:
    return run_record(
        "r1", latency_ms=scaled(LATENCY_MS["p50"], p50=p50 / 2.0) | {"p50": p50},
        raw=raw, interference=quiet(), **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_each_process_gets_its_own_folder_and_accuracy_runs_once(tmp_path: Path) -> None:
    j = job(tmp_path)
    first, second = process_job(j, 1), process_job(j, 2)
    assert first.run_dir.endswith("process-1") and second.run_dir.endswith("process-2")
    assert (first.settings.mode, second.settings.mode) == ("both", "performance")
    assert first.settings.repeat == second.settings.repeat == 1
    assert j.settings.repeat == 3  # the job asked is left as it was


def test_the_merged_run_keeps_every_process(tmp_path: Path) -> None:
    records = [process(2.0, [1, 2]), process(3.0, [3, 4, 5]), process(2.5, [6])]
    merged = merge(job(tmp_path), records)
    assert [p.index for p in merged.processes] == [1, 2, 3]
    assert [p.latency_ms.p50 for p in merged.processes] == [2.0, 3.0, 2.5]  # type: ignore[union-attr]
    assert [p.latencies_kept for p in merged.processes] == [2, 3, 1]
    assert merged.latencies_ns == [1, 2, 3, 4, 5, 6]
    assert merged.performance is not None
    assert merged.performance.latency_ms.p50 == 2.5  # the median process
    assert merged.performance.queries == sum(r.performance.queries for r in records)  # type: ignore[union-attr]
    assert merged.settings.repeat == 3
    assert merged.status == "valid" and merged.reasons == []
    assert merged.interference is not None and not merged.interference.busy
    assert merged.interference.involuntary_switches == 30


def test_one_process_without_raw_latencies_keeps_none(tmp_path: Path) -> None:
    merged = merge(job(tmp_path, 2), [process(2.0, [1, 2]), process(3.0, None)])
    assert merged.latencies_ns is None
    assert [p.latencies_kept for p in merged.processes] == [0, 0]


def test_the_worst_process_decides_and_reasons_name_it(tmp_path: Path) -> None:
    bad = process(2.0, None, status="invalid", reasons=["min queries not met"])
    merged = merge(job(tmp_path, 2), [process(2.0, None), bad])
    assert merged.status == "invalid"
    assert merged.reasons == ["process 2: min queries not met"]


def test_a_busy_process_makes_the_run_busy(tmp_path: Path) -> None:
    hogged = process(4.0, None)
    hogged.interference = quiet(0.4, busy=True, reason="other processes used 40% of the CPU")
    merged = merge(job(tmp_path, 2), [process(2.0, None), hogged])
    assert merged.interference is not None and merged.interference.busy
    assert merged.interference.reason == "process 2: other processes used 40% of the CPU"
    assert merged.interference.others_cpu_share == 0.4


def test_a_crashed_process_is_kept_as_failed(tmp_path: Path) -> None:
    calls: list[str] = []

    def run_one(one: BenchJob) -> RunRecord:
        calls.append(one.run_dir)
        if one.run_dir.endswith("process-2"):
            raise RuntimeError("killed")
        return process(2.0, None)

    def failed(one: BenchJob, exc: Exception) -> RunRecord:
        return run_record("r1", status="failed", reasons=[str(exc)], latency_ms=None)

    merged = run_repeated(job(tmp_path, 3), NullReporter(), run_one, failed)
    assert len(calls) == 3
    assert merged.status == "failed"
    assert merged.reasons == ["process 2: killed"]
    assert [p.status for p in merged.processes] == ["valid", "failed", "valid"]


def test_an_unexpected_error_is_not_swallowed(tmp_path: Path) -> None:
    def run_one(one: BenchJob) -> RunRecord:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_repeated(job(tmp_path, 2), NullReporter(), run_one, lambda one, exc: None)


def test_a_first_process_that_crashed_leaves_the_others_facts(tmp_path: Path) -> None:
    from reef.meta.run import LoadGenInfo, PredictorInfo

    crashed = run_record("r1", status="failed", reasons=["killed"], latency_ms=None, backend=None)
    ok = process(2.0, None)
    ok.loadgen = LoadGenInfo(version="6.0", result="VALID")
    invalid = process(2.2, None)
    invalid.loadgen = LoadGenInfo(version="6.0", result="INVALID")
    merged = merge(job(tmp_path, 3), [crashed, ok, invalid])
    assert merged.status == "failed" and merged.reasons == ["process 1: killed"]
    assert merged.created_at == crashed.created_at
    assert merged.predictor == PredictorInfo(name="onnxruntime", version="1.20")
    assert merged.loadgen is not None and merged.loadgen.result == "INVALID"
    assert merged.performance is not None and merged.performance.latency_ms.p50 == 2.1
    both_valid = merge(job(tmp_path, 2), [ok, ok.model_copy(deep=True)])
    assert both_valid.loadgen is not None and both_valid.loadgen.result == "VALID"
