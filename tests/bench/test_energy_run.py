"""Energy in real benchmark runs (real ONNX Runtime, real LoadGen): a fake powercap tree whose
counters a thread advances while the run measures, and a machine without one."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from energy_support import FakeRapl
from reef.bench.job import BenchJob
from reef.bench.progress import NullReporter
from reef.bench.repeat import run_repeated
from reef.bench.runner import run_job
from reef.bench.target import job_for, resolve
from reef.environment.energy import NO_NVML, NO_RAPL, ROOT_ENV
from reef.meta.run import RunRecord, load_record
from reef.meta.settings import BenchSettings


@pytest.fixture(autouse=True)
def no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)


@pytest.fixture
def rapl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRapl]:
    fake = FakeRapl(tmp_path / "powercap")
    monkeypatch.setenv(ROOT_ENV, str(fake.root))
    with fake:
        yield fake


def make_job(**settings: object) -> BenchJob:
    values: dict[str, object] = {"duration_s": 0.2, "scenario": "SingleStream"}
    values.update(mode="performance", **settings)
    return job_for(resolve("digits-classifier"), BenchSettings.model_validate(values))


def check_measured(record: RunRecord) -> None:
    energy, perf = record.energy, record.performance
    assert energy is not None and perf is not None
    assert [d.name for d in energy.domains] == ["package-0", "dram-0"]
    assert all(d.method == "rapl" and d.joules > 0 for d in energy.domains)
    assert energy.joules is not None and energy.joules > 0
    assert energy.samples == perf.samples > 0
    assert energy.joules_per_sample == pytest.approx(energy.joules / perf.samples)
    assert energy.joules_per_sample is not None and energy.joules_per_sample > 0
    assert energy.watts is not None and energy.watts > 0
    assert energy.notes == [NO_NVML]


@pytest.mark.usefixtures("rapl")
def test_a_run_records_its_joules_per_sample_and_watts() -> None:
    record = run_job(make_job())
    assert record.status == "valid", record.reasons
    check_measured(record)
    energy = record.energy
    assert energy is not None
    # The measured phase, not the warm-up: about the run's own duration.
    assert record.performance is not None and record.performance.duration_s is not None
    assert energy.seconds >= record.performance.duration_s * 0.9
    # Package and DRAM in the fake's ratio (5:1), give or take a tick at either end.
    found = {d.name: d.joules for d in energy.domains}
    assert found["package-0"] / found["dram-0"] == pytest.approx(5, rel=0.2)
    again = load_record(json.loads(record.model_dump_json()), "again")
    assert again.energy == record.energy


def test_a_run_without_a_powercap_tree_says_so_and_has_no_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "absent"))
    record = run_job(make_job())
    assert record.status == "valid", record.reasons
    energy = record.energy
    assert energy is not None
    assert energy.notes == [NO_RAPL, NO_NVML]
    assert energy.domains == []
    assert energy.joules is None and energy.joules_per_sample is None and energy.watts is None
    assert record.performance is not None and energy.samples == record.performance.samples


@pytest.mark.usefixtures("rapl")
def test_each_process_of_a_repeated_run_records_energy_and_the_run_their_sum() -> None:
    job = make_job(repeat=2, duration_s=0.1)
    merged = run_repeated(job, NullReporter(), run_job, lambda _job, _exc: None)
    assert merged.status == "valid", merged.reasons
    check_measured(merged)
    parts = [p.energy for p in merged.processes]
    assert len(parts) == 2 and all(p is not None and p.joules for p in parts)
    energy = merged.energy
    assert energy is not None
    assert energy.joules == pytest.approx(sum(p.joules or 0 for p in parts if p), rel=1e-6)
    assert energy.samples == sum(p.samples or 0 for p in parts if p)
