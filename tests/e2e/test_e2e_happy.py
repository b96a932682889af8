"""Happy paths of the whole CLI: bench, runs list/show, logs, show, schema, check, demo.

The other schema kinds, ``--help``, the filters of ``runs list`` and ``runs show`` of a full id
are checked in-process in ``tests/cli``; the default raw-latency policy in
``test_e2e_options.py``; ``--version`` in ``tests/cli/test_startup.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import DIGITS_CLASSIFIER, SHORT, Benched, Reef, check_schema_structure

import reef as reef_pkg

LATENCY_FIELDS = ("min", "mean", "p50", "p90", "p95", "p99", "max")
BUILTIN_MODEL = Path(reef_pkg.__file__).parent / "builtin" / DIGITS_CLASSIFIER / "reef.yaml"


def by_scenario(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["settings"]["scenario"]: r for r in records}


def assert_latency(record: dict[str, Any]) -> None:
    perf = record["performance"]
    assert perf is not None, record
    lat = perf["latency_ms"]
    for name in LATENCY_FIELDS:
        assert isinstance(lat[name], int | float) and lat[name] > 0, (name, lat)
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"], lat
    assert perf["throughput_qps"] > 0
    assert perf["queries"] >= 1 and perf["samples"] >= perf["queries"]


def assert_valid(record: dict[str, Any]) -> None:
    assert record["status"] == "valid", (record["status"], record["reasons"])
    assert record["reasons"] == []
    assert record["loadgen"]["result"] == "VALID", record["loadgen"]
    assert_latency(record)


def unique_prefix(run_id: str, others: list[str], at_least: int = 4) -> str:
    for n in range(at_least, len(run_id) + 1):
        prefix = run_id[:n]
        if not any(o != run_id and o.startswith(prefix) for o in others):
            return prefix
    return run_id


# --- reef bench -----------------------------------------------------------------------------


def test_bench_single_stream_json_record(benched: Benched) -> None:
    records = by_scenario(benched.records)
    record = records["SingleStream"]
    assert_valid(record)
    assert record["target"]["kind"] == "component"  # named, so resolved and locked
    assert record["target"]["name"] == DIGITS_CLASSIFIER
    assert record["lock"]["root"] == DIGITS_CLASSIFIER  # what `reef reproduce` rebuilds
    assert record["settings"]["duration_s"] == pytest.approx(0.3)
    assert record["settings"]["mode"] == "both"
    accuracy = record["accuracy"]
    assert accuracy["metric"] == "top1"
    assert accuracy["passed"] is True
    assert accuracy["value"] >= accuracy["threshold"] * accuracy["reference"]
    assert accuracy["samples"] == 450  # the whole digits test split
    assert record["samples"]["synthetic"] is False
    assert "latencies_ns" not in record  # only with runs show --raw
    # the JSON goes to stdout alone; progress goes to stderr
    assert "SingleStream" in benched.result.stderr


def test_bench_several_scenarios_give_one_run_each(benched: Benched) -> None:
    assert [r["settings"]["scenario"] for r in benched.records] == ["SingleStream", "MultiStream"]
    ids = [r["id"] for r in benched.records]
    assert len(set(ids)) == 2
    multi = by_scenario(benched.records)["MultiStream"]
    assert_valid(multi)
    assert multi["accuracy"]["passed"] is True
    assert multi["loadgen"]["effective"]["samples_per_query"] == 8


def test_bench_server_and_offline_performance_only(reef: Reef) -> None:
    result = reef(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--scenario", "Server", "--scenario", "Offline",
        "--mode", "performance", "--target-qps", "2000", "--latency-bound-ms", "100", "--json",
    )  # fmt: skip
    assert result.rc == 0, str(result)
    records = result.json()
    assert [r["settings"]["scenario"] for r in records] == ["Server", "Offline"]
    for record in records:
        assert_valid(record)
        assert record["settings"]["mode"] == "performance"
        assert record["accuracy"] is None, "performance mode measures no accuracy"
        assert "loadgen_accuracy" not in record["artifacts"]
    server = by_scenario(records)["Server"]
    assert server["settings"]["target_qps"] == 2000
    assert server["loadgen"]["effective"]["target_qps"] == pytest.approx(2000)
    assert server["loadgen"]["effective"]["target_latency_ns"] == 100_000_000
    # both recorded, newest first, each with its own run folder
    listed = reef.runs()
    assert [r["id"] for r in listed] == [r["id"] for r in reversed(records)]
    assert reef.run_dirs() == sorted(r["id"] for r in records)


# --- reef runs ------------------------------------------------------------------------------


def test_runs_list_newest_first(benched: Benched) -> None:
    listed = benched.reef.runs()
    assert [r["id"] for r in listed] == [r["id"] for r in reversed(benched.records)]
    created = [r["created_at"] for r in listed]
    assert created == sorted(created, reverse=True)
    assert all("latencies_ns" not in r for r in listed)


def test_runs_list_human_table(benched: Benched) -> None:
    result = benched.reef.ok("runs", "list")
    for record in benched.records:
        assert record["id"][:8] in result.stdout
    assert "SingleStream" in result.stdout and "MultiStream" in result.stdout


def test_runs_show_unique_prefix(benched: Benched) -> None:
    ids = [r["id"] for r in benched.records]
    for record in benched.records:
        prefix = unique_prefix(record["id"], ids)
        shown = benched.reef.ok("runs", "show", prefix, "--json").json()
        assert shown["id"] == record["id"]
        assert shown["status"] == record["status"]
        assert shown["performance"] == record["performance"]
        assert "latencies_ns" not in shown
    record = benched.records[0]
    human = benched.reef.ok("runs", "show", unique_prefix(record["id"], ids))
    assert record["id"] in human.stdout
    assert record["settings"]["scenario"] in human.stdout
    assert "valid" in human.stdout


def test_runs_show_raw_includes_latencies(benched: Benched) -> None:
    record = by_scenario(benched.records)["SingleStream"]
    shown = benched.reef.ok("runs", "show", record["id"][:10], "--raw", "--json").json()
    latencies = shown["latencies_ns"]
    assert isinstance(latencies, list) and latencies
    assert all(isinstance(v, int) and v > 0 for v in latencies)
    assert len(latencies) == record["performance"]["queries"]


def test_loadgen_logs_kept_in_run_folder(benched: Benched) -> None:
    home = benched.reef.home
    for record in benched.records:
        folder = home / "runs" / record["id"]
        perf = folder / "performance"
        for name in ("mlperf_log_detail.txt", "mlperf_log_summary.txt"):
            assert (perf / name).is_file(), f"{perf / name} missing"
            assert (perf / name).stat().st_size > 0
        summary = (perf / "mlperf_log_summary.txt").read_text()
        assert "Result is : VALID" in summary
        assert record["settings"]["scenario"] in summary
        assert Path(record["artifacts"]["loadgen_performance"]) == perf
        accuracy = Path(record["artifacts"]["loadgen_accuracy"])
        assert accuracy.parent == folder
        assert (accuracy / "mlperf_log_accuracy.json").is_file()


# --- reef show / schema / check / help ------------------------------------------------------


def test_show_component_json_gives_absolute_existing_paths(reef: Reef) -> None:
    data = reef.ok("show", DIGITS_CLASSIFIER, "--json").json()
    assert data["name"] == DIGITS_CLASSIFIER and data["kind"] == "model"
    assert Path(data["path"]).is_absolute() and Path(data["path"]).is_file()
    assert data["files"], data
    for file in data["files"]:
        assert Path(file).is_absolute(), file
        assert Path(file).is_file(), file
    assert any(Path(f).name == "model.onnx" for f in data["files"])
    pinned = reef.ok("show", f"{DIGITS_CLASSIFIER}@{data['version']}", "--json").json()
    assert pinned["version"] == data["version"]


def test_schema_model_is_json_schema(reef: Reef) -> None:
    schema = reef.ok("schema", "model").json()
    check_schema_structure(schema)
    for field in ("name", "version", "framework", "sources", "inputs", "outputs"):
        assert field in schema["properties"], field
    assert schema.get("additionalProperties") is False  # unknown fields are errors
    manifest = yaml.safe_load(BUILTIN_MODEL.read_text())
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(manifest, schema)


def test_check_builtin_manifests(reef: Reef) -> None:
    model = BUILTIN_MODEL
    human = reef.ok("check", str(model))
    assert "ok" in human.stdout and DIGITS_CLASSIFIER in human.stdout
    data = reef.ok("check", str(model), "--json").json()
    assert data["ok"] is True
    assert data["name"] == DIGITS_CLASSIFIER
    assert "signature" in data["checks"]
    dataset = model.parent.parent / "digits" / "reef.yaml"
    assert reef.ok("check", str(dataset), "--json").json()["kind"] == "dataset"
    assert reef.run_dirs() == []


# --- reef demo ------------------------------------------------------------------------------


def test_demo_prints_table_and_records_runs(reef: Reef) -> None:
    result = reef.ok("demo")
    rows = [line for line in result.stdout.splitlines() if DIGITS_CLASSIFIER in line]
    assert len(rows) == 2, result.stdout
    assert "SingleStream" in rows[0] and "Offline" in rows[1]
    for row in rows:
        assert "valid" in row and "top1" in row and "pass" in row, row
    listed = reef.runs()
    assert sorted(r["settings"]["scenario"] for r in listed) == ["Offline", "SingleStream"]
    assert all(r["status"] == "valid" for r in listed)
    assert "reef runs list" in result.stderr
    json.dumps(listed)  # records stay JSON


def test_bench_repeated_across_pinned_processes(reef: Reef) -> None:
    """--repeat 2 --cpus: two worker processes on the chosen core, one run keeping each
    process's summary and what else the machine did meanwhile."""
    import os

    core = min(os.sched_getaffinity(0))
    result = reef(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--repeat", "2", "--cpus", str(core), "--json"
    )  # fmt: skip
    assert result.rc == 0, str(result)
    [record] = result.json()
    assert_valid(record)
    assert record["settings"]["repeat"] == 2 and record["settings"]["cpus"] == [core]
    processes = record["processes"]
    assert [p["index"] for p in processes] == [1, 2]
    for p in processes:
        assert p["status"] == "valid" and p["queries"] > 0
        assert p["interference"]["cpus"] == [core]
        assert Path(p["log_dir"]).is_dir() and f"process-{p['index']}" in p["log_dir"]
    assert record["accuracy"]["value"] is not None  # measured once, in the first process
    section = record["interference"]
    assert section["cpus"] == [core] and isinstance(section["busy"], bool) and section["reason"]
    p50s = sorted(p["latency_ms"]["p50"] for p in processes)
    assert record["performance"]["latency_ms"]["p50"] == pytest.approx(sum(p50s) / 2)
    assert "process 1 of 2" in result.stderr and "process 2 of 2" in result.stderr
    assert [r["id"] for r in reef.runs()] == [record["id"]]
