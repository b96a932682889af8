"""The image's file layout, rebuilt under a temporary root from the Dockerfile's COPY lines,
passes its SHA256SUMS check, and the real ``reef serve`` runs the Dockerfile's CMD on it: the
HEALTHCHECK's command answers once it is ready, and /metrics has the gauge the HPA scales on.
(No docker daemon is needed: the image's own steps are replayed here.)"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from deploy_support import reef

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_image_layout_passes_its_checks_and_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    out = tmp_path / "out"
    args = ["export", "compose", "digits-classifier", "-o", str(out), "--port", str(port)]
    assert reef(capsys, *args).code == 0
    root = tmp_path / "root"

    def inside(path: str) -> str:
        return str(root) + path if path.startswith("/opt/reef") else path

    lines = (out / "Dockerfile").read_text().splitlines()
    for line in lines:
        if line.startswith("COPY "):
            source, dest = line.split()[1:]
            Path(inside(dest)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / source, inside(dest))
    listing = [line.split("  ", 1) for line in (out / "SHA256SUMS").read_text().splitlines()]
    sums = "".join(f"{digest}  {inside(path)}\n" for digest, path in listing)
    if shutil.which("sha256sum"):
        done = subprocess.run(
            ["sha256sum", "--check", "--strict"], input=sums, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr

    cmd = json.loads(lines[-1].removeprefix("CMD "))
    cmd = [inside(a) for a in cmd]
    cmd[cmd.index("0.0.0.0")] = "127.0.0.1"  # the test binds loopback only
    health = next(line.strip() for line in lines if line.strip().startswith('CMD ["python"'))
    check = json.loads(health.removeprefix("CMD "))  # the HEALTHCHECK's command
    env = {
        **os.environ,
        "REEF_HOME": str(tmp_path / "home"),
        "REEF_CACHE": inside("/opt/reef/cache"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "reef", *cmd], env=env, cwd=inside("/opt/reef/model"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            healthy = subprocess.run([sys.executable, *check[1:]], capture_output=True)
            if healthy.returncode == 0:
                break
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "reef serve was not ready within 60 s"
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            metrics = answer.read().decode()
        assert "reef_inflight_requests" in metrics
    finally:
        server.terminate()
        server.communicate(timeout=30)
