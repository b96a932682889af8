"""A real network path: the scheduler and the sweep's client in one network namespace, one
agent in another, joined by a veth pair, so every message to and from the agent crosses a
real interface (10.77.0.1 <-> 10.77.0.2), and the agent's run comes back to a REEF_HOME it
does not share. Needs root and ``ip netns``; skipped elsewhere, saying why."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

pytest.importorskip("distributed")

SCHEDULER_IP, AGENT_IP = "10.77.0.1", "10.77.0.2"


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2)")
    tag = secrets.token_hex(3)
    server, agent = f"reef-s-{tag}", f"reef-a-{tag}"
    made = _ip("netns", "add", server)
    if made.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {made.stderr.strip()}")
    try:
        _ip("netns", "add", agent).check_returncode()
        steps = [
            ("link", "add", f"vs-{tag}", "type", "veth", "peer", "name", f"va-{tag}"),
            ("link", "set", f"vs-{tag}", "netns", server),
            ("link", "set", f"va-{tag}", "netns", agent),
            ("-n", server, "addr", "add", f"{SCHEDULER_IP}/24", "dev", f"vs-{tag}"),
            ("-n", agent, "addr", "add", f"{AGENT_IP}/24", "dev", f"va-{tag}"),
            ("-n", server, "link", "set", f"vs-{tag}", "up"),
            ("-n", agent, "link", "set", f"va-{tag}", "up"),
            ("-n", server, "link", "set", "lo", "up"),
            ("-n", agent, "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                pytest.skip(f"cannot wire the namespaces: ip {' '.join(step)}: {done.stderr}")
        yield server, agent
    finally:
        _ip("netns", "del", agent)
        _ip("netns", "del", server)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    return env | {"REEF_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def _in(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-m", "reef", *args]


def test_an_agent_across_a_veth_pair_runs_a_cell(
    namespaces: tuple[str, str], tmp_path: Path
) -> None:
    server_ns, agent_ns = namespaces
    here, there = tmp_path / "client-home", tmp_path / "agent-home"
    address = f"tcp://{SCHEDULER_IP}:8786"
    log = (tmp_path / "scheduler.log").open("w")
    scheduler = subprocess.Popen(
        _in(server_ns, "cluster", "up", "--local", "0", "--host", SCHEDULER_IP),
        env=_env(here), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    agent = None
    try:
        agent = subprocess.Popen(
            _in(agent_ns, "agent", "--scheduler", address, "--name", "over-veth"),
            env=_env(there), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        end = time.monotonic() + 90
        agents: list[dict[str, object]] = []
        while time.monotonic() < end and not any(a.get("hardware") for a in agents):
            status = subprocess.run(
                _in(server_ns, "cluster", "status", "--scheduler", address, "--json"),
                env=_env(here), capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            if status.returncode == 0:
                agents = json.loads(status.stdout)["agents"]
            time.sleep(0.5)
        assert [a["name"] for a in agents] == ["over-veth"], agents
        assert str(agents[0]["address"]).startswith(f"tcp://{AGENT_IP}:")
        spec = tmp_path / "spec.yaml"
        spec.write_text(
            yaml.safe_dump(
                {"targets": ["digits-classifier"],
                 "settings": {"duration_s": 0.2, "mode": "performance"}}
            )
        )  # fmt: skip
        swept = subprocess.run(
            _in(server_ns, "sweep", str(spec), "--scheduler", address, "--json"),
            env=_env(here), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert swept.returncode == 0, swept.stderr[-3000:]
        (cell,) = json.loads(swept.stdout)["cells"].values()
        assert cell["status"] == "done"
        (run_id,) = cell["run_ids"]
        # Made in the agent's REEF_HOME, stored in the client's with its logs.
        assert (there / "runs" / run_id).is_dir()
        assert (here / "runs" / run_id / "performance" / "mlperf_log_detail.txt").is_file()
    finally:
        for process in (agent, scheduler):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        log.close()
