"""reef bench --submit and reef submit, as a user runs them: a server that cannot be reached
(a closed port on 127.0.0.1) loses no run, they wait in REEF_HOME/outbox; a real `reef server`
takes them, once."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from e2e_support import DIGITS_CLASSIFIER, SHORT, Reef, free_port


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_runs_for_an_unreachable_server_wait_in_the_outbox(reef: Reef) -> None:
    url = closed_port()
    bench = reef(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--scenario", "SingleStream", "--mode",
        "performance", "--submit", url, "--json",
    )  # fmt: skip
    # Queued is a note: the exit code is the benchmark's.
    assert bench.rc in (0, 1), str(bench)
    assert "Traceback" not in bench.stderr
    records = bench.json()
    run_id = records[0]["id"]
    assert bench.says(
        f"reef: submitted to {url}: 0 accepted, 0 already stored; 1 queued in the outbox "
        f"({url} cannot be reached: connection refused): `reef submit --pending` sends them"
    ), str(bench)
    outbox = reef.home / "outbox" / f"{run_id}.json"
    kept = json.loads(outbox.read_text(encoding="utf-8"))
    assert kept["server"] == url and kept["bundle"]["record"]["id"] == run_id
    assert [f["path"] for f in kept["bundle"]["files"]] == [
        "performance/mlperf_log_summary.txt",
        "performance/mlperf_log_detail.txt",
    ]

    again = reef("submit", run_id[:8], "--server", url)
    assert again.rc == 3, str(again)
    assert again.says(
        f"queued {run_id} (in {outbox})",
        f"1 run(s) queued in the outbox: {url} cannot be reached: connection refused; "
        "`reef submit --pending` sends them",
    ), str(again)

    pending = reef("submit", "--pending", "--json")
    assert pending.rc == 3, str(pending)
    report = pending.json()
    assert report["server"] == url  # the server each run was queued for
    assert [(r["id"], r["result"]) for r in report["runs"]] == [(run_id, "queued")]
    assert outbox.is_file()


@contextmanager
def reef_server(cli: Reef) -> Iterator[str]:
    """``reef server`` in a process of its own, on a free port; its URL once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        cli.argv("server", "--port", str(port), "--log-level", "warning"),
        env=cli.env, cwd=cli.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                with urllib.request.urlopen(url + "/api/v1/health", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "reef server did not answer"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def test_a_real_server_takes_runs_once(reef: Reef, tmp_path: Path) -> None:
    pytest.importorskip("uvicorn", reason="reef server needs reef-bench[server]")
    server_side = Reef(tmp_path / "server-home", reef.cwd)
    token = server_side.ok("token", "create", "--scope", "submit", "--json").json()["token"]
    env = {"REEF_TOKEN": token}
    with reef_server(server_side) as url:
        bench = reef(
            "bench", DIGITS_CLASSIFIER, *SHORT, "--scenario", "SingleStream", "--mode",
            "performance", "--submit", url, "--json", env=env,
        )  # fmt: skip
        assert bench.rc in (0, 1), str(bench)
        run_id = bench.json()[0]["id"]
        assert bench.says(f"reef: submitted to {url}: 1 accepted, 0 already stored"), str(bench)
        again = reef("submit", run_id[:8], "--json", env={**env, "REEF_SERVER_URL": url})
        assert again.rc == 0, str(again)
        assert [r["result"] for r in again.json()["runs"]] == ["already stored"]
    files = tmp_path / "server-home" / "server" / "runs" / run_id
    assert (files / "performance" / "mlperf_log_detail.txt").is_file()
    # The server is gone: the run waits in the outbox until a server takes it.
    down = reef("submit", run_id, "--server", url, env=env)
    assert down.rc == 3 and down.says("connection refused"), str(down)
    with reef_server(server_side) as url:
        pending = reef("submit", "--pending", "--server", url, env=env)
        assert pending.rc == 0, str(pending)
        assert pending.says(f"already stored {run_id}")
    assert list((reef.home / "outbox").iterdir()) == []
