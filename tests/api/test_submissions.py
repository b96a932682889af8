"""Submitting runs (reef.api.submissions): the server's side (accept_bundles) stores each
run once, all or nothing, and refuses other content under a stored id; the client's side
(submit, submit_pending) queues what a server cannot take now and sends it later.

The client talks to real HTTP servers on 127.0.0.1: a closed port for a server that cannot be
reached, and a small ``http.server`` that speaks the wire format, storing with accept_bundles
(``WireServer``), for the answers a server gives."""

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

from reef import api
from reef.api import submissions
from reef.bench.bundle import build_bundle
from reef.errors import (
    BundleError,
    BundleTooLarge,
    FiguresMismatch,
    ReefError,
    RunConflict,
    SubmissionRefused,
)
from reef.meta.run import RunRecord, load_record
from reef.results import tokens
from reef.results.store import Store, StoreError, Transaction
from reef.results.submissions import list_submissions


def bench_home(home: Path) -> list[RunRecord]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-m", "reef", "bench", "digits-classifier", "--duration", "0.3",
         "--scenario", "SingleStream", "--scenario", "Offline", "--mode", "performance"],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr[-3000:]
    return [
        load_record(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((home / "runs").glob("*/record.json"))
    ]


@pytest.fixture(scope="module")
def benched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[RunRecord]]:
    """Two real runs (SingleStream, Offline) in a REEF_HOME of their own."""
    home = tmp_path_factory.mktemp("submit-runs")
    return home, bench_home(home)


@pytest.fixture
def records(benched: tuple[Path, list[RunRecord]]) -> list[RunRecord]:
    return benched[1]


@pytest.fixture
def stored(benched: tuple[Path, list[RunRecord]], reef_home: Path) -> list[str]:
    """The runs stored in this test's REEF_HOME (their logs stay where they were made)."""
    api.runs_import(benched[0] / "runs")
    return [r.id for r in benched[1]]


def bundle_of(record: RunRecord) -> dict[str, Any]:
    return json.loads(build_bundle(record).model_dump_json())


@pytest.fixture
def server_side(tmp_path: Path) -> tuple[str, Path]:
    return f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "files"


def snapshot(db_url: str, root: Path) -> tuple[set[str], dict[str, bytes]]:
    with Store(db_url) as db:
        ids = {r.id for r in db.list(limit=None)}
    files = {}
    if root.exists():
        for path in sorted(root.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(root))] = path.read_bytes()
    return ids, files


# --- the server's side ----------------------------------------------------------------------


def test_accepted_once_then_a_no_op(
    records: list[RunRecord], server_side: tuple[str, Path]
) -> None:
    db_url, root = server_side
    bundles = [bundle_of(r) for r in records]
    first = submissions.accept_bundles(bundles, db_url=db_url, files_root=root, submitter="ann")
    assert [(a.id, a.created) for a in first] == [(r.id, True) for r in records]
    before = snapshot(db_url, root)
    assert before[0] == {r.id for r in records}
    run = records[0]
    folder = root / run.id
    assert sorted(p.name for p in folder.iterdir()) == [
        "bundle.json",
        "performance",
        "record.json",
    ]
    assert (folder / "performance" / "mlperf_log_detail.txt").read_bytes() == (
        Path(run.artifacts["loadgen_performance"]) / "mlperf_log_detail.txt"
    ).read_bytes()
    received = json.loads((folder / "bundle.json").read_text())
    assert received["submitter"] == "ann" and len(received["digest"]) == 64
    with Store(db_url) as db:
        assert db.get(run.id, with_latencies=True).model_dump(mode="json") == run.model_dump(
            mode="json"
        )
    again = submissions.accept_bundles(bundles, db_url=db_url, files_root=root)
    assert [(a.id, a.created) for a in again] == [(r.id, False) for r in records]
    assert snapshot(db_url, root) == before
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no staging left


def test_other_content_under_a_stored_id_is_a_conflict(
    records: list[RunRecord], server_side: tuple[str, Path]
) -> None:
    db_url, root = server_side
    submissions.accept_bundles([bundle_of(records[0])], db_url=db_url, files_root=root)
    before = snapshot(db_url, root)
    changed = bundle_of(records[0])
    changed["record"]["environment"]["hostname"] = "somewhere-else"
    with pytest.raises(RunConflict) as caught:
        submissions.accept_bundles([bundle_of(records[1]), changed], db_url=db_url, files_root=root)
    assert caught.value.message == (
        f"run {records[0].id}: the server holds this run with other content"
    )
    assert caught.value.http_status == 409
    assert snapshot(db_url, root) == before  # records[1] was not stored either


def test_a_request_is_accepted_whole_or_not_at_all(
    records: list[RunRecord], server_side: tuple[str, Path]
) -> None:
    db_url, root = server_side
    tampered = bundle_of(records[1])
    tampered["record"]["performance"]["latency_ms"]["p99"] *= 0.5
    with pytest.raises(FiguresMismatch, match=r"performance\.latency_ms\.p99"):
        submissions.accept_bundles(
            [bundle_of(records[0]), tampered], db_url=db_url, files_root=root
        )
    assert snapshot(db_url, root) == (set(), {})


def test_two_different_bundles_of_one_run_in_a_request(
    records: list[RunRecord], server_side: tuple[str, Path]
) -> None:
    db_url, root = server_side
    other = bundle_of(records[0])
    other["record"]["environment"]["hostname"] = "elsewhere"
    with pytest.raises(RunConflict, match="two different bundles of this run"):
        submissions.accept_bundles([bundle_of(records[0]), other], db_url=db_url, files_root=root)
    same = submissions.accept_bundles(
        [bundle_of(records[0]), bundle_of(records[0])], db_url=db_url, files_root=root
    )
    assert [(a.id, a.created) for a in same] == [(records[0].id, True)]


@pytest.mark.parametrize("failing", ["insert", "audit"])
def test_a_failing_database_leaves_no_files(
    records: list[RunRecord],
    server_side: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    failing: str,
) -> None:
    """The transaction fails before the runs' folders are moved into place (the insert) or
    after (the audit entry, the last write before the commit): no row, and no folder."""
    db_url, root = server_side

    def full(*args: Any, **kwargs: Any) -> None:
        raise StoreError("database or disk is full")

    if failing == "insert":
        monkeypatch.setattr(Transaction, "add_many", full)
    else:
        monkeypatch.setattr(tokens, "add_audit", full)
    with pytest.raises(StoreError, match="full"):
        submissions.accept_bundles(
            [bundle_of(r) for r in records], db_url=db_url, files_root=root, token_id=None
        )
    monkeypatch.undo()
    assert snapshot(db_url, root) == (set(), {})
    with Store(db_url) as db:
        assert list_submissions(db) == []
        assert tokens.audit_entries(db) == []
    # And the same runs are accepted whole afterwards.
    accepted = submissions.accept_bundles(
        [bundle_of(r) for r in records], db_url=db_url, files_root=root
    )
    assert all(a.created for a in accepted)
    assert snapshot(db_url, root)[0] == {r.id for r in records}


def test_a_run_stored_without_its_files_gets_them(
    records: list[RunRecord], server_side: tuple[str, Path]
) -> None:
    db_url, root = server_side
    with Store(db_url) as db:
        db.add(records[0])
    accepted = submissions.accept_bundles([bundle_of(records[0])], db_url=db_url, files_root=root)
    assert accepted[0].created is False
    assert (root / records[0].id / "performance" / "mlperf_log_detail.txt").is_file()


def test_request_limits_and_shape(
    records: list[RunRecord], server_side: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url, root = server_side
    monkeypatch.setattr(submissions, "MAX_REQUEST_RUNS", 1)
    with pytest.raises(BundleTooLarge, match="2 runs in one request, more than 1"):
        submissions.accept_bundles([bundle_of(r) for r in records], db_url=db_url, files_root=root)
    with pytest.raises(BundleError, match=r"^runs\[0\]: bundle format 'x'"):
        submissions.accept_bundles([{"format": "x"}], db_url=db_url, files_root=root)
    with pytest.raises(BundleError, match="expected a list of bundles"):
        submissions.accept_bundles({"runs": []}, db_url=db_url, files_root=root)  # type: ignore[arg-type]
    assert submissions.accept_bundles([], db_url=db_url, files_root=root) == []
    assert snapshot(db_url, root) == (set(), {})


# --- a server to talk to ----------------------------------------------------------------------


class WireServer:
    """A real HTTP server on 127.0.0.1 speaking the wire format: ``POST /api/v1/runs``
    stores with accept_bundles and answers as the Reef server does; ``answer`` (status, body)
    makes it answer that instead. It records each request's headers and run ids."""

    def __init__(self, db_url: str, root: Path) -> None:
        self.db_url, self.root = db_url, root
        self.answer: tuple[int, dict[str, Any]] | None = None
        self.requests: list[tuple[dict[str, str], list[str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                runs = json.loads(body)["runs"]
                outer.requests.append((dict(self.headers), [b["record"]["id"] for b in runs]))
                if self.path != "/api/v1/runs":
                    return self.reply(404, {"error": {"code": "NotFound", "message": self.path}})
                if outer.answer is not None:
                    return self.reply(*outer.answer)
                try:
                    accepted = submissions.accept_bundles(
                        runs, db_url=outer.db_url, files_root=outer.root
                    )
                except ReefError as exc:
                    status = getattr(exc, "http_status", 422)
                    error = {"code": type(exc).__name__, "message": exc.message, "hint": exc.hint}
                    return self.reply(status, {"error": error})
                self.reply(200, {"accepted": [a.model_dump() for a in accepted]})

            def reply(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def ids(self) -> set[str]:
        return snapshot(self.db_url, self.root)[0]


@pytest.fixture
def wire(server_side: tuple[str, Path]) -> Iterator[WireServer]:
    server = WireServer(*server_side)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def closed_port() -> str:
    """A URL on 127.0.0.1 whose port nothing listens on: connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- the client's side ----------------------------------------------------------------------


def test_an_unreachable_server_queues_the_runs(stored: list[str], reef_home: Path) -> None:
    url = closed_port()
    report = api.submit(stored, server=url, token=None)
    assert (report.queued, report.accepted, report.refused) == (2, 0, 0)
    for run, run_id in zip(report.runs, stored, strict=True):
        assert run.id == run_id and run.result == "queued"
        assert run.reason == f"{url} cannot be reached: connection refused"
        assert run.outbox == str(reef_home / "outbox" / f"{run_id}.json")
        kept = json.loads(Path(run.outbox).read_text())
        assert kept["server"] == url and kept["outbox_format"] == 1
        assert kept["bundle"]["record"]["id"] == run_id
    assert sorted(p.name for p in (reef_home / "outbox").iterdir()) == sorted(
        f"{i}.json" for i in stored
    )


def test_pending_sends_the_outbox_and_empties_it(
    stored: list[str], reef_home: Path, wire: WireServer
) -> None:
    api.submit(stored, server=closed_port(), token=None)
    # Queued for a server that was down: --server sends them to the one that is up.
    report = api.submit_pending(server=wire.url, token=None)
    assert [(r.id, r.result) for r in report.runs] == [(i, "accepted") for i in stored]
    assert wire.ids() == set(stored)
    assert list((reef_home / "outbox").iterdir()) == []
    assert api.submit_pending(token=None).runs == []


def test_submitting_twice_is_a_no_op(stored: list[str], wire: WireServer) -> None:
    first = api.submit(stored, server=wire.url, token=None)
    assert (first.accepted, first.already_stored) == (2, 0)
    second = api.submit([i[:8] for i in stored], server=wire.url, token=None)
    assert (second.accepted, second.already_stored) == (0, 2)
    assert [r.result for r in second.runs] == ["already stored", "already stored"]


def test_the_token_is_sent(
    stored: list[str], wire: WireServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REEF_TOKEN", "from-the-environment")
    api.submit(stored[:1], server=wire.url, token=None)
    monkeypatch.delenv("REEF_TOKEN")
    (tmp_path / "token").write_text("from-a-file\n")
    monkeypatch.setenv("REEF_TOKEN_FILE", str(tmp_path / "token"))
    api.submit(stored[:1], server=wire.url, token=None)
    api.submit(stored[:1], server=wire.url, token="given")
    sent = [headers.get("Authorization") for headers, _ in wire.requests]
    assert sent == ["Bearer from-the-environment", "Bearer from-a-file", "Bearer given"]
    assert all(h["Content-Type"] == "application/json" for h, _ in wire.requests)


def test_the_server_url_comes_from_the_settings(
    stored: list[str], wire: WireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BundleError, match="no server to submit to"):
        api.submit(stored, server=None, token=None)
    monkeypatch.setenv("REEF_SERVER_URL", wire.url + "/")
    assert api.submit(stored, server=None, token=None).accepted == 2
    with pytest.raises(BundleError, match="is not an http"):
        api.submit(stored, server="ftp://example.org", token=None)


def test_many_runs_go_in_several_requests(
    stored: list[str], wire: WireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reef.meta.bundle

    monkeypatch.setattr(reef.meta.bundle, "REQUEST_MAX_RUNS", 1)
    assert api.submit(stored, server=wire.url, token=None).accepted == 2
    assert [ids for _, ids in wire.requests] == [[stored[0]], [stored[1]]]


def test_a_refused_token_is_an_error(stored: list[str], wire: WireServer, reef_home: Path) -> None:
    wire.answer = (401, {"error": {"code": "AuthError", "message": "unknown token", "hint": None}})
    with pytest.raises(SubmissionRefused) as caught:
        api.submit(stored, server=wire.url, token="wrong")
    assert caught.value.message == f"{wire.url} refused the token: unknown token"
    assert caught.value.status == 401 and caught.value.code == "AuthError"
    assert not (reef_home / "outbox").exists()


def test_a_refused_run_is_reported_not_queued(
    stored: list[str], wire: WireServer, reef_home: Path
) -> None:
    error = {"code": "FiguresMismatch", "message": "run x: p99 differs", "hint": None}
    wire.answer = (422, {"error": error})
    report = api.submit(stored, server=wire.url, token=None)
    assert (report.refused, report.queued) == (2, 0)
    assert report.runs[0].reason == "422 FiguresMismatch: run x: p99 differs"
    # The request of two was refused, then each run was sent alone to find which.
    assert [ids for _, ids in wire.requests] == [stored, [stored[0]], [stored[1]]]
    assert not (reef_home / "outbox").exists()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_or_failing_server_queues(
    stored: list[str], wire: WireServer, reef_home: Path, status: int
) -> None:
    wire.answer = (status, {"error": {"code": "X", "message": "try later", "hint": None}})
    report = api.submit(stored, server=wire.url, token=None)
    assert report.queued == 2
    assert report.runs[0].reason == f"the server answered {status}: try later"
    wire.answer = None
    assert api.submit_pending(token=None).accepted == 2
    assert list((reef_home / "outbox").iterdir()) == []


def test_an_answer_that_is_not_the_protocol_queues(
    stored: list[str], wire: WireServer, reef_home: Path
) -> None:
    wire.answer = (200, {"hello": "world"})
    report = api.submit(stored[:1], server=wire.url, token=None)
    assert report.queued == 1
    assert "is not Reef's protocol" in (report.runs[0].reason or "")


def test_a_run_whose_logs_changed_is_refused_before_sending(
    stored: list[str], records: list[RunRecord], wire: WireServer, tmp_path: Path
) -> None:
    """The client checks each bundle as the server will: nothing is sent."""
    log = Path(records[0].artifacts["loadgen_performance"]) / "mlperf_log_detail.txt"
    original = log.read_bytes()
    key = b'"result_validity", "value": "VALID"'
    assert key in original
    try:
        log.write_bytes(original.replace(key, b'"result_validity", "value": "INVALID"'))
        with pytest.raises(FiguresMismatch, match=r"loadgen\.result: the record says VALID"):
            api.submit(stored, server=wire.url, token=None)
    finally:
        log.write_bytes(original)
    assert wire.requests == []


def test_a_corrupt_outbox_file_is_named(reef_home: Path, wire: WireServer) -> None:
    (reef_home / "outbox").mkdir()
    (reef_home / "outbox" / "abc.json").write_text("{not json")
    with pytest.raises(BundleError, match=r"abc\.json: not a queued bundle"):
        api.submit_pending(server=wire.url, token=None)
    assert wire.requests == []


# --- the real Reef server -------------------------------------------------------------------


class RealServer:
    """``reef.server``'s application under uvicorn on 127.0.0.1 (a free port), over a
    server database of its own; ``tokens`` holds a token of each scope."""

    def __init__(self, root: Path) -> None:
        import uvicorn

        from reef.server.app import ServerSettings, create_app

        self.files = root / "server-files"
        self.db = api.server_open(f"sqlite:///{root / 'reef-server.db'}")
        self.tokens = {
            scope: api.token_create(scope, name=scope, db=self.db).token
            for scope in ("read", "submit")
        }
        app = create_app(self.db, ServerSettings(files_root=self.files, rate=0))
        self.uvicorn = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        )
        self.thread = threading.Thread(target=self.uvicorn.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 30
        while not self.uvicorn.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        port = self.uvicorn.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(timeout=30)
        self.db.close()

    def get(self, path: str) -> Any:
        import urllib.request

        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.tokens['read']}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


@pytest.fixture
def real_server(tmp_path: Path) -> Iterator[RealServer]:
    pytest.importorskip("fastapi", reason="the server needs reef-bench[server]")
    pytest.importorskip("uvicorn", reason="the server needs reef-bench[server]")
    server = RealServer(tmp_path)
    yield server
    server.stop()


def test_the_real_server_takes_runs_once(stored: list[str], real_server: RealServer) -> None:
    token = real_server.tokens["submit"]
    first = api.submit(stored, server=real_server.url, token=token)
    assert [(r.id, r.result) for r in first.runs] == [(i, "accepted") for i in stored]
    for run_id in stored:
        assert real_server.get(f"/api/v1/runs/{run_id}")["id"] == run_id
        folder = real_server.files / run_id
        assert (folder / "performance" / "mlperf_log_detail.txt").is_file()
        assert json.loads((folder / "bundle.json").read_text())["submitter"]
    second = api.submit(stored, server=real_server.url, token=token)
    assert [r.result for r in second.runs] == ["already stored", "already stored"]


def test_the_real_server_takes_the_outbox(
    stored: list[str], real_server: RealServer, reef_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.submit(stored, server=closed_port(), token=None).queued == 2
    monkeypatch.setenv("REEF_TOKEN", real_server.tokens["submit"])
    report = api.submit_pending(server=real_server.url, token=None)
    assert report.accepted == 2
    assert list((reef_home / "outbox").iterdir()) == []


def test_the_real_server_refuses_a_read_token(
    stored: list[str], real_server: RealServer, reef_home: Path
) -> None:
    with pytest.raises(SubmissionRefused) as caught:
        api.submit(stored, server=real_server.url, token=real_server.tokens["read"])
    assert caught.value.status == 403
    assert caught.value.message.startswith(f"{real_server.url} refused the token: ")
    with pytest.raises(SubmissionRefused) as anonymous:
        api.submit(stored, server=real_server.url, token=None)
    assert anonymous.value.status == 401
    assert not (reef_home / "outbox").exists()
    assert not real_server.files.exists() or list(real_server.files.iterdir()) == []
