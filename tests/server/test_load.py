"""The server under load from another process: a real ``reef server`` on a free port of
127.0.0.1, and ``benchmarks/server_load.py`` in a process of its own, 8 submitters posting real
bundles (one real run's, under a new run id each time) and 16 readers paging and reading runs,
against SQLite and PostgreSQL. No request may fail; every run the server acknowledged is in
its database exactly once, with its files; reads stay bounded.

The issue's figure is 60 s of load and a read p99 of 200 ms or less; to keep CI's time this
runs ``LOAD_S`` seconds, and its bound on the read p99 is looser (``READ_P99_BOUND_MS``): on
the shared 2-core machine the submitters' checks (each run's figures re-derived from its
LoadGen logs) take the CPU the readers wait for, and the p99 there is about 1 s. The figure
itself, at 60 s, is ``benchmarks/server.py``'s (see benchmarks/README.md).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

LOAD_S = 10.0
SUBMITTERS = 8
READERS = 16
READ_P99_BOUND_MS = 5000.0
LOAD_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "server_load.py"


def load_module() -> ModuleType:
    """``benchmarks/server_load.py``: the load, and starting a server, making a token and a
    real bundle, which the kill -9 test shares."""
    spec = importlib.util.spec_from_file_location("server_load", LOAD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("server_load", module)
    spec.loader.exec_module(module)
    return module


server_load = load_module()


@pytest.fixture(scope="module")
def bundle_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bundle: one short real run of the built-in classifier."""
    folder = tmp_path_factory.mktemp("bundle")
    bundle = server_load.real_bundle(folder / "home")
    path = folder / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def stored_ids(url: str) -> list[str]:
    from databases import execute

    return [row[0] for row in execute(url, "SELECT id FROM runs")]


@pytest.mark.slow
def test_load_fails_nothing_and_loses_nothing(
    server_url: str, tmp_path: Path, bundle_file: Path
) -> None:
    home = tmp_path / "server-home"
    home.mkdir()
    token = server_load.make_token(home, server_url)
    out = tmp_path / "load.json"
    with server_load.running(home, server_url, "--rate-limit", "0") as server:
        done = subprocess.run(
            [sys.executable, str(LOAD_SCRIPT), "--url", server.url, "--token", token,
             "--bundle", str(bundle_file), "--submitters", str(SUBMITTERS),
             "--readers", str(READERS), "--duration", str(LOAD_S), "--out", str(out)],
            capture_output=True, text=True, timeout=LOAD_S + 120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert server.process is not None and server.process.poll() is None, "server died"
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    shown = {k: v for k, v in result.items() if k != "acked"}
    print(json.dumps(shown))
    assert result["failed"] == 0, shown
    acked: list[str] = result["acked"]
    assert acked and result["reads"] > 0, shown
    assert set(result["reads_by_kind"]) == {"first", "next", "filtered", "run"}, shown
    assert len(set(acked)) == len(acked), "an id acknowledged twice"
    stored = stored_ids(server_url)
    assert len(stored) == len(set(stored))
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged runs are not stored"
    # Nothing was stored that was not acknowledged but for the requests cut at the end.
    assert len(stored) - len(acked) <= SUBMITTERS
    files = home / "server" / "runs"
    assert all((files / run_id / "bundle.json").is_file() for run_id in acked)
    assert result["read_p99_ms"] <= READ_P99_BOUND_MS, shown


def test_a_submission_uses_the_servers_open_store(
    make_client: Any,
    tokens: dict[str, str],
    bundle_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A submission is stored through the store the server holds open: one opened for each
    request connected and checked the schema every time, most of a submission's time on
    PostgreSQL (4.7 runs a second under this load, 15 after)."""
    from server_support import bearer

    from reef.results.store import Store

    client = make_client(files_root=tmp_path / "files", rate=0)
    opened: list[str | None] = []
    original = Store.__init__

    def counting(self: Store, *args: Any, **kwargs: Any) -> None:
        opened.append(args[0] if args else kwargs.get("url"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "__init__", counting)
    bundle = json.loads(bundle_file.read_text(encoding="utf-8"))
    response = client.post(
        "/api/v1/runs", json={"runs": [bundle]}, headers=bearer(tokens["submit"])
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"][0]["created"] is True
    assert opened == []


def test_a_page_of_the_api_neither_counts_nor_sorts_every_run(postgresql_url: str) -> None:
    """``GET /api/v1/runs`` counted every run the filter selected, which it never shows, and
    ordered newest first with ``NULLS LAST`` on a column that is never NULL, which kept
    PostgreSQL from its index: each page sorted every run (a first page over 100,000 runs took
    160 ms there, 0.3 ms of it the query it needs)."""
    from sqlalchemy import event

    from reef import api

    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    with api.server_open(postgresql_url) as database:
        engine = database.store._engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            page = api.runs_page(db=database)
        finally:
            event.remove(engine, "before_cursor_execute", note)
    assert page.runs == [] and page.next_cursor is None
    assert not [s for s in seen if "count(" in s.lower()], seen
    (listed,) = [s for s in seen if "ORDER BY" in s]
    assert "ORDER BY created_at DESC, created_at DESC" in listed, listed


def test_a_page_of_the_api_reads_its_runs_in_one_query(
    postgresql_url: str, bundle_file: Path
) -> None:
    """A page's runs are read in one query, not one or two each: under load, each query
    waits its turn for the interpreter behind the submissions' checks, and a page of 20
    runs made 41 (reads' p50 on PostgreSQL under the load above: 620 ms)."""
    from sqlalchemy import event

    from reef import api
    from reef.meta.run import load_record

    text = json.dumps(json.loads(bundle_file.read_text(encoding="utf-8"))["record"])
    old_id = json.loads(text)["id"]
    records = [
        load_record(json.loads(server_load.with_new_id(text, old_id)[1]), "record")
        for _ in range(25)
    ]
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with api.server_open(postgresql_url) as database:
        database.store.add_many(records)
        engine = database.store._engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            page = api.runs_page(limit=20, db=database)
        finally:
            event.remove(engine, "before_cursor_execute", note)
        expected = [r.id for r in api.dashboard_runs(limit=20, db=database).runs]
    assert [run.id for run in page.runs] == expected and len(expected) == 20
    assert len(seen) <= 3, seen


def test_worker_processes_share_the_port_and_the_database(
    tmp_path: Path, bundle_file: Path
) -> None:
    """``reef server --workers 2``: two processes on one port and one SQLite database take
    submissions at once, each run stored once with its files; SIGTERM stops them all."""
    import threading

    import psutil

    home = tmp_path / "server-home"
    home.mkdir()
    url = f"sqlite:///{home / 'server.db'}"
    token = server_load.make_token(home, url)
    text = bundle_file.read_text(encoding="utf-8")
    old_id = json.loads(text)["record"]["id"]
    copies = [server_load.with_new_id(text, old_id) for _ in range(8)]
    answers: list[int] = []
    with server_load.running(home, url, "--rate-limit", "0", "--workers", "2") as server:
        assert server.process is not None
        workers = psutil.Process(server.process.pid).children(recursive=True)
        assert len([p for p in workers if "spawn_main" in " ".join(p.cmdline())]) == 2

        def post(copy: str) -> None:
            status, _ = server_load.request(
                "POST", server.url, "/api/v1/runs", f'{{"runs":[{copy}]}}'.encode(), token
            )
            answers.append(status)

        threads = [threading.Thread(target=post, args=(copy,)) for _, copy in copies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert server.process.returncode == 0
    # A worker may still be finishing its exit the instant the parent returns (a loaded
    # machine): none may outlive a short grace.
    psutil.wait_procs(workers, timeout=10)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in workers)
    assert answers == [200] * len(copies)
    assert sorted(stored_ids(url)) == sorted(new_id for new_id, _ in copies)
    files = home / "server" / "runs"
    assert all((files / new_id / "bundle.json").is_file() for new_id, _ in copies)
