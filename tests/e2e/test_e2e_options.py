"""Options that change a real benchmark, on one performance run of the built-in classifier
shared by the module: ``--graph-optimization`` is used and recorded, raw latencies are not
kept by default for a microsecond model, and REEF_DB_URL moves the store. The refused options
(predictor options, Server-only options, checks that report every problem at once) are checked
in-process in ``tests/cli/test_cli_options.py``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_support import DIGITS_CLASSIFIER, SHORT, Reef, Result


@dataclass
class PerformanceRun:
    """``reef bench`` (performance only, basic graph optimization) with the store elsewhere."""

    reef: Reef
    env: dict[str, str]
    db: Path
    result: Result
    record: dict[str, Any]


@pytest.fixture(scope="module")
def performance_run(tmp_path_factory: pytest.TempPathFactory) -> PerformanceRun:
    base = tmp_path_factory.mktemp("performance")
    work = base / "work"
    work.mkdir()
    cli = Reef(base / "reef-home", work)
    db = base / "elsewhere" / "runs.db"
    env = {"REEF_DB_URL": f"sqlite:///{db}"}
    result = cli(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--mode", "performance",
        "--graph-optimization", "basic", "--json", env=env,
    )  # fmt: skip
    assert result.rc == 0, str(result)
    [record] = result.json()
    return PerformanceRun(cli, env, db, result, record)


def test_graph_optimization_level_is_used_and_recorded(performance_run: PerformanceRun) -> None:
    record = performance_run.record
    assert record["predictor"]["options"]["graph_optimization"] == "basic"
    assert record["predictor"]["providers"] == ["CPUExecutionProvider"]


def test_microsecond_model_skips_raw_latencies_by_default(performance_run: PerformanceRun) -> None:
    reef, record = performance_run.reef, performance_run.record
    assert "raw per-query latencies not kept" in " ".join(record["loadgen"]["warnings"])
    shown = reef("runs", "show", record["id"], "--raw", "--json", env=performance_run.env)
    assert shown.rc == 0 and "Traceback" not in shown.stderr, str(shown)
    assert shown.json()["latencies_ns"] is None


def test_reef_db_url_points_the_store_elsewhere(performance_run: PerformanceRun) -> None:
    reef, record = performance_run.reef, performance_run.record
    assert performance_run.db.is_file()
    assert not (reef.home / "reef.db").exists()
    listed = reef("runs", "list", "--json", env=performance_run.env).json()
    assert [r["id"] for r in listed] == [record["id"]]
    # LoadGen's logs still live under REEF_HOME
    assert (reef.home / "runs" / record["id"] / "performance" / "mlperf_log_detail.txt").is_file()
