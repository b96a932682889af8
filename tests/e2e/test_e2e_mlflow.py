"""--mlflow through the real CLI: runs land in MLflow's own SQLite store, a `reef run`'s runs
under one parent. The store is made once (MLflow's migrations cost seconds) and both kinds of
export go to it. An unusable store, refused before anything is measured, is checked in-process
in ``tests/cli/test_cli_options.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from e2e_support import SHORT, Reef

import reef as reef_pkg

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")

SOLUTION = "digits-classification"


def client(store: Path) -> object:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{store}")


def short_solution(folder: Path) -> Path:
    """A copy of the built-in solution, the same but for a shorter benchmark; run by its path."""
    shutil.copytree(Path(reef_pkg.__file__).parent / "builtin" / SOLUTION, folder)
    manifest = folder / "reef.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["bench"]["settings"]["duration_s"] = float(SHORT[1])
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


def test_bench_then_a_solution_run_log_to_mlflow(reef: Reef, tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    # reef bench: a new store, one MLflow run per Reef run
    reef.ok("bench", "digits-classifier", *SHORT, "--mlflow", f"sqlite:///{store}")
    (run,) = reef.runs()
    mlflow = client(store)
    experiment = mlflow.get_experiment_by_name("reef")  # type: ignore[attr-defined]
    found = mlflow.search_runs([experiment.experiment_id])  # type: ignore[attr-defined]
    assert len(found) == 1
    logged = found[0].data
    assert logged.tags["reef.run_id"] == run["id"]
    assert logged.params["scenario"] == "SingleStream"
    assert logged.metrics["latency_p50_ms"] == run["performance"]["latency_ms"]["p50"]
    assert logged.metrics["accuracy_top1"] == run["accuracy"]["value"]
    bench_run = found[0].info.run_id

    # reef run of a solution, into the same store: one parent, its benchmarks under it
    solution = short_solution(tmp_path / SOLUTION)
    reef.ok("run", str(solution), "--mlflow", f"sqlite:///{store}")
    found = mlflow.search_runs([experiment.experiment_id])  # type: ignore[attr-defined]
    found = [r for r in found if r.info.run_id != bench_run]
    children = [r for r in found if "mlflow.parentRunId" in r.data.tags]
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert {c.data.tags["reef.solution"] for c in children} == {SOLUTION}
