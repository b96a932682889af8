"""--mlflow through the real CLI: runs land in MLflow's own SQLite store, a `reef run`'s
runs under one parent; an unusable store is refused before anything is measured."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import SHORT, Reef, assert_usage_error

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")


def client(store: Path) -> object:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{store}")


def test_bench_logs_each_run_to_mlflow(reef: Reef, tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
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


def test_a_solution_run_is_one_parent_with_its_benchmarks_under_it(
    reef: Reef, tmp_path: Path
) -> None:
    store = tmp_path / "mlflow.db"
    reef.ok("run", "digits-classification", "--mlflow", f"sqlite:///{store}")
    mlflow = client(store)
    experiment = mlflow.get_experiment_by_name("reef")  # type: ignore[attr-defined]
    found = mlflow.search_runs([experiment.experiment_id])  # type: ignore[attr-defined]
    children = [r for r in found if "mlflow.parentRunId" in r.data.tags]
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert {c.data.tags["reef.solution"] for c in children} == {"digits-classification"}


def test_an_unusable_store_is_refused_before_anything_runs(reef: Reef, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = reef("bench", "digits-classifier", *SHORT, "--mlflow", f"sqlite:///{blocker}/m.db")
    assert_usage_error(result, str(blocker))
    reef.assert_nothing_written()
