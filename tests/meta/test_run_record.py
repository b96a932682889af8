"""The run record: JSON round trips and reading records written by other Reef versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from factories import run_record
from reef.errors import ManifestError
from reef.meta import run
from reef.meta.run import (
    FORMAT_VERSION,
    Accuracy,
    Calibration,
    ComponentRef,
    Latency,
    LoadGenInfo,
    Performance,
    PredictorInfo,
    RunRecord,
    load_record,
)


def full_record() -> RunRecord:
    return run_record(
        created_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        finished_at=datetime(2025, 3, 1, 12, 1, tzinfo=UTC),
        kind="manifest",
        name="tiny",
        version="1.0.0",
        path="/m/model.yaml",
        sha256="a" * 64,
        components=[ComponentRef(kind="dataset", name="digits", version="1.0.0", sha256="b" * 64)],
        scenario="Server",
        settings={"duration_s": 0.5, "target_qps": 100.0},
        predictor=PredictorInfo(
            name="onnxruntime", version="1.20.0", providers=["CPUExecutionProvider"]
        ),
        loadgen=LoadGenInfo(
            version="5.0",
            result="VALID",
            effective={"target_qps": 100.0},
            calibration=Calibration(warmup_queries=50, latency_p50_ms=0.1, throughput_qps=9000.0),
        ),
        performance=Performance(
            latency_ms=Latency(min=0.1, mean=0.2, p50=0.2, p90=0.3, p95=0.35, p99=0.4, max=0.9),
            throughput_qps=99.5,
            samples=50,
            queries=50,
            duration_s=0.5,
            early_stopping=["Run successful."],
        ),
        accuracy=Accuracy(
            metric="top1", value=0.97, reference=0.97, threshold=0.99, passed=True, samples=450
        ),
        samples={"count": 450, "synthetic": False},
        environment={"hash": "c" * 64},
        artifacts={"loadgen_performance": "/runs/x/performance"},
        raw=[100, 200, 300],
    )


def test_round_trip_through_json() -> None:
    record = full_record()
    text = record.model_dump_json()
    again = load_record(json.loads(text))
    assert again == record
    assert again.model_dump(mode="json") == record.model_dump(mode="json")
    assert again.format_version == FORMAT_VERSION
    assert again.scenario == "Server"


def test_summary_json_leaves_out_raw_latencies() -> None:
    summary = full_record().summary_json()
    assert "latencies_ns" not in summary
    json.dumps(summary)
    assert summary["performance"]["latency_ms"]["p99"] == 0.4


def test_record_ids_are_unique() -> None:
    a, b = (run_record() for _ in range(2))
    assert a.id != b.id


def test_a_record_without_format_version_is_version_1() -> None:
    data = full_record().model_dump(mode="json")
    del data["format_version"]
    assert load_record(data).format_version == FORMAT_VERSION


def test_newer_format_version_is_refused_clearly() -> None:
    data = full_record().model_dump(mode="json")
    data["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ManifestError) as info:
        load_record(data, "record.json")
    (problem,) = info.value.problems
    assert problem.file == "record.json"
    assert problem.location == "format_version"
    assert f"version {FORMAT_VERSION + 1} is newer" in problem.message
    assert str(FORMAT_VERSION) in problem.message
    assert info.value.hint is not None and "upgrade Reef" in info.value.hint


@pytest.mark.parametrize("bad", [0, -3, "2", 1.5])
def test_invalid_format_version(bad: Any) -> None:
    data = full_record().model_dump(mode="json")
    data["format_version"] = bad
    with pytest.raises(ManifestError) as info:
        load_record(data, "record.json")
    assert info.value.problems[0].location == "format_version"


def test_unknown_fields_survive_a_round_trip() -> None:
    data = full_record().model_dump(mode="json")
    data["energy_joules"] = 12.5
    data["performance"]["latency_ms"]["p999"] = 0.8
    data["target"]["signed_by"] = "someone"
    record = load_record(data)
    out = json.loads(record.model_dump_json())
    assert out["energy_joules"] == 12.5
    assert out["performance"]["latency_ms"]["p999"] == 0.8
    assert out["target"]["signed_by"] == "someone"


def test_invalid_record_names_the_field() -> None:
    data = full_record().model_dump(mode="json")
    data["status"] = "great"
    del data["target"]["sha256"]
    with pytest.raises(ManifestError) as info:
        load_record(data, "record.json")
    locations = {p.location for p in info.value.problems}
    assert locations == {"status", "target.sha256"}
    assert all(p.file == "record.json" for p in info.value.problems)


def test_upgrades_run_in_order_for_an_older_version(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def one_to_two(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(data["format_version"])
        data["status"] = {"ok": "valid"}.get(data["status"], data["status"])
        data["artifacts"] = {"upgraded": "from 1"}
        return data

    monkeypatch.setattr(run, "FORMAT_VERSION", 2)
    monkeypatch.setitem(run._UPGRADES, 1, one_to_two)
    old = full_record().model_dump(mode="json")
    old["format_version"] = 1
    old["status"] = "ok"  # not a valid status today: only the upgrade makes it one
    record = run.load_record(old)
    assert seen == [1]
    assert record.format_version == 2
    assert record.status == "valid"
    assert record.artifacts == {"upgraded": "from 1"}
    assert old["status"] == "ok"  # the caller's data is not changed


def test_current_version_runs_no_upgrade(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(data: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("no upgrade should run for the current version")

    monkeypatch.setitem(run._UPGRADES, FORMAT_VERSION, explode)
    load_record(full_record().model_dump(mode="json"))
