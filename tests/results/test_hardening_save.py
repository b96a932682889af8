"""Saving a finished run when the disk or the database fails, and importing what was kept.

``reef.bench.session.save`` writes the record's JSON atomically to the run's folder, else to
the fallback folder, then stores it; a database that fails leaves a ``RecordNotStored`` (exit 3)
naming the file, and where no file could be written the record is printed on stderr and
carried by the error. ``reef.api.runs_import`` stores such files later. The disk is made to
fail through ``reef.files.write_atomic`` (ENOSPC); the database is made full for real, with
SQLite's ``max_page_count``.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from test_store import make_record

import reef.files
from reef import api, config
from reef.bench import session
from reef.errors import (
    EXIT_ENVIRONMENT,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    DatabaseReadOnly,
    FileRefused,
    Interrupted,
    ManifestError,
    RecordNotStored,
)
from reef.meta.run import RunRecord, load_record
from reef.results import Store


class Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def run(self, scenario: str) -> None:
        pass

    def phase(self, name: str, *, seconds: float | None = None, queries: int | None = None) -> None:
        pass

    def tick(self, done: int) -> None:
        pass

    def note(self, message: str) -> None:
        self.notes.append(message)


@pytest.fixture(autouse=True)
def tmpdir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of the test's own, so that fallback copies land there."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    return folder


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """``disk_full(folder)``: writing any file under ``folder`` fails with ENOSPC."""
    real = reef.files.write_atomic

    def full(folder: Path) -> None:
        def write(path: Path, data: bytes) -> None:
            if path.is_relative_to(folder):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            real(path, data)

        monkeypatch.setattr(reef.files, "write_atomic", write)

    return full


@pytest.fixture
def store() -> Iterator[Store]:
    with Store() as s:
        yield s


@pytest.fixture
def full_store() -> Iterator[Store]:
    """A store whose database cannot grow: SQLite says "database or disk is full"."""
    Store().close()  # made and migrated while it still can grow
    import sqlite3

    with sqlite3.connect(config.reef_home() / "reef.db") as conn:
        conn.execute("VACUUM")  # no free pages left for the run to fill
    conn.close()

    def limit(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    event.listen(Engine, "connect", limit)
    try:
        with Store() as s:
            yield s
    finally:
        event.remove(Engine, "connect", limit)


def record(run_id: str = "run1") -> RunRecord:
    return make_record(run_id, latencies=list(range(5000)))


def run_json(run_id: str) -> Path:
    return config.runs_dir() / run_id / "record.json"


def unsaved(run_id: str) -> Path:
    return session.unsaved_dir() / run_id / "record.json"


def read_back(path: Path) -> RunRecord:
    return load_record(json.loads(path.read_text()), str(path))


# --- saving ----------------------------------------------------------------------------------


def test_a_save_writes_the_json_whole_then_the_database(store: Store) -> None:
    rec = record()
    session.save(store, rec)
    assert read_back(run_json("run1")) == rec
    assert os.listdir(run_json("run1").parent) == ["record.json"]  # no temporary file left
    assert store.get("run1", with_latencies=True) == rec


def test_a_full_run_folder_still_stores_the_run(
    store: Store, disk_full: Callable[[Path], None]
) -> None:
    disk_full(config.reef_home())
    notes = Notes()
    session.save(store, record(), notes)
    assert store.get("run1").id == "run1"
    assert not run_json("run1").exists()  # never a 0-byte record.json
    assert not unsaved("run1").exists()  # the database has it: no stray copy elsewhere
    [note] = notes.notes
    assert note.startswith("run run1 is stored, but its record.json could not be written: ")
    assert "no space left on device" in note


def test_a_full_database_keeps_the_json_in_the_run_folder(full_store: Store) -> None:
    rec = record()
    with pytest.raises(RecordNotStored) as info:
        session.save(full_store, rec)
    error = info.value
    assert error.exit_code == EXIT_ENVIRONMENT
    kept = run_json("run1")
    assert error.kept_at == str(kept)
    assert error.message == (
        f"run run1 (valid) was measured but not stored: results database {full_store.url}: "
        f"database or disk is full; its record is kept in {kept}"
    )
    assert error.hint == f"free some space or fix the database, then: reef runs import {kept}"
    assert read_back(kept) == rec
    assert full_store.stored(["run1"]) == set()


def test_a_full_disk_and_database_keep_the_json_in_the_fallback_folder(
    full_store: Store, disk_full: Callable[[Path], None]
) -> None:
    disk_full(config.reef_home())
    rec = record()
    with pytest.raises(RecordNotStored) as info:
        session.save(full_store, rec)
    kept = unsaved("run1")
    assert info.value.kept_at == str(kept)
    assert f"{run_json('run1')}: no space left on device" in info.value.message
    assert info.value.message.endswith(f"its record is kept in {kept}")
    assert read_back(kept) == rec
    assert oct(kept.parent.parent.stat().st_mode & 0o777) == "0o700"  # private to this user


def test_with_nowhere_to_write_the_record_is_printed(
    full_store: Store,
    disk_full: Callable[[Path], None],
    tmpdir_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    disk_full(Path("/"))
    rec = record()
    with pytest.raises(RecordNotStored) as info:
        session.save(full_store, rec)
    error = info.value
    assert error.kept_at is None
    assert "could not be saved anywhere" in error.message
    assert "its record is printed above on stderr, as one line of JSON" in error.message
    assert error.hint == "save that line to a file elsewhere, then: reef runs import FILE"
    printed = capsys.readouterr().err.strip().splitlines()
    assert load_record(json.loads(printed[-1])) == rec
    data = error.to_json()
    assert data["error"] == "RecordNotStored" and data["kept_at"] is None
    assert load_record(data["record"]) == rec  # type: ignore[arg-type]


def test_a_fallback_folder_that_is_not_this_users_is_not_used(
    full_store: Store, disk_full: Callable[[Path], None], tmp_path: Path
) -> None:
    disk_full(config.reef_home())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    session.unsaved_dir().symlink_to(elsewhere)  # put there by someone else
    with pytest.raises(RecordNotStored) as info:
        session.save(full_store, record())
    assert info.value.kept_at is None
    assert f"{session.unsaved_dir()}: not a folder of this user's" in info.value.message
    assert os.listdir(elsewhere) == []


# --- the interrupted message -----------------------------------------------------------------


def test_interrupted_names_runs_recorded_as_interrupted() -> None:
    error = Interrupted("SIGINT", ["abc"])
    assert error.message == "interrupted by SIGINT; recorded as interrupted: abc"
    assert error.exit_code == EXIT_SIGINT


def test_interrupted_after_a_finished_run_says_how_it_was_stored() -> None:
    error = Interrupted("SIGTERM", finished={"abc": "valid"})
    assert error.message == "run abc finished and was stored as valid; then interrupted by SIGTERM"
    assert error.exit_code == EXIT_SIGTERM
    assert error.to_json()["finished"] == {"abc": "valid"}


# --- importing -------------------------------------------------------------------------------


def write_record(path: Path, rec: RunRecord) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rec.model_dump_json())
    return path


def test_import_a_file_a_run_folder_and_a_folder_of_them(tmp_path: Path, reef_db: str) -> None:
    one = write_record(tmp_path / "one.json", record("a"))
    folders = tmp_path / "runs"
    write_record(folders / "b" / "record.json", record("b"))
    write_record(folders / "c" / "record.json", record("c"))
    (folders / "no-record").mkdir()  # a run folder without a record is not a record

    report = api.runs_import(one)
    assert (report.imported, report.already_stored) == (1, 0)
    assert [(r.id, r.status, r.path, r.result) for r in report.runs] == [
        ("a", "valid", str(one), "imported")
    ]
    assert api.runs_import(folders / "b").runs[0].result == "imported"
    report = api.runs_import(folders)
    assert [(r.id, r.result) for r in report.runs] == [("b", "already stored"), ("c", "imported")]
    with Store() as s:
        assert s.stored(["a", "b", "c"]) == {"a", "b", "c"}
        assert s.latencies("c") == list(range(5000))  # the raw latencies come along


def test_import_is_idempotent(tmp_path: Path, reef_db: str) -> None:
    path = write_record(tmp_path / "r" / "record.json", record("r"))
    assert api.runs_import(path).imported == 1
    again = api.runs_import(tmp_path / "r")
    assert (again.imported, again.already_stored) == (0, 1)
    with Store() as s:
        assert [r.id for r in s.list()] == ["r"]


def test_the_same_run_found_twice_is_imported_once(tmp_path: Path, reef_db: str) -> None:
    write_record(tmp_path / "x" / "record.json", record("same"))
    write_record(tmp_path / "y" / "record.json", record("same"))
    report = api.runs_import(tmp_path)
    assert [r.result for r in report.runs] == ["imported", "already stored"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty: not a run record"),
        ("{not json", "not a run record: not JSON (Expecting property name"),
        ("[1, 2]", "not a run record: expected a JSON object"),
        ('{"status": "valid"}', "id: missing: a run record names its run"),
        ('{"id": "x", "status": "splendid"}', "status"),
    ],
)
def test_a_file_that_is_not_a_record_is_named_and_nothing_is_imported(
    tmp_path: Path, content: str, problem: str
) -> None:
    write_record(tmp_path / "good" / "record.json", record("good"))
    bad = tmp_path / "bad" / "record.json"
    bad.parent.mkdir()
    bad.write_text(content)
    with pytest.raises(ManifestError) as info:
        api.runs_import(tmp_path)
    assert info.value.exit_code == EXIT_USAGE
    assert str(bad) in info.value.message
    assert problem in info.value.message
    assert info.value.hint is not None and info.value.hint.startswith("nothing was imported")
    assert not (config.reef_home() / "reef.db").exists()  # the store was not even opened


def test_import_refuses_what_holds_no_record(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="not found"):
        api.runs_import(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileRefused, match=r"no record\.json in this folder"):
        api.runs_import(tmp_path / "empty")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(FileRefused, match="is a FIFO"):
        api.runs_import(fifo)


def test_import_into_a_read_only_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store().close()
    path = write_record(tmp_path / "r.json", record("r"))
    home = config.reef_home()
    real = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda p, mode, **kw: False if Path(p) == home and mode & os.W_OK else real(p, mode, **kw),
    )
    with pytest.raises(DatabaseReadOnly, match="cannot import runs") as info:
        api.runs_import(path)
    assert info.value.exit_code == EXIT_ENVIRONMENT
