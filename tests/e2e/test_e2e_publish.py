"""Publishing to a Reef server and using it as a repository, across machines, with the real
CLI in subprocesses: a real `reef server` on a free port of 127.0.0.1 (stopped in a
finalizer); `reef publish` from one REEF_HOME's folder repository; on others, `reef repo add
http://127.0.0.1:PORT/`, `reef search`, `reef resolve`, `reef fetch` and `reef bench` of
what came from it; a pack on the server whose bytes no longer match its sha256 refused; a
server that is gone a NetworkError (exit 3) naming it."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from e2e_support import SHORT, Reef, free_port, tiny_manifest

pytest.importorskip("uvicorn", reason="reef server needs reef-bench[server]")

MODEL = "tiny-model"
START_TIMEOUT_S = 60


@dataclass
class Server:
    url: str
    home: Path
    token: str
    proc: subprocess.Popen[str]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    admin = Reef(tmp_path / "server-home", tmp_path)
    made = admin.ok("token", "create", "--scope", "publish", "--json").json()
    port = free_port()
    proc = admin.popen("server", "--host", "127.0.0.1", "--port", str(port), new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                _, err = proc.communicate(timeout=10)
                pytest.fail(f"reef server did not start (exit {proc.returncode}):\n{err[-3000:]}")
            time.sleep(0.2)
        yield Server(url + "/", admin.home, made["token"], proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture
def publisher(tmp_path: Path, tiny_onnx: Path) -> Reef:
    """A REEF_HOME whose folder repository 'lab' holds the tiny model as a component."""
    folder = tmp_path / "lab" / MODEL / "1.0.0"
    folder.mkdir(parents=True)
    shutil.copy(tiny_onnx, folder / tiny_onnx.name)
    manifest = tiny_manifest(folder / tiny_onnx.name) | {"name": MODEL, "tags": ["tiny", "e2e"]}
    (folder / "reef.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    (tmp_path / "publisher").mkdir()
    reef = Reef(tmp_path / "publisher-home", tmp_path / "publisher")
    reef.ok("repo", "add", str(tmp_path / "lab"), "--name", "lab")
    return reef


def machine(tmp_path: Path, name: str) -> Reef:
    work = tmp_path / name
    work.mkdir()
    return Reef(tmp_path / f"{name}-home", work)


def test_publish_then_search_resolve_fetch_and_bench_elsewhere(
    server: Server, publisher: Reef, tmp_path: Path
) -> None:
    token = {"REEF_TOKEN": server.token}
    refused = publisher("publish", MODEL, "--server", server.url, "--json")
    assert refused.rc == 2, str(refused)
    assert (refused.json()["error"], refused.json()["code"]) == ("RemoteError", "AuthError")

    published = publisher("publish", MODEL, "--server", server.url, "--json", env=token)
    assert published.rc == 0, str(published)
    entry = published.json()
    assert (entry["name"], entry["version"], entry["status"]) == (MODEL, "1.0.0", "published")
    again = publisher("publish", MODEL, "--server", server.url, "--json", env=token)
    assert again.rc == 0 and again.json()["status"] == "unchanged", str(again)

    other = machine(tmp_path, "other")
    added = other.ok("repo", "add", server.url, "--json").json()
    assert (added["name"], added["kind"], added["trusted"]) == ("127.0.0.1", "server", False)
    hits = other.ok("search", "tiny", "--tag", "e2e", "--json").json()
    assert [(h["name"], h["repository"]) for h in hits] == [(MODEL, "127.0.0.1")]

    other.ok("resolve", MODEL, "-o", "reef.lock")
    lock = json.loads((other.cwd / "reef.lock").read_text())
    (locked,) = lock["components"]
    assert (locked["repository"], locked["sha256"]) == ("127.0.0.1", entry["content_sha256"])
    fetched = other.ok("fetch", "reef.lock", "--json").json()
    assert [f["status"] for f in fetched] == ["local"]
    folder = other.home / "repos" / "127.0.0.1" / MODEL / "1.0.0"
    assert (folder / "tiny.onnx").is_file()

    bench = other("bench", "reef.lock", *SHORT, "--scenario", "SingleStream", "--json")
    assert bench.rc == 0, str(bench)
    (record,) = bench.json()
    assert record["status"] == "valid"

    # A third machine fetches a lock made on the second, straight from the server.
    third = machine(tmp_path, "third")
    third.ok("repo", "add", server.url)
    shutil.copy(other.cwd / "reef.lock", third.cwd / "reef.lock")
    third.ok("fetch", "reef.lock")
    assert (third.home / "repos" / "127.0.0.1" / MODEL / "1.0.0" / "tiny.onnx").is_file()


def test_a_pack_whose_bytes_differ_from_its_sha256_is_refused(
    server: Server, publisher: Reef, tmp_path: Path
) -> None:
    done = publisher(
        "publish", MODEL, "--server", server.url, "--json", env={"REEF_TOKEN": server.token}
    )
    assert done.rc == 0, str(done)
    entry = done.json()
    # The server's copy is damaged (or altered) after it was published.
    stored = server.home / "server" / "components" / "packs" / entry["sha256"]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))

    other = machine(tmp_path, "other")
    other.ok("repo", "add", server.url)
    result = other("resolve", MODEL, "-o", "reef.lock")
    assert result.rc == 2, str(result)
    assert result.says("sha256", entry["sha256"]), str(result)
    assert "Traceback" not in result.stderr
    assert not (other.cwd / "reef.lock").exists()
    folder = other.home / "repos" / "127.0.0.1" / MODEL / "1.0.0"
    assert sorted(p.name for p in folder.iterdir()) == ["reef.yaml"]
    assert not (other.home / "cache" / entry["sha256"]).exists()


def test_a_server_that_is_gone_is_a_network_error(server: Server, tmp_path: Path) -> None:
    server.proc.terminate()
    server.proc.wait(timeout=20)
    other = machine(tmp_path, "other")
    result = other("repo", "add", server.url, "--json")
    assert result.rc == 3, str(result)
    error = result.json()
    assert error["error"] == "NetworkError"
    assert server.url.rstrip("/") in error["message"]
    assert not (other.home / "repos.json").exists()


def test_codereef_flow_across_machines(server: Server, publisher: Reef, tmp_path: Path) -> None:
    """A solution and its model published from one machine; on another, `reef init SOLUTION`
    then `reef bench SOLUTION --submit URL`: the runs land on the server."""
    from reef.environment.installers import find_uv

    if find_uv() is None:
        pytest.skip("uv is not installed: reef init would build with pip, too slow here")
    solution = tmp_path / "lab" / "tiny-flow" / "1.0.0"
    solution.mkdir(parents=True)
    manifest = {
        "kind": "solution",
        "name": "tiny-flow",
        "version": "1.0.0",
        "description": "The tiny model, measured",
        "requires": [f"{MODEL} >=1,<2"],
        "python": ["onnxruntime>=1.17", "numpy>=1.26"],
        "bench": {
            "models": [MODEL],
            "scenarios": ["SingleStream"],
            "settings": {"duration_s": 0.3},
        },
        "steps": [{"name": "fetch", "uses": "fetch"}, {"name": "bench", "uses": "bench"}],
    }
    (solution / "reef.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    token = {"REEF_TOKEN": server.token}
    for name in (MODEL, "tiny-flow"):
        done = publisher("publish", name, "--server", server.url, "--json", env=token)
        assert done.rc == 0, str(done)

    submitter = Reef(server.home, tmp_path).ok("token", "create", "--scope", "submit", "--json")
    other = machine(tmp_path, "other")
    other.ok("repo", "add", server.url)
    other.ok("init", "tiny-flow")
    bench = other(
        "bench", "tiny-flow", "--submit", server.url, "--json",
        env={"REEF_TOKEN": submitter.json()["token"]},
    )  # fmt: skip
    assert bench.rc == 0, str(bench)
    with urllib.request.urlopen(f"{server.url}api/v1/runs", timeout=10) as response:
        page = json.load(response)
    runs = page["runs"] if isinstance(page, dict) else page
    assert len(runs) >= 1, page
