"""Issue 14, item 6: MLflow. `reef runs export --mlflow URI [filters]` exports runs already
stored (idempotently); MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME are honoured; a URI's
password never appears in a message; bad input exits 2 and exports nothing."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from cli_support import InProcessReef
from e2e_support import assert_json_error, assert_usage_error
from mlflow.tracking import MlflowClient
from stored_runs import LISTED, seed_home

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def listed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed_home(tmp_path_factory.mktemp("listed") / "reef-home", LISTED)


@pytest.fixture
def stored(cli: InProcessReef, listed_home: Path) -> InProcessReef:
    shutil.copytree(listed_home, cli.home)
    return cli


def mlflow_runs(store: Path, experiment: str) -> dict[str, str]:
    """reef run id -> MLflow run id, of the runs in ``experiment``."""
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    return {
        r.data.tags["reef.run_id"]: r.info.run_id for r in client.search_runs([found.experiment_id])
    }


def test_export_what_the_filters_select(stored: InProcessReef, tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    uri = f"sqlite:///{store}"
    result = stored("runs", "export", "--mlflow", uri, "--scenario", "single-stream", "--json")
    assert result.rc == 0, str(result)
    data = result.json()
    single = [r.id for r in LISTED if r.settings.scenario == "SingleStream"]
    assert sorted(r["run_id"] for r in data["runs"]) == sorted(single)
    assert data["uri"] == uri and data["experiment"] == "reef"
    assert mlflow_runs(store, "reef") == {r["run_id"]: r["mlflow_run_id"] for r in data["runs"]}
    again = stored.ok("runs", "export", "--mlflow", uri, "--scenario", "SingleStream")
    assert again.says(f"exported {len(single)} run(s) to MLflow at {uri}")
    assert len(mlflow_runs(store, "reef")) == len(single)  # not exported twice


def test_export_by_id_into_an_experiment(stored: InProcessReef, tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    first = LISTED[0].id
    data = stored.ok(
        "runs", "export", first, "--mlflow", f"sqlite:///{store}", "--experiment", "mine",
        "--json",
    ).json()  # fmt: skip
    assert [r["run_id"] for r in data["runs"]] == [first]
    assert list(mlflow_runs(store, "mine")) == [first]


def test_mlflow_environment_variables_are_honoured(stored: InProcessReef, tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{store}", "MLFLOW_EXPERIMENT_NAME": "from-env"}
    result = stored("runs", "export", "--model", "resnet50", "--json", env=env)
    assert result.rc == 0, str(result)
    assert result.json()["experiment"] == "from-env"
    assert len(mlflow_runs(store, "from-env")) == sum(
        1 for r in LISTED if r.target.name == "resnet50"
    )


def test_a_password_is_never_shown(stored: InProcessReef) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://reef:s3cret@127.0.0.1:{port}"
    result = stored("runs", "export", "--mlflow", uri)
    assert_usage_error(result, f"http://reef:***@127.0.0.1:{port}", "no tracking server answers")
    assert "s3cret" not in result.stderr + result.stdout
    data = assert_json_error(stored("runs", "export", "--mlflow", uri, "--json"), "reef:***@")
    assert "s3cret" not in str(data)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), ("no MLflow tracking URI: give --mlflow URI or set MLFLOW_TRACKING_URI",)),
        (("--mlflow", "ftp://x/y"), ("unsupported scheme 'ftp'",)),
        (("--mlflow", "{store}", "--model", "bert"), ("--model bert leaves none of the",)),
        (("--mlflow", "{store}", "--scenario", "Batch"), ("--scenario: unknown value 'Batch'",)),
        (("--mlflow", "{store}", "no-such-run"), ("no-such-run",)),
        (("--mlflow", "{store}", "run0001", "--model", "x"), ("give run ids or filters",)),
    ],
)
def test_bad_input_exports_nothing(
    stored: InProcessReef, tmp_path: Path, args: tuple[str, ...], says: tuple[str, ...]
) -> None:
    store = tmp_path / "out" / "mlflow.db"
    argv = [a.replace("{store}", f"sqlite:///{store}") for a in args]
    result = stored("runs", "export", *argv)
    assert_usage_error(result, *says)
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()
