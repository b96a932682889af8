"""``kill -9`` of a real ``reef server`` in the middle of submissions (8 submitters from another
process), then a restart over the same database and files, on SQLite and PostgreSQL.

After it: every run the database holds is whole (its record readable through the API, its
folder's files those its ``bundle.json`` lists, with their sha256), the acknowledged ones
among them; the database passes its check (SQLite's ``PRAGMA integrity_check``; on
PostgreSQL, no latencies row without its run). A run's folder is moved into place inside the
transaction that stores the run, so a kill between the two leaves a whole folder that no
stored run owns: never an acknowledged run's, never listed or served, and replaced when the
run is submitted again (``accept_bundles``). The staging folders a kill leaves
(``.incoming-*``) are never seen as runs, and a later server removes them once they are stale
(``sweep_leftovers``)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_load import LOAD_SCRIPT, bundle_file, server_load, stored_ids

from reef.api.submissions import LEFTOVER_PREFIXES, STALE_AFTER_S, sweep_leftovers

__all__ = ["bundle_file"]  # the fixture, shared with the load test

# Runs stored before the kill, at least.
BEFORE_KILL = 30


def whole(folder: Path, run_id: str) -> bool:
    """The folder holds the run: its record, and each file ``bundle.json`` lists with its
    sha256."""
    kept = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    if record["id"] != run_id:
        return False
    for rel, sha in kept["files"].items():
        path = folder / rel
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            return False
    return True


def database_checked(url: str) -> None:
    if url.startswith("sqlite"):
        from databases import sqlite_path

        connection = sqlite3.connect(sqlite_path(url))
        try:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            connection.close()
        return
    from databases import execute

    orphans = execute(
        url,
        "SELECT count(*) FROM run_latencies l LEFT JOIN runs r ON r.id = l.run_id "
        "WHERE r.id IS NULL",
    )
    assert orphans == [(0,)]


@pytest.mark.slow
def test_kill_9_mid_submission_loses_and_breaks_nothing(
    server_url: str, tmp_path: Path, bundle_file: Path
) -> None:
    home = tmp_path / "server-home"
    home.mkdir()
    token = server_load.make_token(home, server_url)
    out = tmp_path / "load.json"
    server = server_load.Server(home, server_url).start()
    try:
        load = subprocess.Popen(
            [sys.executable, str(LOAD_SCRIPT), "--url", server.url, "--token", token,
             "--bundle", str(bundle_file), "--submitters", "8", "--readers", "0",
             "--duration", "6", "--out", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        end = time.monotonic() + 60
        while len(stored_ids(server_url)) < BEFORE_KILL and time.monotonic() < end:
            time.sleep(0.1)
        server.kill()  # SIGKILL, mid-way through the submitters' requests
        _, err = load.communicate(timeout=120)
        assert load.returncode == 0, err[-3000:]
    finally:
        server.kill()
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    acked = set(result["acked"])
    assert len(acked) >= BEFORE_KILL // 2, {k: v for k, v in result.items() if k != "acked"}
    assert result["failed"] > 0, "the kill cut no request"

    database_checked(server_url)
    files = home / "server" / "runs"
    with server_load.running(home, server_url) as again:
        stored = stored_ids(server_url)
        assert len(stored) == len(set(stored))
        assert acked <= set(stored), f"{len(acked - set(stored))} acknowledged runs lost"
        for run_id in stored:
            status, raw = server_load.request("GET", again.url, f"/api/v1/runs/{run_id}")
            assert status == 200, raw[:500]
            assert json.loads(raw)["id"] == run_id
            assert whole(files / run_id, run_id), f"stored run {run_id} is not whole"
        folders = {p.name for p in files.iterdir() if not p.name.startswith(".")}
        # Folders of runs whose transaction the kill cut: whole, and never acknowledged.
        for name in folders - set(stored):
            assert name not in acked, f"acknowledged run {name} is not stored"
            assert whole(files / name, name), f"folder {name} without its run is half there"
        listed: set[str] = set()
        cursor = ""
        while True:
            path = "/api/v1/runs?limit=500" + (f"&cursor={cursor}" if cursor else "")
            status, raw = server_load.request("GET", again.url, path)
            assert status == 200, raw[:500]
            page = json.loads(raw)
            listed |= {run["id"] for run in page["runs"]}
            if not page["next_cursor"]:
                break
            cursor = page["next_cursor"]
        assert listed == set(stored)  # no staging folder is ever a run
        # The restarted server takes submissions again.
        text = bundle_file.read_text(encoding="utf-8")
        old_id = json.loads(text)["record"]["id"]
        new_id, copy = server_load.with_new_id(text, old_id)
        status, raw = server_load.request(
            "POST", again.url, "/api/v1/runs", f'{{"runs":[{copy}]}}'.encode(), token
        )
        assert status == 200, raw[:500]
        assert whole(files / new_id, new_id)
    database_checked(server_url)
    leftovers = [p for p in files.iterdir() if p.name.startswith(LEFTOVER_PREFIXES)]
    print(f"{len(acked)} acknowledged, {len(stored)} stored, {len(leftovers)} staging leftovers")


def test_stale_staging_folders_are_swept_and_runs_are_not(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    names = [".incoming-old", ".replaced-old", ".incoming-new", "0123abcd", ".other"]
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "file").write_bytes(b"x")
    long_ago = time.time() - STALE_AFTER_S - 60
    for name in (".incoming-old", ".replaced-old", "0123abcd", ".other"):
        os.utime(root / name, (long_ago, long_ago))
    removed = sweep_leftovers(root)
    assert sorted(p.name for p in removed) == [".incoming-old", ".replaced-old"]
    assert sorted(p.name for p in root.iterdir()) == [".incoming-new", ".other", "0123abcd"]
    assert sweep_leftovers(tmp_path / "missing") == []
