"""Engines for the results database, with SQLite set up for several writing processes, and
read-only where this process cannot write the database (a read-only ``REEF_HOME``); on
PostgreSQL, writers take turns as they do on SQLite (``_postgresql_begin``).

SQLAlchemy is imported only where an engine is made: a plain SQLite file already at the newest
schema is read through the standard library's ``sqlite3`` (``plain_sqlite_path``,
``connect_sqlite``), which saves every read-only command the ~0.3 s that importing SQLAlchemy
costs.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

# Execution option marking a connection whose transactions will write (see _sqlite_begin).
WRITE = "reef_write"

BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Access:
    """Whether this process can write a SQLite database file: ``why`` says why not."""

    path: Path
    writable: bool
    exists: bool
    why: str = ""


def sqlite_access(url: str | URL) -> Access | None:
    """How a SQLite file database may be used; None for other databases, in-memory ones and
    ``file:`` URIs, which are opened as given.

    SQLite writes beside the database (the ``-wal`` and ``-shm`` files of WAL mode, a
    rollback journal), so the folder must be writable as well as the file. ``os.access``
    answers for root too where it matters: a read-only file system (EROFS) or an immutable
    file (EPERM), where permission bits would not stop root.
    """
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return file_access(Path(database))


def file_access(database: Path) -> Access:
    """How the SQLite file at ``database`` may be used (see ``sqlite_access``)."""
    path = database.absolute()
    exists = path.exists()
    folder = path.parent
    if not folder.is_dir():
        return Access(path, True, exists)  # created on opening, or the error says why not
    if not os.access(folder, os.W_OK | os.X_OK):
        return Access(path, False, exists, f"the folder {folder} {_not_writable(folder)}")
    if exists and not os.access(path, os.W_OK):
        return Access(path, False, exists, f"the file {_not_writable(path)}")
    return Access(path, True, exists)


def _not_writable(path: Path) -> str:
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    return "is on a read-only file system" if read_only else "is not writable"


def plain_sqlite_path(url: str) -> Path | None:
    """The file of ``sqlite:///PATH``, read without SQLAlchemy; None for any other URL (another
    database, a driver named, a query, an in-memory database, a ``file:`` URI, escapes), which
    goes through SQLAlchemy's own parsing."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix) :]
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if any(c in database for c in "?#%"):
        return None
    return Path(database)


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A connection of the standard library's driver to the existing SQLite file ``path``, set
    up as an engine's (``_sqlite_connect``): for reading without importing SQLAlchemy. Usable
    from any thread; the caller serialises its use."""
    connection = sqlite3.connect(str(path), check_same_thread=False)
    try:
        _sqlite_connect(connection, None)
    except BaseException:
        connection.close()
        raise
    return connection


def make_engine(url: str | URL, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; with ``read_only`` (SQLite files only, see ``read_only_url``),
    one that never writes, not even SQLite's ``-shm`` file."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if read_only:
        parsed = read_only_url(Path(str(parsed.database)))
    elif parsed.get_backend_name() == "sqlite":
        _make_parent(parsed)
    engine = create_engine(parsed)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect_read_only if read_only else _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _postgresql_begin)
    return engine


class WalUnreadable(Exception):
    """A read-only database whose write-ahead log SQLite cannot read without writing."""


def read_only_url(path: Path) -> URL:
    """The SQLite URI that reads ``path`` without writing anything.

    ``mode=ro`` keeps using a write-ahead log left beside the file, but needs its ``-shm``
    file, which a read-only folder cannot get; ``immutable=1`` needs nothing, but ignores the
    log. So ``mode=ro`` when it opens; else ``immutable=1`` when no log holds anything, since
    then the file itself is the whole database; else ``WalUnreadable``.
    """
    from urllib.parse import quote

    from sqlalchemy.engine import URL

    uri = "file:" + quote(str(path))
    try:
        probe = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
            mode = {"mode": "ro"}
        finally:
            probe.close()
    except sqlite3.OperationalError as exc:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise WalUnreadable(str(wal)) from exc
        mode = {"immutable": "1"}
    return URL.create("sqlite", database=uri, query={**mode, "uri": "true"})


def _make_parent(url: URL) -> None:
    database = url.database
    # In-memory databases and file: URIs have no plain path to create.
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # sqlite3's own transaction handling skips BEGIN before SELECT and DDL, which makes reads
    # and migrations non-transactional; _sqlite_begin emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # The timeout first: switching to WAL needs a lock that another process may hold.
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_connect_read_only(dbapi_connection: Any, _record: Any) -> None:
    # As _sqlite_connect, without switching to WAL: that is a write.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """WAL lets readers go on while one process writes; once set, it is stored in the file.

    Switching needs an exclusive lock, and SQLite does not always call the busy handler for
    it, so a process racing another one to create the database retries here.
    """
    import time

    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads, then writes, fails at once with SQLITE_BUSY if another
    # process committed in between: busy_timeout cannot help it. Writers therefore take the
    # write lock up front (IMMEDIATE), where busy_timeout does apply; readers stay deferred
    # so that they never wait for a writer.
    mode = "IMMEDIATE" if connection.get_execution_options().get(WRITE) else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


# The key of the lock one writing transaction at a time holds on PostgreSQL: the store's
# schema, so that stores in other schemas of the same database do not wait for each other.
_WRITE_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtext('reef.results ' || coalesce(current_schema(), '')))"
)


def _postgresql_begin(connection: Connection) -> None:
    # One writer at a time, as on SQLite (_sqlite_begin): a write replaces a run by deleting,
    # then inserting it, and two at once under READ COMMITTED would both find nothing to
    # delete and collide on its id; two processes migrating a new database at once would both
    # create its tables. The lock is taken first in the transaction and held to its end.
    if connection.get_execution_options().get(WRITE):
        connection.exec_driver_sql(_WRITE_LOCK)
