"""The results store when its schema table lies, and when it cannot be written.

A second ``alembic_version`` row, a revision its tables contradict, or a missing schema table
is refused with one error naming the database and a repair, and the database is left as it
was, on SQLite and on PostgreSQL. A SQLite file this process cannot write (a read-only
``REEF_HOME``) still answers reads; writes, and upgrades it would need, are refused with exit
3. Read-only homes are real read-only bind mounts where this process may mount (tests run as
root, which permission bits would not stop), and the seam (``os.access``) where it may not.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError
from test_store import make_record

from databases import contents, execute, kind_of, sqlite_path, versions
from reef.errors import EXIT_ENVIRONMENT, EXIT_USAGE, DatabaseReadOnly, ReefError, SchemaMismatch
from reef.results import Store, migrate
from reef.results.models import RunRow
from reef.results.store import StoreError, _database_errors


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A SQLite database at head holding one run."""
    path = tmp_path / "home" / "reef.db"
    with Store(url(path)) as s:
        s.add(make_record("r1", latencies=[1, 2, 3]))
    return path


@pytest.fixture
def at_head(db_url: str) -> str:
    """A database at head holding one run, on each database."""
    with Store(db_url) as s:
        s.add(make_record("r1", latencies=[1, 2, 3]))
    return db_url


def state(db_url: str) -> object:
    """All a database holds: the SQLite file's bytes (execute() leaves no -wal file open), or
    every table with its rows."""
    if kind_of(db_url) == "sqlite":
        return digest(sqlite_path(db_url))
    return contents(db_url)


def refused(db_url: str) -> SchemaMismatch:
    before = state(db_url)
    with pytest.raises(SchemaMismatch) as info:
        Store(db_url)
    assert info.value.exit_code == EXIT_USAGE
    assert db_url in info.value.message
    assert "\n" not in info.value.message
    assert info.value.hint is not None and info.value.hint.startswith("nothing was changed")
    assert state(db_url) == before  # untouched
    return info.value


# --- the schema table ------------------------------------------------------------------------


def test_a_second_revision_row_is_refused_with_the_repair(at_head: str) -> None:
    execute(at_head, "INSERT INTO alembic_version VALUES ('0002')")
    error = refused(at_head)
    head = migrate.HEAD
    assert f"alembic_version table holds 2 revisions ({head}, 0002)" in error.message
    assert error.hint is not None
    assert f"DELETE FROM alembic_version WHERE version_num <> '{head}'" in error.hint
    assert versions(at_head) == ["0002", head]
    # The repair the hint gives works.
    execute(at_head, f"DELETE FROM alembic_version WHERE version_num <> '{head}'")
    with Store(at_head) as s:
        assert s.latencies("r1") == [1, 2, 3]


def test_an_older_revision_on_newer_tables_is_refused(at_head: str) -> None:
    # Alembic would replay 0002 over tables that already have its columns: "Circular
    # dependency detected", or worse.
    execute(at_head, "UPDATE alembic_version SET version_num = '0001'")
    error = refused(at_head)
    assert "says revision 0001, but its tables are those of revision 0003" in error.message
    assert error.hint is not None
    assert "UPDATE alembic_version SET version_num = '0003'" in error.hint
    assert versions(at_head) == ["0001"]


def test_a_revision_older_than_its_middle_revision_tables(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0002")
    engine.dispose()
    if kind_of(db_url) == "sqlite":
        # As Reef makes its databases (WAL), so that opening it changes nothing in the file.
        execute(db_url, "PRAGMA journal_mode=WAL")
    execute(db_url, "UPDATE alembic_version SET version_num = '0001'")
    error = refused(db_url)
    assert "says revision 0001, but its tables are those of revision 0002" in error.message


def test_tables_without_a_schema_table_are_refused(at_head: str) -> None:
    execute(at_head, "DROP TABLE alembic_version")
    error = refused(at_head)
    assert "has the tables of revision 0003 but no schema revision" in error.message


def test_an_empty_schema_table_beside_tables_is_refused(at_head: str) -> None:
    execute(at_head, "DELETE FROM alembic_version")
    error = refused(at_head)
    assert "no schema revision" in error.message


def test_an_unknown_revision_still_names_a_newer_reef(at_head: str) -> None:
    execute(at_head, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ReefError, match="schema revision '9999'") as info:
        Store(at_head)
    assert info.value.hint is not None and "newer Reef" in info.value.hint


def test_the_frozen_layouts_follow_the_revisions() -> None:
    assert set(migrate.RUNS_COLUMNS) == migrate._known()
    head = migrate.RUNS_COLUMNS[migrate.HEAD]
    assert head == {c.name for c in RunRow.__table__.columns}


# --- read-only stores, through the seam ------------------------------------------------------


@pytest.fixture
def deny_writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """``deny_writes(folder)``: this process may not write in ``folder``, as ``os.access``
    says it of a read-only file system (root gets the same answer there)."""

    def deny(folder: Path) -> None:
        real = os.access

        def access(path: object, mode: int, *args: object, **kwargs: object) -> bool:
            inside = Path(str(path)).absolute().is_relative_to(folder)
            if inside and mode & os.W_OK:
                return False
            return real(path, mode, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "access", access)

    return deny


def test_a_store_that_cannot_be_written_is_opened_read_only(
    db: Path, deny_writes: Callable[[Path], None]
) -> None:
    deny_writes(db.parent)
    before = digest(db)
    with Store(url(db)) as s:
        assert s.read_only == f"the folder {db.parent} is not writable"
        assert [r.id for r in s.list()] == ["r1"]
        assert s.get("r").id == "r1"
        assert s.latencies("r1") == [1, 2, 3]
        with pytest.raises(DatabaseReadOnly) as info:
            s.add(make_record("r2"))
        with pytest.raises(DatabaseReadOnly):
            s.delete("r1")
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert info.value.message == (
        f"results database {url(db)} is read-only (the folder {db.parent} is not writable): "
        "cannot write to it"
    )
    assert digest(db) == before
    with Store(url(db)) as s:
        assert s.stored(["r1", "r2"]) == {"r1"}


def test_a_read_only_store_is_not_migrated(
    tmp_path: Path, deny_writes: Callable[[Path], None]
) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(url(path))
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0002")
    engine.dispose()
    deny_writes(tmp_path)
    before = digest(path)
    with pytest.raises(DatabaseReadOnly) as info:
        Store(url(path))
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert info.value.message == (
        f"results database {url(path)} has schema revision 0002, this Reef needs "
        f"{migrate.HEAD} and cannot upgrade it: the folder {tmp_path} is not writable"
    )
    assert digest(path) == before
    assert versions(url(path)) == ["0002"]


def test_a_missing_database_in_a_read_only_folder(
    tmp_path: Path, deny_writes: Callable[[Path], None]
) -> None:
    deny_writes(tmp_path)
    with pytest.raises(DatabaseReadOnly, match="does not exist and cannot be created"):
        Store(url(tmp_path / "none.db"))
    assert not (tmp_path / "none.db").exists()


def test_a_schema_lie_on_a_read_only_store_is_named_as_such(
    db: Path, deny_writes: Callable[[Path], None]
) -> None:
    execute(url(db), "INSERT INTO alembic_version VALUES ('0001')")
    deny_writes(db.parent)
    refused(url(db))


# --- read-only stores, for real --------------------------------------------------------------


@pytest.fixture
def read_only_view(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """``view(folder)``: ``folder`` bind-mounted read-only; skipped where mounting is not
    permitted."""
    mounts: list[Path] = []

    def view(folder: Path) -> Path:
        target = tmp_path / f"ro-{len(mounts)}"
        target.mkdir()
        bind = subprocess.run(["mount", "--bind", str(folder), str(target)], capture_output=True)
        if bind.returncode != 0:
            pytest.skip(f"cannot bind-mount here: {bind.stderr.decode().strip()}")
        mounts.append(target)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=True)
        return target

    yield view
    for target in reversed(mounts):
        subprocess.run(["umount", str(target)], check=False)


def test_a_read_only_mount_answers_reads_and_refuses_writes(
    db: Path, read_only_view: Callable[[Path], Path]
) -> None:
    home = read_only_view(db.parent)
    files = sorted(os.listdir(db.parent))
    with Store(url(home / "reef.db")) as s:
        assert s.read_only == f"the folder {home} is on a read-only file system"
        assert s.get("r1", with_latencies=True).latencies_ns == [1, 2, 3]
        with pytest.raises(DatabaseReadOnly, match="is read-only"):
            s.add(make_record("r2"))
    assert sorted(os.listdir(db.parent)) == files  # not even a -shm file


def test_a_read_only_mount_reads_what_the_write_ahead_log_holds(
    tmp_path: Path, read_only_view: Callable[[Path], Path]
) -> None:
    # A copy taken while a writer had runs in its log only: the log is part of the database.
    source = tmp_path / "live"
    copy = tmp_path / "copy"
    copy.mkdir()
    with Store(url(source / "reef.db")) as s:
        writer = sqlite3.connect(source / "reef.db")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        s.add(make_record("in-log"))
        for name in os.listdir(source):
            shutil.copy(source / name, copy / name)
        writer.close()
    assert (copy / "reef.db-wal").stat().st_size > 0
    home = read_only_view(copy)
    with Store(url(home / "reef.db")) as s:
        assert [r.id for r in s.list()] == ["in-log"]
    # Without its -shm file, SQLite cannot read the log without writing: said, not misread.
    (copy / "reef.db-shm").rename(tmp_path / "shm")
    with pytest.raises(DatabaseReadOnly, match=r"write-ahead log .*reef\.db-wal cannot be read"):
        Store(url(home / "reef.db"))


# --- a failing disk under the database is exit 3 ---------------------------------------------


@pytest.mark.parametrize(
    ("failure", "exit_code"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), EXIT_ENVIRONMENT),
        (OSError(errno.EROFS, "Read-only file system"), EXIT_ENVIRONMENT),
        (OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O error")), 3),
        (OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")), 2),
    ],
)
def test_database_failures_of_the_disk_are_exit_3(failure: Exception, exit_code: int) -> None:
    with pytest.raises(StoreError) as info, _database_errors("sqlite:////x/reef.db"):
        raise failure
    assert info.value.exit_code == exit_code
    assert info.value.message.startswith("results database sqlite:////x/reef.db: ")


def test_a_full_database_is_exit_3(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("VACUUM")
    conn.close()

    def limit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={db.stat().st_size // 4096}")

    with Store(url(db)) as s:
        event.listen(s._engine, "connect", limit)
        s._engine.dispose()  # connections made from now on cannot grow the file
        with pytest.raises(StoreError, match="database or disk is full") as info:
            s.add(make_record("big", latencies=list(range(100_000))))
    assert info.value.exit_code == EXIT_ENVIRONMENT


def test_a_database_that_cannot_be_reached_or_has_no_driver_is_exit_3(tmp_path: Path) -> None:
    """The environment failed, not the input: a missing driver, a server that refuses."""
    from reef.results import Store
    from reef.results.store import StoreError

    with pytest.raises(StoreError) as caught:
        Store("postgresql://reef:secret@127.0.0.1:1/reef").count()
    assert caught.value.exit_code == 3
    assert "secret" not in caught.value.message
    garbage = tmp_path / "reef.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as caught:
        Store(f"sqlite:///{garbage}").count()
    assert caught.value.exit_code == 2  # a file that is not a results database: bad input
