"""`reef bench --trace` and `reef trace`: the real CLI, with bad input refused up front."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_support import DIGITS_CLASSIFIER, SHORT, Benched, Reef, assert_usage_error


def test_traced_bench_summary_and_export(reef: Reef, tmp_path: Path) -> None:
    exported = tmp_path / "bench-trace.json"
    result = reef.ok(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--mode", "performance", "--trace", "model",
        "--trace-export", str(exported), "--json",
    )  # fmt: skip
    record = result.json()[0]
    trace = record["trace"]
    assert trace["level"] == "model" and trace["layers"] == ["model"]
    run_file = reef.home / "runs" / record["id"] / "trace.json.gz"
    assert Path(trace["path"]) == run_file and run_file.is_file()
    data = json.loads(exported.read_text())
    assert {e["name"] for e in data["traceEvents"]} >= {"query", "predict", "warm-up call"}

    summary = reef.ok("trace", record["id"][:8], "--json").json()
    assert summary["run_id"] == record["id"] and summary["level"] == "model"
    stages = {s["stage"]: s for s in summary["summary"]["stages"]}
    assert stages["predict"]["share"] > 0 and summary["summary"]["cold"]["seq"] == 0
    assert "queries" in summary["policy"]

    bad = tmp_path / "no-such-folder" / "x.json"
    refused = reef("trace", record["id"], "--export", str(bad))
    assert_usage_error(refused, "--export", "does not exist")
    assert not bad.parent.exists()


def test_trace_of_an_untraced_run_says_how_to_record_one(benched: Benched) -> None:
    run_id = benched.records[0]["id"]
    result = benched.reef("trace", run_id)
    assert_usage_error(result, "has no trace", "reef bench TARGET --trace model")
    assert not (benched.reef.home / "runs" / run_id / "trace.json.gz").exists()


def test_unwritable_trace_export_is_refused_before_benchmarking(reef: Reef, tmp_path: Path) -> None:
    bad = tmp_path / "missing" / "trace.json"
    result = reef(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--trace", "model", "--trace-export", str(bad)
    )
    assert_usage_error(result, "--trace-export", "does not exist")
    assert "warm-up" not in result.stderr
    reef.assert_nothing_written()
    bogus = reef("bench", DIGITS_CLASSIFIER, "--trace", "everything")
    assert_usage_error(bogus, "--trace", "unknown level", "none, model, framework, system, full")
    reef.assert_nothing_written()
