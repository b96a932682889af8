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

from reef.errors import DatabaseReadOnly, ReefError, SchemaMismatch
from reef.results.engine import WRITE

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"

# The newest revision in migrations/versions (a test keeps it in step). It only lets opening a
# database that is already at head skip importing Alembic, which costs ~0.15 s on every
# `reef` command; a stale value makes opening slower, never wrong.
HEAD = "0006"

# The columns of the runs table after each revision, frozen like the revisions themselves (a
# test keeps the last one equal to the model's): they tell which revision a database's
# tables really are at when its alembic_version table says otherwise.
_RUNS_COLUMNS_ADDED = {
    "0001": (
        "id", "created_at", "status", "scenario", "target_name", "target_version",
        "target_kind", "backend", "p50_ms", "p90_ms", "p99_ms", "throughput_qps",
        "accuracy_value", "accuracy_metric", "format_version", "record_json",
    ),
    "0002": ("tags", "search_text"),
    "0003": ("hardware",),
    "0004": (),  # an index only
    "0005": (),  # the server's tokens and audit log: other tables
    "0006": (),  # the server's submissions and verifications: other tables
}  # fmt: skip


def _runs_columns() -> dict[str, frozenset[str]]:
    layouts, columns = {}, frozenset[str]()
    for revision, added in _RUNS_COLUMNS_ADDED.items():
        columns = columns | set(added)
        layouts[revision] = columns
    return layouts


RUNS_COLUMNS = _runs_columns()


def upgrade(engine: Engine, *, shown: str | None = None, read_only: str | None = None) -> None:
    """Upgrade to head; cheap (one read, no Alembic import) when the database is there.

    The schema table is checked first: several rows, or a revision its tables contradict, is
    a ``SchemaMismatch`` and the database is left as it is. ``read_only`` (why the database
    cannot be written) makes a needed upgrade a ``DatabaseReadOnly`` instead. ``shown`` is
    the database as messages name it (its URL without a password).
    """
    name = shown or engine.url.render_as_string(hide_password=True)
    with engine.connect() as connection:
        recorded = _recorded(connection)
        if recorded == [HEAD]:
            return
        _check_recorded(connection, recorded, name)
    if read_only is not None:
        at = f"schema revision {recorded[0]}" if recorded else "no schema yet"
        raise DatabaseReadOnly(
            f"results database {name} has {at}, this Reef needs {HEAD} and cannot upgrade it: "
            f"{read_only}",
            hint="open it once with a Reef that can write it (a writable REEF_HOME), or use "
            "the Reef that made it",
        )
    _upgrade(engine)


def _check_recorded(connection: Connection, recorded: list[str], name: str) -> None:
    """Refuse a schema table that Alembic would trip over or trust wrongly."""
    looks = _tables_revision(connection)
    if len(recorded) > 1:
        fix = "restore the database from a copy, or set REEF_DB_URL to another database"
        if looks:
            # Revisions that add no column look alike (0003, 0004): keep the row of the one
            # recorded, so that the repair does not delete every row.
            alike = [r for r in RUNS_COLUMNS if _same_tables(r, looks)]
            kept = [r for r in alike if r in recorded]
            keep = kept[-1] if kept else looks
            row = "that row" if len(alike) == 1 else f"row {keep}"
            fix = (
                f"its tables are those of revision {' or '.join(alike)}: keeping only {row} "
                f"(DELETE FROM alembic_version WHERE version_num <> '{keep}') repairs it"
            )
        raise SchemaMismatch(
            f"results database {name}: its alembic_version table holds {len(recorded)} "
            f"revisions ({', '.join(recorded)}), where a Reef database records one",
            hint=f"nothing was changed; {fix}",
        )
    revision = recorded[0] if recorded else None
    if revision is not None and revision not in _RUNS_COLUMNS_ADDED:
        raise _unknown_revision(name, revision)
    if revision is None and _has_runs(connection):
        shape = f"the tables of revision {looks}" if looks else "a runs table"
        raise SchemaMismatch(
            f"results database {name}: it has {shape} but no schema revision (its "
            "alembic_version table is missing or empty)",
            hint="nothing was changed; it was not made by Reef, or its schema table was "
            "dropped: restore it from a copy, or set REEF_DB_URL to another database",
        )
    # Tables no revision made (a column added by hand) are left to the migration to judge.
    if revision is not None and looks is not None and not _same_tables(revision, looks):
        raise SchemaMismatch(
            f"results database {name}: its alembic_version table says revision {revision}, "
            f"but its tables are those of revision {looks}",
            hint=f"nothing was changed; if the tables are right, setting the revision to "
            f"{looks} repairs it (UPDATE alembic_version SET version_num = '{looks}')",
        )


def _unknown_revision(name: str, revision: str) -> ReefError:
    return ReefError(
        f"the results database {name} has schema revision {revision!r}, which this Reef "
        "does not know",
        hint="a newer Reef wrote it: upgrade Reef, or set REEF_DB_URL to another database",
    )


def _has_runs(connection: Connection) -> bool:
    from sqlalchemy import inspect

    return inspect(connection).has_table("runs")


def _tables_revision(connection: Connection) -> str | None:
    """The oldest revision whose runs table has exactly the columns this one has, if any.

    A revision that adds no column (0004: an index) looks like the one before it; naming the
    older one is safe, since such a revision's upgrade may be replayed (it makes its index only
    where it is missing)."""
    from sqlalchemy import inspect

    if not _has_runs(connection):
        return None
    columns = {column["name"] for column in inspect(connection).get_columns("runs")}
    for revision, layout in RUNS_COLUMNS.items():
        if columns == layout:
            return revision
    return None


def _same_tables(revision: str, looks: str) -> bool:
    """Whether revisions ``revision`` and ``looks`` leave the runs table with the same columns."""
    return RUNS_COLUMNS.get(revision) == RUNS_COLUMNS.get(looks)


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
    from sqlalchemy import inspect, text

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
                # Checked before, and again here: another process may have written it since.
                raise _unknown_revision(repr(engine.url), revision)
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
