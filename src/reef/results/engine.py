"""Engines for the results database, with SQLite set up for several writing processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

# Execution option marking a connection whose transactions will write (see _sqlite_begin).
WRITE = "reef_write"

BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str | URL) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _make_parent(parsed)
    engine = create_engine(parsed)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


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


def _use_wal(cursor: Any) -> None:
    """WAL lets readers go on while one process writes; once set, it is stored in the file.

    Switching needs an exclusive lock, and SQLite does not always call the busy handler for
    it, so a process racing another one to create the database retries here.
    """
    import sqlite3
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
