"""`reef runs list` as a user runs it: filters, sorting, table/JSON/CSV, and bad input."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from e2e_support import Reef, Result, assert_usage_error

from reef.meta.run import Accuracy, Latency, Performance, PredictorInfo, RunRecord, Target
from reef.meta.settings import BenchSettings
from reef.results import Store

NOW = datetime.now(UTC)
CSV_HEADER = [
    "id", "created_at", "model", "version", "scenario", "backend", "status", "p50_ms",
    "p90_ms", "p99_ms", "throughput_qps", "accuracy_metric", "accuracy_value", "solution",
]  # fmt: skip


def record(
    run_id: str, name: str, backend: str, scenario: str, days_ago: float, p90: float
) -> RunRecord:
    return RunRecord(
        id=run_id,
        created_at=NOW - timedelta(days=days_ago),
        status="valid",
        target=Target(kind="onnx", name=name, version="1.0.0", path="/m.onnx", sha256="0" * 64),
        settings=BenchSettings(scenario=scenario),
        predictor=PredictorInfo(name=backend, version="1"),
        performance=Performance(
            latency_ms=Latency(min=1, mean=2, p50=p90 / 2, p90=p90, p95=p90, p99=p90 * 2, max=99),
            throughput_qps=1000 / p90,
            samples=100,
            queries=100,
        ),
        accuracy=Accuracy(metric="top1", value=0.9),
    )


RUNS = [
    record("run0001", "digits-classifier", "onnxruntime", "SingleStream", 40, 2.0),
    record("run0002", "digits-classifier", "onnxruntime", "Offline", 20, 1.0),
    record("run0003", "digits-classifier", "openvino", "SingleStream", 3, 3.0),
    record("run0004", "resnet50", "tensorrt", "Server", 1, 9.0),
]


@pytest.fixture
def stored(reef: Reef, monkeypatch: pytest.MonkeyPatch) -> Reef:
    monkeypatch.setenv("REEF_HOME", str(reef.home))
    monkeypatch.delenv("REEF_DB_URL", raising=False)
    with Store() as s:
        s.add_many(RUNS)
    return reef


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused(reef: Reef, result: Result, *fragments: str, db_before: str | None) -> None:
    """Exit 2 with the message, nothing on stdout, and the database as it was (or absent)."""
    assert_usage_error(result, *fragments)
    assert result.stdout == "", str(result)
    db = reef.home / "reef.db"
    if db_before is None:
        assert not db.exists()
    else:
        assert digest(db) == db_before


def test_filters_and_default_order(stored: Reef) -> None:
    got = stored.runs("--model", "digits-classifier")
    assert [r["id"] for r in got] == ["run0003", "run0002", "run0001"]
    got = stored.runs("--model", "digits-classifier", "--backend", "onnxruntime", "--since", "30d")
    assert [r["id"] for r in got] == ["run0002"]
    assert [r["id"] for r in stored.runs("--text", "TENSORRT", "--tag", "onnx")] == ["run0004"]
    assert [r["id"] for r in stored.runs("--version", ">=1,<2", "-n", "1")] == ["run0004"]


def test_sorting_both_ways(stored: Reef) -> None:
    assert [r["id"] for r in stored.runs("--sort=-throughput")] == [
        "run0002", "run0001", "run0003", "run0004",
    ]  # fmt: skip
    assert [r["id"] for r in stored.runs("--sort", "-p90", "-n", "2")] == ["run0004", "run0003"]


def test_csv_parses_with_the_csv_module(stored: Reef) -> None:
    result = stored.ok("runs", "list", "--format", "csv", "--sort", "p90")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == CSV_HEADER
    table = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["id"] for r in table] == ["run0002", "run0001", "run0003", "run0004"]
    first = table[0]
    assert (first["model"], first["version"], first["scenario"], first["backend"]) == (
        "digits-classifier",
        "1.0.0",
        "Offline",
        "onnxruntime",
    )
    assert float(first["p90_ms"]) == 1.0 and float(first["throughput_qps"]) == 1000.0
    assert (first["accuracy_metric"], float(first["accuracy_value"])) == ("top1", 0.9)
    assert first["solution"] == ""
    assert datetime.fromisoformat(first["created_at"]) == RUNS[1].created_at


def test_json_alias_and_table(stored: Reef) -> None:
    assert stored.ok("runs", "list", "--json").json() == stored.runs()
    table = stored.ok("runs", "list", "--format", "table", "--model", "resnet50").stdout
    assert "run0004" in table and "resnet50@1.0.0" in table and "run0001" not in table


def test_empty_store_without_filters_is_friendly(reef: Reef) -> None:
    assert "no runs recorded yet" in reef.ok("runs", "list").stdout
    assert reef.ok("runs", "list", "--format", "csv").stdout.splitlines() == [",".join(CSV_HEADER)]


def test_empty_selection_says_which_filter_emptied_it(stored: Reef) -> None:
    before = digest(stored.home / "reef.db")
    for output in ("table", "csv"):
        result = stored(
            "runs", "list", "--model", "digits-classifier", "--backend", "tensorrt",
            "--format", output,
        )  # fmt: skip
        assert_refused(
            stored,
            result,
            "no runs match: --backend tensorrt leaves none of the 3 runs of "
            "--model digits-classifier",
            db_before=before,
        )
    result = stored("runs", "list", "--model", "bert")
    assert_refused(
        stored, result, "--model bert leaves none of the 4 runs in the store", db_before=before
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ("--sort", "speed"),
            ("--sort: unknown field 'speed'", "created_at, p50, p90, p99, throughput, accuracy"),
        ),
        (("--since", "last week"), ("--since: cannot read 'last week'", "7d")),
        (("--until", "2025-02-30"), ("--until: cannot read '2025-02-30'",)),
        (("--version", "=>1"), ("--version: '=>1' is neither a version nor a PEP 440",)),
        (("--status", "done"), ("--status: unknown value 'done'", "valid, invalid, interrupted")),
        (("--scenario", "Batch"), ("--scenario: unknown value 'Batch'", "SingleStream")),
        (("--format", "xml"), ("--format: unknown format 'xml'", "table, json, csv")),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    reef: Reef, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    result = reef("runs", "list", *args)
    assert_refused(reef, result, *fragments, db_before=None)  # not even the database made
