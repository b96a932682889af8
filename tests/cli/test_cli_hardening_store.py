"""The store's failures as the ``reef`` command reports them: a run measured on a full
database (exit 3, where its record is kept, and ``reef runs import`` afterwards), SIGTERM
while a finished run is saved (exit 143, saying it was stored as valid), a schema table that
lies (exit 2), and a read-only ``REEF_HOME`` (reads work, a benchmark is refused before it
measures anything)."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import InProcessReef
from e2e_support import SHORT, assert_json_error, assert_usage_error
from sqlalchemy import event
from sqlalchemy.engine import Engine

import reef.files
from factories import run_record
from reef.meta.run import RunRecord
from reef.results import Store


def a_record(run_id: str, scale: int = 1) -> RunRecord:
    latencies = [(i % 50 + 100) * scale * 1000 for i in range(200)]
    return run_record(
        run_id,
        created_at=None,
        name="m",
        version=None,
        latency_ms={
            "min": 0.1,
            "mean": 0.12,
            "p50": 0.12,
            "p90": 0.14,
            "p95": 0.145,
            "p99": 0.149,
            "max": 0.15,
        },
        throughput_qps=8000.0 / scale,
        queries=200,
        raw=latencies,
    )


def write_record(path: Path, run_id: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(a_record(run_id).model_dump_json())
    return path


def make_store(cli: InProcessReef) -> Path:
    db = cli.home / "reef.db"
    Store(f"sqlite:///{db}").close()
    return db


@pytest.fixture
def full_database(cli: InProcessReef) -> Iterator[Callable[[], None]]:
    """The home's database made, then unable to grow ("database or disk is full") until the
    callable given frees it."""
    db = make_store(cli)
    with sqlite3.connect(db) as conn:
        conn.execute("VACUUM")  # no free pages left for a run to fill
    conn.close()

    def limit(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    def free() -> None:
        if event.contains(Engine, "connect", limit):
            event.remove(Engine, "connect", limit)

    event.listen(Engine, "connect", limit)
    yield free
    free()


@pytest.fixture
def read_only_home(cli: InProcessReef, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """``read_only_home()``: from now on ``os.access`` says the home cannot be written, as it
    says of a read-only file system (where root cannot write either)."""

    def deny() -> None:
        real = os.access
        home = cli.home.resolve()

        def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
            if mode & os.W_OK and Path(path).resolve().is_relative_to(home):
                return False
            return real(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)

    return deny


# --- a full database at save, and reef runs import ------------------------------------------


def test_a_run_the_database_cannot_store_is_kept_then_imported(
    cli: InProcessReef, tiny_onnx: Path, full_database: Callable[[], None]
) -> None:
    result = cli("bench", str(tiny_onnx), *SHORT, "--mode", "performance", "--raw-latencies")
    assert result.rc == 3, str(result)
    assert "Traceback" not in result.stderr
    [run_id] = cli.run_dirs()
    kept = cli.home / "runs" / run_id / "record.json"
    assert result.says(
        f"error: run {run_id} (valid) was measured but not stored: results database",
        "database or disk is full",
        f"its record is kept in {kept}",
        f"hint: free some space or fix the database, then: reef runs import {kept}",
    )
    assert cli.runs() == []

    full_database()  # space freed
    imported = cli.ok("runs", "import", str(kept))
    summary = "1 imported, 0 already stored"
    assert imported.stdout.split() == ["imported", run_id, "valid", str(kept), *summary.split()]
    [run] = cli.runs()
    assert run["id"] == run_id and run["status"] == "valid"
    latencies = cli.ok("runs", "show", run_id, "--raw", "--json").json()["latencies_ns"]
    assert len(latencies) > 0

    again = cli.ok("runs", "import", str(cli.home / "runs"), "--json").json()
    assert again == {
        "imported": 0,
        "already_stored": 1,
        "runs": [{"id": run_id, "status": "valid", "path": str(kept), "result": "already stored"}],
    }


def test_with_no_file_writable_the_record_is_printed_then_imported(
    cli: InProcessReef,
    tiny_onnx: Path,
    full_database: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def no_space(path: Path, _data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(reef.files, "write_atomic", no_space)
    result = cli("bench", str(tiny_onnx), *SHORT, "--mode", "performance", "--json")
    monkeypatch.undo()
    assert result.rc == 3, str(result)
    error = json.loads(result.stdout)
    assert error["error"] == "RecordNotStored" and error["kept_at"] is None
    assert result.says(
        f"error: run {error['run_id']} (valid) was measured but could not be saved anywhere",
        "no space left on device",
        "database or disk is full",
        "its record is printed above on stderr, as one line of JSON",
        "hint: save that line to a file elsewhere, then: reef runs import FILE",
    )
    [printed] = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert json.loads(printed) == error["record"]

    full_database()
    saved = tmp_path / "saved.json"
    saved.write_text(printed)
    cli.ok("runs", "import", str(saved))
    assert [r["id"] for r in cli.runs()] == [error["run_id"]]


def test_import_names_a_file_that_is_not_a_record(cli: InProcessReef, tmp_path: Path) -> None:
    write_record(tmp_path / "runs" / "a" / "record.json", "a")
    bad = tmp_path / "runs" / "b" / "record.json"
    bad.parent.mkdir()
    bad.write_text("")  # what a save cut short by a full disk used to leave
    result = cli("runs", "import", str(tmp_path / "runs"))
    assert_usage_error(result, f"error: {bad}: is empty: not a run record", "nothing was imported")
    assert not (cli.home / "reef.db").exists()
    data = assert_json_error(cli("runs", "import", str(bad), "--json"), str(bad))
    assert data["error"] == "ManifestError"
    assert_usage_error(cli("runs", "import", str(tmp_path / "none")), "none: not found")


# --- SIGTERM while the finished run is saved ------------------------------------------------


def test_sigterm_during_the_save_says_the_run_was_stored_as_valid(
    cli: InProcessReef, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add = Store.add

    def add_then_sigterm(self: Store, record: RunRecord) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # held until the record is safe
        add(self, record)

    monkeypatch.setattr(Store, "add", add_then_sigterm)
    result = cli("bench", str(tiny_onnx), *SHORT, "--mode", "performance")
    monkeypatch.undo()
    assert result.rc == 143, str(result)
    [run] = cli.runs()
    assert run["status"] == "valid"
    assert result.says(
        f"error: run {run['id']} finished and was stored as valid; then interrupted by SIGTERM"
    )
    assert "recorded as interrupted" not in result.stderr


# --- the schema table ------------------------------------------------------------------------


def test_a_second_schema_row_is_one_line_and_exit_2(cli: InProcessReef) -> None:
    db = make_store(cli)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('0001')")
    conn.close()
    result = cli("runs", "list")
    assert_usage_error(
        result,
        f"error: results database sqlite:///{db}: its alembic_version table holds 2 revisions",
        "hint: nothing was changed; its tables are those of revision 0003",
    )
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # the error and its hint
    assert_json_error(cli("runs", "list", "--json"), "holds 2 revisions")


# --- a read-only REEF_HOME --------------------------------------------------------------------


def test_a_read_only_home_answers_reads(
    cli: InProcessReef, tmp_path: Path, read_only_home: Callable[[], None]
) -> None:
    make_store(cli)
    for run_id in ("run-a", "run-b"):
        write_record(tmp_path / run_id / "record.json", run_id)
    cli.ok("runs", "import", str(tmp_path))
    read_only_home()
    assert sorted(r["id"] for r in cli.runs()) == ["run-a", "run-b"]
    assert cli.ok("runs", "show", "run-a", "--json").json()["id"] == "run-a"
    assert "run-a" in cli.ok("board").stdout or "run-b" in cli.ok("board").stdout
    assert cli.ok("compare", "run-a", "run-b", "--json").json()
    refused = cli("runs", "import", str(tmp_path), "--json")
    assert refused.rc == 3, str(refused)
    data = json.loads(refused.stdout)
    assert data["error"] == "DatabaseReadOnly"
    assert data["message"].endswith("is not writable): cannot import runs")


def test_a_benchmark_on_a_read_only_home_fails_before_measuring(
    cli: InProcessReef, tiny_onnx: Path, read_only_home: Callable[[], None]
) -> None:
    db = make_store(cli)
    read_only_home()
    result = cli("bench", str(tiny_onnx), *SHORT)
    assert result.rc == 3, str(result)
    assert result.says(
        f"error: results database sqlite:///{db} is read-only (the folder {cli.home} is not "
        "writable): cannot record runs",
        "hint: set REEF_HOME (or REEF_DB_URL) to a writable place; reading runs works",
    )
    assert cli.run_dirs() == []
    assert "performance" not in result.stderr  # nothing was measured
