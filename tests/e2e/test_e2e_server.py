"""`reef server` as a user runs it: a real process on 127.0.0.1 and a free port, with a
temporary REEF_HOME, spoken to over real HTTP (urllib), stopped with SIGTERM when the test
ends. Tokens are made with `reef token create` on the server's machine; a real run of the
built-in classifier is submitted and listed back; refusals come in the one error shape."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_support import DIGITS_CLASSIFIER, SHORT, Reef, free_port

pytest.importorskip("fastapi", reason="the server needs reef-bench[server]")
pytest.importorskip("uvicorn", reason="the server needs reef-bench[server]")

READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Answer(response.status, json.loads(response.read()), dict(response.headers))
        except urllib.error.HTTPError as exc:
            with exc:
                return Answer(exc.code, json.loads(exc.read()), dict(exc.headers))

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
        return int(self.proc.returncode)


def assert_error(answer: Answer, status: int, code: str, *fragments: str) -> dict[str, Any]:
    assert answer.status == status, answer
    assert set(answer.body) == {"error"}, answer.body
    error = answer.body["error"]
    assert {"code", "message", "hint"} <= set(error) and error["code"] == code, error
    for fragment in fragments:
        assert fragment in error["message"], error
    return dict(error)


@pytest.fixture
def start(reef: Reef, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``start(*options)``: `reef server` running on a free port of 127.0.0.1, ready; each is
    stopped with SIGTERM when the test ends, whatever happens to the test."""
    started: list[Server] = []

    def run(*options: str) -> Server:
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                reef.argv("server", "--host", "127.0.0.1", "--port", str(port), *options),
                env=reef.env,
                cwd=reef.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(f"http://127.0.0.1:{port}", proc, log)
        started.append(server)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"reef server exited {proc.returncode}: {log.read_text()}")
            try:
                if server.call("GET", "/api/v1/health").body["status"] == "ok":
                    return server
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"reef server not ready: {log.read_text()}")
            time.sleep(0.1)

    yield run
    for server in started:
        server.stop()


def token(reef: Reef, scope: str) -> str:
    made = reef.ok("token", "create", "--scope", scope, "--name", scope)
    return made.stdout.strip()


def test_a_real_run_is_submitted_and_listed_back_over_http(
    reef: Reef, start: Callable[..., Server], tmp_path: Path
) -> None:
    admin = token(reef, "admin")
    server = start()
    assert set(server.call("GET", "/api/v1/health").body) == {"status", "version"}
    assert (reef.home / "server" / "reef-server.db").is_file()  # the server's own database
    # An admin makes a submit token over the API.
    made = server.call("POST", "/api/v1/tokens", {"scope": "submit", "name": "ci"}, token=admin)
    assert made.status == 201
    submit = made.body["token"]
    # A real run, measured by a client with a home of its own, bundled and sent.
    client = Reef(tmp_path / "client-home", reef.cwd)
    (run,) = client.ok("bench", DIGITS_CLASSIFIER, *SHORT, "--json").json()
    from reef.bench.bundle import build_bundle
    from reef.meta.run import load_record

    record_file = client.home / "runs" / run["id"] / "record.json"
    record = load_record(json.loads(record_file.read_text(encoding="utf-8")), str(record_file))
    bundle = json.loads(build_bundle(record).model_dump_json())
    sent = server.call("POST", "/api/v1/runs", {"runs": [bundle]}, token=submit)
    assert sent.status == 200, sent.body
    assert sent.body == {"accepted": [{"id": run["id"], "created": True}]}
    again = server.call("POST", "/api/v1/runs", {"runs": [bundle]}, token=submit)
    assert again.body == {"accepted": [{"id": run["id"], "created": False}]}
    # Listed back, anonymously (anonymous reads are on by default), and read whole.
    listed = server.call("GET", "/api/v1/runs?model=digits-classifier").body
    assert [r["id"] for r in listed["runs"]] == [run["id"]] and listed["next_cursor"] is None
    got = server.call("GET", f"/api/v1/runs/{run['id'][:12]}").body
    assert got["id"] == run["id"] and got["settings"]["scenario"] == "SingleStream"
    assert (reef.home / "server" / "runs" / run["id"] / "bundle.json").is_file()
    audit = server.call("GET", "/api/v1/audit", token=admin).body
    assert [e["action"] for e in audit] == ["runs.submit", "token.create", "token.create"]
    assert audit[0]["client"] == "127.0.0.1"
    # The documentation is served without the network.
    with urllib.request.urlopen(server.url + "/docs", timeout=30) as page:
        assert "/openapi.json" in page.read().decode()
    assert server.stop() == 0
    assert "Reef server stopped" in server.log.read_text()


def test_refusals_over_http_write_nothing(reef: Reef, start: Callable[..., Server]) -> None:
    admin, reader = token(reef, "admin"), token(reef, "read")
    server = start("--no-anonymous-reads", "--max-body", "0.01")

    def log_length() -> int:
        return len(server.call("GET", "/api/v1/audit?limit=10000", token=admin).body)

    before = log_length()
    assert_error(server.call("GET", "/api/v1/runs"), 401, "AuthError", "needs a token")
    assert_error(
        server.call("POST", "/api/v1/tokens", raw=b"{not json", token=admin), 422, "BadRequest"
    )
    big = {"scope": "read", "name": "x" * 20_000}
    assert_error(server.call("POST", "/api/v1/tokens", big, token=admin), 413, "TooLarge")
    assert_error(
        server.call("POST", "/api/v1/tokens", {"scope": "admin"}, token=reader), 403, "Forbidden"
    )
    assert_error(server.call("POST", "/api/v1/runs", {"runs": []}, token=reader), 403, "Forbidden")
    assert_error(server.call("GET", "/api/v1/runs/abcdef", token=reader), 404, "RunNotFound")
    assert_error(server.call("GET", "/api/v1/runs?cursor=nope", token=reader), 422, "CursorError")
    assert log_length() == before
    # Revoked on the server's machine while it runs: refused from the next request on.
    reef.ok("token", "revoke", reader.split("_")[1])
    assert_error(server.call("GET", "/api/v1/runs", token=reader), 401, "AuthError", "revoked")
    assert server.stop() == 0


def test_a_newer_database_is_refused_at_start(reef: Reef) -> None:
    import sqlite3

    reef.ok("server", "init-db")
    database = reef.home / "server" / "reef-server.db"
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    before = database.read_bytes()
    result = reef("server", "--port", str(free_port()))
    assert result.rc == 2
    assert "schema revision '9999'" in result.stderr and "Traceback" not in result.stderr
    assert database.read_bytes() == before


@pytest.mark.postgresql
def test_the_server_on_postgresql(
    reef: Reef, start: Callable[..., Server], postgresql_url: str
) -> None:
    """The production database: the same schema, made at start, tokens and reads over HTTP."""
    admin = reef.ok("token", "create", "--scope", "admin", "--db", postgresql_url).stdout.strip()
    server = start("--db", postgresql_url, "--no-anonymous-reads")
    made = server.call("POST", "/api/v1/tokens", {"scope": "read", "expires": "1h"}, token=admin)
    assert made.status == 201, made.body
    assert server.call("GET", "/api/v1/runs", token=made.body["token"]).body == {
        "runs": [],
        "next_cursor": None,
    }
    listed = server.call("GET", "/api/v1/tokens", token=admin).body
    assert [t["scope"] for t in listed] == ["admin", "read"]
    assert not (reef.home / "server" / "reef-server.db").exists()
    assert server.stop() == 0
