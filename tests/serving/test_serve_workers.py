"""``reef serve --workers 2``: two processes answer on one port (the ``Reef-Worker`` header
names each), ``/metrics`` sums both workers' counters (prometheus-client's multiprocess mode,
in a private directory), each worker's drift state says which worker answered, and SIGTERM
to the parent stops every worker and removes the directory; ``--workers 0`` is refused."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

from e2e_support import free_port, wait_serving

psutil = pytest.importorskip("psutil")

MODEL = "digits-classifier"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REEF_", "PROMETHEUS_"))}
    env["REEF_HOME"] = str(home)
    env["TMPDIR"] = str(home / "tmp")  # the private directory is made here, to be seen
    (home / "tmp").mkdir(exist_ok=True)
    return env


def _infer(url: str, rows: np.ndarray) -> tuple[dict[str, Any], str]:
    body = json.dumps(
        {"inputs": [{"name": "input", "shape": list(rows.shape), "datatype": "FP32",
                     "data": rows.reshape(-1).tolist()}]}
    ).encode()  # fmt: skip
    request = urllib.request.Request(
        f"{url}/v2/models/{MODEL}/infer",
        data=body,
        headers={"Content-Type": "application/json", "Connection": "close"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read()), answer.headers["Reef-Worker"]


def _metric(text: str, name: str) -> list[tuple[str, float]]:
    return [
        (m.group(1), float(m.group(2)))
        for m in re.finditer(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.MULTILINE)
    ]


@pytest.mark.slow
def test_two_workers_share_the_port_and_metrics_and_stop_on_sigterm(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    reference = tmp_path / "reference.npz"
    np.savez(reference, x=(rng.random((400, 64)) * 16).astype(np.float32))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reef", "serve", MODEL, "--port", str(port),
             "--workers", "2", "--reference", str(reference), "--drift-window", "10"],
            env=_env(tmp_path), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        wait_serving(url, process, log)
        (private,) = (tmp_path / "tmp").glob("reef-serve-*")
        assert (private / "prometheus").is_dir() and private.stat().st_mode & 0o077 == 0
        workers = [
            p
            for p in psutil.Process(process.pid).children()
            if "spawn_main" in " ".join(p.cmdline())
        ]
        assert len(workers) == 2

        pids: list[str] = []
        sent = 0
        while len(set(pids)) < 2 and sent < 400:  # new connections land on either worker
            answer, pid = _infer(url, (rng.random((1, 64)) * 16).astype(np.float32))
            assert answer["model_name"] == MODEL
            pids.append(pid)
            sent += 1
        assert set(pids) == {str(w.pid) for w in workers}, pids

        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        assert _metric(text, "reef_requests_total") == [(f'model="{MODEL}"', float(sent))]
        assert _metric(text, "reef_request_seconds_count") == [(f'model="{MODEL}"', float(sent))]
        assert _metric(text, "reef_inflight_requests") == [(f'model="{MODEL}"', 0.0)]
        limits = _metric(text, "reef_batch_limit")
        assert sorted(labels for labels, _ in limits) == sorted(
            f'model="{MODEL}",pid="{w.pid}"' for w in workers
        )

        with urllib.request.urlopen(f"{url}/v2/models/{MODEL}/drift", timeout=10) as answer:
            drift = json.loads(answer.read())
            assert drift["worker"] == {"pid": int(answer.headers["Reef-Worker"]), "workers": 2}
        assert drift["model"] == MODEL
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    assert code == 0, log.read_text()[-2000:]
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    assert list((tmp_path / "tmp").glob("reef-serve-*")) == []


@pytest.mark.parametrize("count", ["0", "-1"])
def test_workers_below_one_is_refused(tmp_path: Path, count: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reef", "serve", MODEL, "--workers", count],
        env=_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--workers" in result.stderr and "1" in result.stderr
    assert list((tmp_path / "tmp").glob("reef-serve-*")) == []


def _inflight(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        found = _metric(answer.read().decode(), "reef_inflight_requests")
    return found[0][1] if found else 0.0


@pytest.mark.slow
def test_sigterm_drains_a_request_in_flight_in_a_worker(tmp_path: Path) -> None:
    """A request whose body is half sent when the parent gets SIGTERM is still answered (the
    worker drains it), then every process exits, 0."""
    import socket

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reef", "serve", MODEL, "--port", str(port), "--workers", "2"],
            env=_env(tmp_path), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        wait_serving(url, process, log)
        rows = np.arange(3 * 64, dtype=np.float32).reshape(3, 64) % 17
        body = json.dumps(
            {"id": "draining", "inputs": [{"name": "input", "shape": [3, 64], "datatype": "FP32",
                                           "data": rows.reshape(-1).tolist()}]}
        ).encode()  # fmt: skip
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(
            f"POST /v2/models/{MODEL}/infer HTTP/1.1\r\nHost: x\r\nContent-Type: "
            f"application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        end = time.monotonic() + 20
        while _inflight(url) < 1:  # the handler is reading the body
            assert time.monotonic() < end, "the request never showed in reef_inflight_requests"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # the workers are shutting down, waiting for this request
        assert process.poll() is None
        client.sendall(body[len(body) // 2 :])
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        client.close()
        head, _, content = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), answer[:500]
        assert json.loads(content)["id"] == "draining"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    assert code == 0, log.read_text()[-2000:]


_WORKER = """
import os, sys
from reef.serving.metrics import Metrics
metrics = Metrics()
assert metrics.multiprocess
metrics.requests.labels("m").inc()
metrics.inflight.labels("m").inc(3)
metrics.limits("m", 8, 0.002)
if sys.argv[1] == "crash":
    os._exit(1)  # killed mid-request: never marks itself dead
content, _ = metrics.render()
print(content.decode())
"""


def test_a_worker_that_died_without_marking_itself_dead_leaves_the_live_gauges(
    tmp_path: Path,
) -> None:
    """A crashed (or killed) worker's requests in flight must not stay in the sum an HPA
    scales on, nor its batching limits among the live workers'; its counters stay."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    crashed = subprocess.run([sys.executable, "-c", _WORKER, "crash"], env=env, check=False)
    assert crashed.returncode == 1
    assert {p.name.split("_")[1] for p in directory.glob("gauge_live*")} == {
        "livesum",
        "liveall",
    }
    answered = subprocess.run(
        [sys.executable, "-c", _WORKER, "answer"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert _metric(answered, "reef_inflight_requests") == [('model="m"', 3.0)]  # its own only
    assert len(_metric(answered, "reef_batch_limit")) == 1  # the crashed worker's is gone
    assert _metric(answered, "reef_requests_total") == [('model="m"', 2.0)]  # both count


def test_forget_dead_workers_keeps_its_own_and_the_running_ones(tmp_path: Path) -> None:
    from reef.serving.metrics import forget_dead_workers

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          check=True, capture_output=True, text=True)  # fmt: skip
    dead = int(gone.stdout)
    names = [
        f"gauge_livesum_{dead}.db",
        f"gauge_livemax_{dead}.db",
        f"gauge_all_{dead}.db",  # not a live mode: stays, as prometheus-client keeps it
        f"counter_{dead}.db",
        f"gauge_livesum_{os.getpid()}.db",
        f"gauge_liveall_{os.getppid()}.db",
        "gauge_livesum_notapid.db",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert forget_dead_workers(str(tmp_path)) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
