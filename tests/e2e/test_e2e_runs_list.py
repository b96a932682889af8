"""`reef runs list` as a user runs it, in real processes: a filter, the CSV, a selection a
filter emptied and a bad option. Every filter, sort, format and bad input is checked
in-process in ``tests/cli/test_cli_runs_list.py``."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from e2e_support import Reef, assert_usage_error
from stored_runs import CSV_HEADER, LISTED, seed_home


@pytest.fixture(scope="module")
def listed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_home(tmp_path_factory.mktemp("listed") / "reef-home", LISTED)


@pytest.fixture
def stored(reef: Reef, listed_home: Path) -> Reef:
    shutil.copytree(listed_home, reef.home)
    return reef


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_filters_select_the_runs(stored: Reef) -> None:
    got = stored.runs("--model", "digits-classifier", "--backend", "onnxruntime", "--since", "30d")
    assert [r["id"] for r in got] == ["run0002"]


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
    assert datetime.fromisoformat(first["created_at"]) == LISTED[1].created_at


def test_empty_selection_says_which_filter_emptied_it(stored: Reef) -> None:
    before = digest(stored.home / "reef.db")
    result = stored("runs", "list", "--model", "digits-classifier", "--backend", "tensorrt")
    assert_usage_error(
        result,
        "no runs match: --backend tensorrt leaves none of the 3 runs of --model digits-classifier",
    )
    assert result.stdout == "", str(result)
    assert digest(stored.home / "reef.db") == before


def test_bad_input_exits_2_and_writes_nothing(reef: Reef) -> None:
    result = reef("runs", "list", "--sort", "speed")
    assert_usage_error(
        result, "--sort: unknown field 'speed'", "created_at, p50, p90, p99, throughput, accuracy"
    )
    assert result.stdout == "", str(result)
    assert not (reef.home / "reef.db").exists()  # not even the database made
