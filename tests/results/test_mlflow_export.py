"""Export to MLflow: real MLflow stores (SQLite, the file store), read back with MlflowClient."""

from __future__ import annotations

import http.server
import json
import socket
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from factories import run_record
from reef.errors import ReefError
from reef.meta.run import (
    Accuracy,
    ComponentRef,
    Latency,
    LoadGenInfo,
    Performance,
    PredictorInfo,
    RunRecord,
    SolutionRef,
)
from reef.results.mlflow_export import (
    MlflowExportError,
    MlflowUnavailable,
    check_uri,
    export_records,
    run_name,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LOCK = {"format_version": 1, "components": [{"name": "digits", "version": "1.0.0"}]}


def make_record(
    run_dir: Path,
    *,
    status: str = "valid",
    scenario: str = "SingleStream",
    step: str = "bench-single",
    minutes: int = 0,
) -> RunRecord:
    """A record with a run folder holding LoadGen-like logs, as `reef bench` leaves one."""
    record = run_record(
        created_at=T0,
        minutes=minutes,
        finished_at=T0 + timedelta(minutes=minutes, seconds=42),
        status=status,
        reasons=[] if status == "valid" else ["min_duration not met"],
        kind="manifest",
        name="digits-classifier",
        version="1.2.0",
        path="/m/model.yaml",
        sha256="a" * 64,
        components=[
            ComponentRef(kind="dataset", name="digits", version="1.0.0", sha256="b" * 64),
            ComponentRef(kind="model", name="raw-model", sha256="c" * 64),
        ],
        scenario=scenario,
        settings={"duration_s": 0.5},
        predictor=PredictorInfo(
            name="onnxruntime",
            version="1.20.0",
            providers=["CPUExecutionProvider"],
            options={"graph optimization/level": "all"},
        ),
        loadgen=LoadGenInfo(version="5.0", result="VALID" if status == "valid" else "INVALID"),
        performance=Performance(
            latency_ms=Latency(min=0.1, mean=0.2, p50=0.2, p90=0.3, p95=0.35, p99=0.4, max=0.9),
            throughput_qps=99.5,
            samples=500,
            queries=450,
            duration_s=0.6,
        ),
        accuracy=Accuracy(metric="top-1", value=0.97, reference=0.97, passed=True),
        environment={"hash": "e" * 64},
        solution=SolutionRef(name="digits-demo", version="0.1.0", run="feedc0de", step=step),
        lock=LOCK,
        raw=[100, 200, 300],
    )
    folder = run_dir / record.id
    perf = folder / "performance"
    perf.mkdir(parents=True)
    (perf / "mlperf_log_summary.txt").write_text("Result is : VALID\n")
    (perf / "mlperf_log_detail.txt").write_text(":::MLLOG {}\n")
    (folder / "record.json").write_text(record.model_dump_json())
    record.artifacts = {
        "run_dir": str(folder),
        "loadgen_performance": str(perf),
        "gone": str(folder / "deleted-meanwhile.txt"),
    }
    if status == "failed":
        record.artifacts["traceback"] = "Traceback (most recent call last):\n  boom\n"
    return record


@dataclass
class Exported:
    uri: str
    client: MlflowClient
    records: list[RunRecord]
    ids: list[str]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Two runs of one `reef run` exported, nested, to a fresh SQLite store in a new folder."""
    tmp = tmp_path_factory.mktemp("mlflow")
    records = [
        make_record(tmp / "runs"),
        make_record(
            tmp / "runs", status="invalid", scenario="Offline", step="bench-off", minutes=1
        ),
    ]
    uri = f"sqlite:///{tmp / 'store' / 'mlflow.db'}"
    ids = export_records(records, uri, parent_name="digits-demo feedc0de")
    return Exported(uri, MlflowClient(tracking_uri=uri), records, ids)


def test_one_run_per_record_with_name_times_and_status(exported: Exported) -> None:
    assert len(exported.ids) == 2
    valid = exported.client.get_run(exported.ids[0])
    invalid = exported.client.get_run(exported.ids[1])
    record = exported.records[0]
    assert (
        valid.info.run_name == run_name(record) == f"digits-classifier SingleStream {record.id[:8]}"
    )
    assert valid.info.start_time == int(record.created_at.timestamp() * 1000)
    assert record.finished_at is not None
    assert valid.info.end_time == int(record.finished_at.timestamp() * 1000)
    assert (valid.info.status, invalid.info.status) == ("FINISHED", "FAILED")
    experiment = exported.client.get_experiment(valid.info.experiment_id)
    assert experiment.name == "reef"


def test_tags(exported: Exported) -> None:
    record = exported.records[0]
    tags = exported.client.get_run(exported.ids[0]).data.tags
    assert tags["reef.run_id"] == record.id
    assert tags["reef.status"] == "valid"
    assert tags["reef.target"] == "digits-classifier"
    assert tags["reef.scenario"] == "SingleStream"
    assert tags["reef.environment_hash"] == "e" * 64
    assert tags["reef.solution"] == "digits-demo"
    assert tags["reef.solution_version"] == "0.1.0"
    assert tags["reef.solution_step"] == "bench-single"
    assert tags["mlflow.source.name"] == "reef"
    assert "reef.reproduces" not in tags
    assert "reef.artifacts_note" not in tags
    invalid = exported.client.get_run(exported.ids[1]).data.tags
    assert "min_duration not met" in invalid["mlflow.note.content"]


def test_params(exported: Exported) -> None:
    params = exported.client.get_run(exported.ids[0]).data.params
    settings = exported.records[0].settings.model_dump(mode="json")
    for name, value in settings.items():
        # A list setting (cpus, audits) is logged as MLflow's comma-separated text.
        expected = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        assert params[name] == expected, name
    assert params["scenario"] == "SingleStream"
    assert params["duration_s"] == "0.5"
    assert params["predictor.name"] == "onnxruntime"
    assert params["predictor.version"] == "1.20.0"
    assert params["predictor.providers"] == "CPUExecutionProvider"
    # '/' is outside the keys MLflow's path-safe check allows: it is replaced.
    assert params["predictor.option.graph optimization_level"] == "all"
    assert params["target.version"] == "1.2.0"
    assert params["target.sha256"] == "a" * 64
    assert params["components"] == f"digits@1.0.0={'b' * 12}, raw-model={'c' * 12}"


def test_metrics(exported: Exported) -> None:
    metrics = exported.client.get_run(exported.ids[0]).data.metrics
    assert metrics["latency_p50_ms"] == 0.2
    assert metrics["latency_p99_ms"] == 0.4
    assert metrics["latency_max_ms"] == 0.9
    assert metrics["throughput_qps"] == 99.5
    assert (metrics["samples"], metrics["queries"]) == (500, 450)
    assert metrics["accuracy_top-1"] == 0.97
    assert metrics["accuracy_passed"] == 1
    assert metrics["loadgen_valid"] == 1
    assert exported.client.get_run(exported.ids[1]).data.metrics["loadgen_valid"] == 0


def test_artifacts(exported: Exported, tmp_path: Path) -> None:
    client, run_id, record = exported.client, exported.ids[0], exported.records[0]
    out = Path(client.download_artifacts(run_id, "reef", str(tmp_path)))
    assert json.loads((out / "record.json").read_text()) == record.summary_json()
    assert json.loads((out / "reef.lock").read_text()) == LOCK
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    # Each file once, under the most specific name; the missing one skipped quietly.
    assert files == [
        "artifacts/loadgen_performance/mlperf_log_detail.txt",
        "artifacts/loadgen_performance/mlperf_log_summary.txt",
        "artifacts/run_dir/record.json",
        "record.json",
        "reef.lock",
    ]
    # Artifacts sit beside the database, not in the current folder's ./mlruns.
    uri = client.get_run(run_id).info.artifact_uri
    assert uri.startswith((Path(exported.uri[len("sqlite:///") :]).parent / "mlartifacts").as_uri())


def test_nested_under_one_parent(exported: Exported) -> None:
    client = exported.client
    parents = {client.get_run(i).data.tags["mlflow.parentRunId"] for i in exported.ids}
    assert len(parents) == 1
    parent = client.get_run(parents.pop())
    assert parent.info.run_name == "digits-demo feedc0de"
    assert parent.data.tags["reef.parent_name"] == "digits-demo feedc0de"
    assert parent.data.tags["reef.solution_run"] == "feedc0de"
    assert parent.info.status == "FAILED"  # one child is invalid
    assert parent.data.metrics == {"runs": 2, "runs_valid": 1}
    assert parent.info.start_time == int(T0.timestamp() * 1000)


def test_exporting_again_skips_what_is_there(exported: Exported, tmp_path: Path) -> None:
    first = [make_record(tmp_path), make_record(tmp_path, minutes=1)]
    ids = export_records(first, exported.uri, experiment="again", parent_name="p")
    extra = make_record(tmp_path, minutes=2)
    again = export_records([*first, extra], exported.uri, experiment="again", parent_name="p")
    assert again[:2] == ids
    client = exported.client
    experiment_id = client.get_run(ids[0]).info.experiment_id
    runs = client.search_runs([experiment_id])
    assert len(runs) == 4  # one parent, three children: nothing duplicated
    parents = {client.get_run(i).data.tags["mlflow.parentRunId"] for i in again}
    assert len(parents) == 1
    assert client.get_run(parents.pop()).data.metrics == {"runs": 3, "runs_valid": 3}


def test_a_run_left_running_is_exported_anew(exported: Exported, tmp_path: Path) -> None:
    record = make_record(tmp_path)
    (first,) = export_records([record], exported.uri, experiment="crashed")
    client = exported.client
    client.update_run(first, status="RUNNING")  # as an export that died midway leaves it
    (second,) = export_records([record], exported.uri, experiment="crashed")
    assert second != first
    assert client.get_run(first).info.lifecycle_stage == "deleted"
    assert client.get_run(second).info.status == "FINISHED"


def test_a_parent_left_running_keeps_its_children(exported: Exported, tmp_path: Path) -> None:
    first = make_record(tmp_path)
    (child,) = export_records([first], exported.uri, experiment="parent", parent_name="p")
    client = exported.client
    parent_id = client.get_run(child).data.tags["mlflow.parentRunId"]
    client.update_run(parent_id, status="RUNNING")  # died before the parent was finished
    second = make_record(tmp_path, minutes=1)
    ids = export_records([first, second], exported.uri, experiment="parent", parent_name="p")
    assert ids[0] == child
    assert client.get_run(ids[1]).data.tags["mlflow.parentRunId"] == parent_id
    assert client.get_run(parent_id).info.status == "FINISHED"


def test_long_values_are_cut_and_big_artifacts_left_out(exported: Exported, tmp_path: Path) -> None:
    record = make_record(tmp_path / "runs", status="failed")
    record.components = [
        ComponentRef(kind="dataset", name=f"component-{i:04d}", version="1.0", sha256="d" * 64)
        for i in range(400)
    ]
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 4096)
    record.artifacts["big"] = str(big)
    (run_id,) = export_records([record], exported.uri, experiment="long", max_artifact_bytes=2048)
    client = exported.client
    run = client.get_run(run_id)
    components = run.data.params["components"]
    assert len(components) <= 6000
    assert components.startswith("component-0000@1.0=")
    assert components.endswith("characters in all]")
    assert run.info.status == "FAILED"
    assert "over the 0 MB cap" in run.data.tags["reef.artifacts_note"]
    names = {f.path for f in client.list_artifacts(run_id, "reef/artifacts")}
    assert "reef/artifacts/big" not in names
    assert "reef/artifacts/traceback.txt" in names


def test_file_store_when_mlflow_allows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "mlruns"
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    with pytest.raises(MlflowExportError) as refused:
        check_uri(str(store))
    assert "MLFLOW_ALLOW_FILE_STORE" in (refused.value.hint or "")
    assert "sqlite:///" in (refused.value.hint or "")
    assert not store.exists()

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    check_uri(store.as_uri())
    record = make_record(tmp_path / "runs")
    (run_id,) = export_records([record], store.as_uri())
    run = MlflowClient(tracking_uri=store.as_uri()).get_run(run_id)
    assert run.data.tags["reef.run_id"] == record.id
    assert run.data.metrics["throughput_qps"] == 99.5
    assert export_records([record], str(store)) == [run_id]


def test_check_uri_accepts_a_new_sqlite_store_and_creates_nothing(tmp_path: Path) -> None:
    check_uri(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'mlflow.db'}")
    assert list(tmp_path.iterdir()) == []


def test_check_uri_finds_a_server_down_at_once() -> None:
    """MLflow's own client retries a refused connection for minutes; Reef asks once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://reef:s3cret@127.0.0.1:{port}"
    for call in (lambda: check_uri(uri), lambda: export_records([], uri)):
        with pytest.raises(MlflowExportError) as caught:
            call()
        assert f"http://reef:***@127.0.0.1:{port}: no tracking server answers" in (
            caught.value.message
        )


def test_check_uri_accepts_a_server_that_answers() -> None:
    """Any HTTP answer will do: a 404 for /health still means a server is there."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        check_uri(f"http://127.0.0.1:{server.server_address[1]}/mlflow/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    "where",
    ["sqlite:///{blocker}/sub/mlflow.db", "sqlite:///{blocker}", "{blocker}/sub"],
    ids=["sqlite-under-a-file", "sqlite-not-a-database", "file-store-under-a-file"],
)
def test_check_uri_refuses_an_unusable_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder, not a database")
    uri = where.format(blocker=blocker)
    for call in (lambda: check_uri(uri), lambda: export_records([], uri)):
        with pytest.raises(MlflowExportError) as caught:
            call()
        assert uri in caught.value.message
        assert caught.value.exit_code == 2
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]
    assert blocker.read_text() == "not a folder, not a database"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/x", "unsupported scheme 's3'"),
        ("sqlite://", "names no database file"),
        ("http://", "no host"),
        ("postgresql+nodriver://reef:s3cret@db.example.org/mlflow", "nodriver"),
    ],
)
def test_check_uri_refuses_bad_uris(uri: str, expected: str) -> None:
    with pytest.raises(MlflowExportError) as caught:
        check_uri(uri)
    assert expected in caught.value.message
    assert "s3cret" not in caught.value.message


def test_password_is_hidden() -> None:
    error = MlflowExportError("https://me:s3cret@mlflow.example.org", "refused s3cret")
    assert error.message == "MLflow store https://me:***@mlflow.example.org: refused ***"
    assert isinstance(error, ReefError)


def test_missing_mlflow_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.setitem(sys.modules, name, None)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    calls: list[Any] = [lambda: check_uri(uri), lambda: export_records([], uri)]
    for call in calls:
        with pytest.raises(MlflowUnavailable) as caught:
            call()
        assert "pip install 'reef-bench[mlflow]'" in (caught.value.hint or "")
    assert list(tmp_path.iterdir()) == []
