"""reef submit and reef bench --submit, in process: exit codes, what is said on stderr and
printed under --json, the outbox; against a closed port on 127.0.0.1 and a small real HTTP
server that stores with reef.api.accept_bundles."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_support import InProcessReef

from reef import api
from reef.errors import ReefError


@pytest.fixture(scope="module")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A REEF_HOME with one real SingleStream run of the built-in classifier."""
    home = tmp_path_factory.mktemp("submit-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-m", "reef", "bench", "digits-classifier", "--duration", "0.3",
         "--scenario", "SingleStream", "--mode", "performance"],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr[-3000:]
    return home


@pytest.fixture
def run_id(cli: InProcessReef, bench_home: Path) -> str:
    cli.ok("runs", "import", str(bench_home / "runs"))
    ids = [p.name for p in (bench_home / "runs").iterdir()]
    assert len(ids) == 1
    return ids[0]


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Server:
    """POST /api/v1/runs stored with accept_bundles, or ``answer`` (status, body) instead."""

    def __init__(self, root: Path) -> None:
        self.db_url, self.files = f"sqlite:///{root / 'server.db'}", root / "files"
        self.answer: tuple[int, dict[str, Any]] | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                runs = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["runs"]
                status, data = outer.answer or (200, {})
                if outer.answer is None:
                    try:
                        accepted = api.accept_bundles(
                            runs, db_url=outer.db_url, files_root=outer.files
                        )
                        data = {"accepted": [a.model_dump() for a in accepted]}
                    except ReefError as exc:
                        status = 422
                        data = {"error": {"code": type(exc).__name__, "message": exc.message}}
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    thread = threading.Thread(target=running.httpd.serve_forever, daemon=True)
    thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


def test_an_unreachable_server_queues_with_exit_3(cli: InProcessReef, run_id: str) -> None:
    url = closed_port()
    result = cli("submit", run_id[:8], "--server", url)
    assert result.rc == 3, str(result)
    outbox = cli.home / "outbox" / f"{run_id}.json"
    assert outbox.is_file()
    assert result.says(f"queued {run_id} (in {outbox})")
    assert result.says(
        f"1 run(s) queued in the outbox: {url} cannot be reached: connection refused; "
        "`reef submit --pending` sends them"
    )
    assert "Traceback" not in result.stderr


def test_json_says_what_became_of_each_run(cli: InProcessReef, run_id: str) -> None:
    result = cli("submit", run_id, "--server", closed_port(), "--json")
    assert result.rc == 3, str(result)
    report = result.json()
    assert (report["queued"], report["accepted"]) == (1, 0)
    assert report["runs"][0]["id"] == run_id and report["runs"][0]["result"] == "queued"


def test_pending_sends_the_outbox(cli: InProcessReef, run_id: str, server: Server) -> None:
    assert cli("submit", run_id, "--server", closed_port()).rc == 3
    result = cli("submit", "--pending", "--server", server.url)
    assert result.rc == 0, str(result)
    assert result.says(f"accepted {run_id}", "1 accepted, 0 already stored, 0 queued")
    assert list((cli.home / "outbox").iterdir()) == []
    assert (server.files / run_id / "record.json").is_file()
    again = cli("submit", run_id, "--server", server.url, "--json")
    assert again.rc == 0 and again.json()["runs"][0]["result"] == "already stored"
    nothing = cli("submit", "--pending")
    assert nothing.rc == 0 and nothing.says("nothing pending in the outbox")


def test_the_server_url_setting(cli: InProcessReef, run_id: str, server: Server) -> None:
    result = cli("submit", run_id, env={"REEF_SERVER_URL": server.url})
    assert result.rc == 0, str(result)
    missing = cli("submit", run_id, "--json")
    assert missing.rc == 2
    assert missing.json()["error"] == "BundleError"
    assert missing.says("error: no server to submit to", "give --server URL")


def test_a_refusal_is_exit_2_and_not_queued(
    cli: InProcessReef, run_id: str, server: Server
) -> None:
    server.answer = (422, {"error": {"code": "FiguresMismatch", "message": "p99 differs"}})
    result = cli("submit", run_id, "--server", server.url)
    assert result.rc == 2, str(result)
    assert result.says(f"refused {run_id}: 422 FiguresMismatch: p99 differs")
    assert not (cli.home / "outbox").exists()
    server.answer = (401, {"error": {"code": "AuthError", "message": "unknown token"}})
    denied = cli("submit", run_id, "--server", server.url, env={"REEF_TOKEN": "nope"})
    assert denied.rc == 2
    assert denied.says(f"error: {server.url} refused the token: unknown token")


def test_bad_input(cli: InProcessReef, run_id: str) -> None:
    assert cli("submit").rc == 2
    unknown = cli("submit", "ffffffff", "--server", closed_port())
    assert unknown.rc == 2 and unknown.says("ffffffff")
    assert not (cli.home / "outbox").exists()
    scheme = cli("submit", run_id, "--server", "ftp://example.org")
    assert scheme.rc == 2 and scheme.says("is not an http(s) URL")


def test_bench_submit_checks_the_url_before_measuring(cli: InProcessReef) -> None:
    result = cli("bench", "digits-classifier", "--submit", "not a url")
    assert result.rc == 2 and result.says("is not an http(s) URL")
    cli.assert_nothing_written()
