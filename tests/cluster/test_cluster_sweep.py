"""Sweeps on a real Dask ``LocalCluster`` of two process workers, each a Reef agent: 6 cells
give 6 stored runs, each checked and stored once; a worker killed in the middle of a cell
gets the cell retried on the other and nothing recorded twice; a cell asking for a resource no
agent offers fails within seconds naming it; ``--resume`` skips the finished cells; cancel
stops the pending ones; ``reef cluster status`` lists the agents with their hardware; a
scheduler that cannot be reached exits 3 with one line."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("distributed")

from distributed import Client, LocalCluster
from e2e_support import Reef, free_port

from reef import api
from reef.cluster.connect import start_local
from reef.cluster.runner import run_sweep
from reef.cluster.status import cluster_status
from reef.results import Store

pytestmark = pytest.mark.slow  # a cluster: make test-fast leaves it out, CI runs it

SHORT = {"duration_s": 0.2, "mode": "performance"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    started = start_local(2)
    yield started
    started.close()


@pytest.fixture
def client(cluster: LocalCluster) -> Iterator[Client]:
    with Client(cluster, set_as_default=False) as made:
        made.wait_for_workers(2, timeout=60)
        yield made


def sweep(tmp_path: Path, **spec: Any) -> api.SweepState:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"targets": ["digits-classifier"], **spec}))
    return api.sweep_start(path)


def run_reef(*args: str, home: Path, timeout: float = 120) -> Any:
    return Reef(home, home)(*args, timeout=timeout)


def stored_ids() -> list[str]:
    with Store() as db:
        return [r.id for r in db.list(limit=None)]


def test_six_cells_give_six_runs(tmp_path: Path, client: Client) -> None:
    state = sweep(
        tmp_path,
        scenarios=["SingleStream", "Offline"],
        settings={"threads": [1, 2, 3], **SHORT},
    )
    lines: list[tuple[str, str]] = []
    done = run_sweep(state, client, progress=lambda key, status, line: lines.append((key, status)))
    assert done.counts() == {"pending": 0, "done": 6, "failed": 0, "cancelled": 0}
    run_ids = [r for c in done.cells.values() for r in c.run_ids]
    assert sorted(stored_ids()) == sorted(run_ids) and len(set(run_ids)) == 6
    assert sorted(status for _, status in lines) == ["done"] * 6
    # Each run came back whole from its agent: its logs under this REEF_HOME's runs.
    from reef import config

    for run_id in run_ids:
        assert (config.runs_dir() / run_id / "performance" / "mlperf_log_detail.txt").is_file()
    record = api.runs_show(run_ids[0])
    assert record.settings.threads in (1, 2, 3)
    assert {c.agent for c in done.cells.values()} != {None}
    # Resumed: every cell is done, nothing runs again.
    again = run_sweep(api.sweep_start(resume=state.id), client)
    assert again.counts()["done"] == 6 and sorted(stored_ids()) == sorted(run_ids)


def test_a_resource_no_agent_offers_fails_at_once(tmp_path: Path, client: Client) -> None:
    state = sweep(tmp_path, hardware=["Some GPU box"], settings=SHORT)
    started = time.monotonic()
    done = run_sweep(state, client)
    assert time.monotonic() - started < 5
    (cell,) = done.cells.values()
    assert cell.status == "failed"
    assert "no agent offers hardware=Some_GPU_box" in (cell.error or "")
    assert "hardware=" in (cell.error or "") and "bench" in (cell.error or "")
    assert stored_ids() == []


def test_a_killed_worker_gets_its_cell_retried_and_nothing_twice(
    tmp_path: Path, client: Client
) -> None:
    import psutil

    state = sweep(tmp_path, settings={"threads": [1, 2], "duration_s": 3, "mode": "performance"})
    killed: list[int] = []

    def kill_one_running() -> None:
        end = time.monotonic() + 60
        while time.monotonic() < end and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(lambda: __import__("os").getpid(), workers=[busy[0]])[busy[0]]
                time.sleep(1.0)  # into the measurement
                psutil.Process(pid).kill()
                killed.append(pid)
            time.sleep(0.1)

    killer = threading.Thread(target=kill_one_running)
    killer.start()
    done = run_sweep(state, client)
    killer.join()
    assert killed, "no worker was busy to kill"
    assert done.counts()["done"] == 2, done.model_dump()
    run_ids = [r for c in done.cells.values() for r in c.run_ids]
    assert sorted(stored_ids()) == sorted(run_ids) and len(run_ids) == 2
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_cancel_stops_the_pending_cells(tmp_path: Path, client: Client) -> None:
    state = sweep(tmp_path, settings={"threads": [1, 2, 3, 4], "duration_s": 2})
    result: list[api.SweepState] = []
    runner = threading.Thread(target=lambda: result.append(run_sweep(state, client)))
    runner.start()
    time.sleep(1.5)
    api.sweep_cancel(state.id)
    runner.join(timeout=60)
    (done,) = result
    counts = done.counts()
    assert counts["cancelled"] >= 2 and counts["pending"] == 0, counts
    assert api.sweep_status(state.id).cancel_requested


def test_status_lists_the_agents(client: Client) -> None:
    found = cluster_status(client)
    assert len(found.agents) == 2
    for agent in found.agents:
        assert agent.hardware and agent.hardware != "unknown"
        assert "onnxruntime" in agent.backends
        assert agent.resources["bench"] == 1.0


def test_the_cli_runs_a_sweep_on_a_local_cluster(tmp_path: Path, reef_home: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"targets": ["digits-classifier"], "settings": SHORT}))
    result = run_reef("sweep", str(spec), "--local", "1", "--json", home=reef_home, timeout=180)
    assert result.rc == 0, str(result)
    data = result.json()
    assert [c["status"] for c in data["cells"].values()] == ["done"]
    assert "[1/1] done" in result.stderr
    listed = run_reef("sweep", "status", data["id"], home=reef_home)
    assert listed.rc == 0 and "1 done" in listed.stdout


def test_a_scheduler_that_cannot_be_reached_exits_3(tmp_path: Path, reef_home: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"targets": ["digits-classifier"]}))
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_reef("sweep", str(spec), "--scheduler", address, home=reef_home, timeout=60)
    assert result.rc == 3, str(result)
    assert time.monotonic() - started < 30
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: cannot reach the Dask scheduler at {address}: ")
    assert "Traceback" not in result.stderr
    status = run_reef("cluster", "status", "--scheduler", address, home=reef_home, timeout=60)
    assert status.rc == 3 and "cannot reach the Dask scheduler" in status.stderr


def test_a_bad_spec_exits_2_and_starts_nothing(tmp_path: Path, reef_home: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"targets": ["digits-classifier"], "settings": {"threads": []}}))
    result = run_reef("sweep", str(spec), "--local", "1", home=reef_home, timeout=60)
    assert result.rc == 2, str(result)
    assert "settings.threads: empty, so the sweep has no cell" in result.stderr
    assert not (reef_home / "sweeps").exists()


def test_tune_trials_measured_by_agents(client: Client) -> None:
    """``reef tune --scheduler``'s runner: each trial measured by an agent, its runs checked
    and stored here with the study's tag, the study as a local one would be."""
    from reef.cluster.runner import trial_runner

    report = api.tune_study(
        "digits-classifier",
        ["threads=1,2"],
        ["latency_p99:min"],
        budget=2,
        duration_s=0.3,
        study="on-agents",
        runner=trial_runner(client),
    )
    ids = stored_ids()
    assert len(ids) >= 2
    with Store() as db:
        tagged = db.list(api.RunFilter(tag="tune:on-agents"), limit=None)
    assert sorted(r.id for r in tagged) == sorted(ids)
    assert report.model_dump(mode="json")


def test_the_cli_tunes_on_a_scheduler(cluster: LocalCluster, reef_home: Path) -> None:
    result = run_reef(
        "tune", "digits-classifier", "--space", "threads=1,2", "-o", "latency_p99:min",
        "--budget", "2", "--duration", "0.3", "--study", "cli-agents",
        "--scheduler", cluster.scheduler_address, "--json",
        home=reef_home, timeout=180,
    )  # fmt: skip
    assert result.rc == 0, str(result)
    assert len(result.json()["trials"]) == 2
    listed = run_reef("runs", "list", "--tag", "tune:cli-agents", "--json", home=reef_home)
    assert len(listed.json()) >= 2


def test_agents_keep_the_environment_they_were_started_with(client: Client) -> None:
    """Dask would set OMP_NUM_THREADS (and MKL's, OpenBLAS's) to 1 for its workers, in the
    starting process's own environment: every benchmark would run with one BLAS thread."""
    import os

    wanted = os.environ.get("OMP_NUM_THREADS")
    seen = client.run(lambda: __import__("os").environ.get("OMP_NUM_THREADS"))
    assert set(seen.values()) == {wanted}
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
