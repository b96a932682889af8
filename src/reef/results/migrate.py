"""Bringing the results database's schema to the newest Alembic revision.

Reef runs Alembic in-process; no alembic.ini is needed. To write a new revision, run
``alembic.command.revision(alembic_config(connection), message, autogenerate=True)`` against
a database at head, tidy the generated file by hand, and update ``HEAD``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from reef.errors import ReefError
from reef.results.engine import WRITE

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"

# The newest revision in migrations/versions (a test keeps it in step). It only lets opening a
# database that is already at head skip importing Alembic, which costs ~0.15 s on every
# `reef` command; a stale value makes opening slower, never wrong.
HEAD = "0003"


def upgrade(engine: Engine) -> None:
    """Upgrade to head; cheap (one read, no Alembic import) when the database is there."""
    with engine.connect() as connection:
        if _recorded(connection) == [HEAD]:
            return
    _upgrade(engine)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    # Config values go through configparser interpolation, where '%' is special.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision, as Alembic reads it from the revision files."""
    revision = _scripts().get_current_head()
    assert revision is not None, "no Alembic revisions found"
    return revision


def _recorded(connection: Connection) -> list[str]:
    if not inspect(connection).has_table("alembic_version"):
        return []
    return list(connection.scalars(text("SELECT version_num FROM alembic_version")))


def _upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection, _foreign_keys_off(connection):
        connection.execution_options(**{WRITE: True})
        # One transaction, holding the write lock: two processes opening a new database at
        # once migrate it once, and a migration cut short leaves the previous schema.
        with connection.begin():
            revision = MigrationContext.configure(connection).get_current_revision()
            if revision == head():
                return  # another process got there first
            if revision is not None and revision not in _known():
                raise ReefError(
                    f"the results database {engine.url!r} has schema revision {revision!r}, "
                    "which this Reef does not know",
                    hint="a newer Reef wrote it: upgrade Reef, or set REEF_DB_URL to another "
                    "database",
                )
            command.upgrade(alembic_config(connection), "head")
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:  # rolled back with the rest of the migration
                    raise ReefError(
                        f"migrating {engine.url!r} would leave {len(broken)} rows whose "
                        "run is missing",
                        hint="nothing was changed; please report this",
                    )


@contextlib.contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite with foreign keys off for the migration. A revision that changes a column
    rebuilds the table (create, copy, drop, rename), and with foreign keys on, dropping the
    old ``runs`` table would delete every run's raw latencies through ``ON DELETE CASCADE``.
    The pragma has no effect inside a transaction, so it is set on the driver's connection
    before the migration's transaction begins, and set back after it."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    # Parsing the revision files is the slow part of a check; they do not change while we run.
    return ScriptDirectory.from_config(alembic_config())


def _known() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}
