"""The databases the store and server tests run on: SQLite always, and the real PostgreSQL that
the development and CI machines run on 127.0.0.1:5432 (trust authentication).

A pytest plugin (``pytest_plugins`` in tests/conftest.py), so that every test folder has its
fixtures:

- ``db_url``: a test runs once per database, ``[sqlite]`` and ``[postgresql]``: a SQLite file
  in the test's ``REEF_HOME`` (where ``config.db_url()`` puts it), or an empty PostgreSQL
  schema of its own.
- ``reef_db``: the same, and ``REEF_DB_URL`` set to it, for code that opens ``Store()``.
- ``postgresql_url``: an empty PostgreSQL schema of its own, for tests of PostgreSQL alone.
- ``postgres``: the session's PostgreSQL (``new_url()``, ``release(url)``), for fixtures of a
  wider scope than a test.

PostgreSQL is found at ``REEF_TEST_PG_URL`` (default ``postgresql://root@127.0.0.1:5432/test``:
a database the user may connect to, on a server where it may create databases). The session
makes one database of its own there on first use (named with its pid and a random suffix) and
drops it at the end, first ending whatever connections a test left open. Where it cannot be
reached, the tests on PostgreSQL are skipped, saying where it looked and why; with ``CI=true``
they fail instead, since CI must test PostgreSQL.

Each test gets its own schema, through the URL: ``options=-csearch_path=<schema>`` makes it
the only schema of every connection, where unqualified names are made and found, which is all
the store, Alembic and SQLAlchemy's inspector need (they never name a schema). A schema costs
a few milliseconds to make where a database costs ~100. After the test its connections, told
apart by their ``application_name``, are ended, so that none a test left open (a store not
closed) piles up towards the server's connection limit; the schema itself is left to the
database's drop at the end, which costs less than dropping each (~50 ms a schema here).
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.engine import URL

PG_ENV = "REEF_TEST_PG_URL"
PG_DEFAULT = "postgresql://root@127.0.0.1:5432/test"
CONNECT_TIMEOUT_S = 3

# The ``params`` of a fixture running a test on each database; ``-m "not postgresql"`` leaves
# PostgreSQL out.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


# Why PostgreSQL could not be used this session, for the summary; empty while it could.
_UNUSABLE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"postgresql: runs on PostgreSQL ({PG_ENV}, default {PG_DEFAULT})"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line saying why the tests on PostgreSQL did not run (above the list of skips)."""
    if _UNUSABLE:
        terminalreporter.write_line(f"tests on PostgreSQL not run: {_UNUSABLE[0]}", yellow=True)


class Postgres:
    """The session's PostgreSQL server: reached, and its database made, on first use."""

    def __init__(self, server: str) -> None:
        from sqlalchemy.engine import make_url

        self.server: URL = make_url(server)
        self.shown = self.server.render_as_string(hide_password=True)
        self.database = f"reef_test_{os.getpid()}_{secrets.token_hex(3)}"
        self._problem: str | None = None
        self._probed = False
        self._created = False
        self._admin: psycopg.Connection[Any] | None = None  # on the session's database
        self._schemas = itertools.count(1)

    @property
    def _server_database(self) -> str:
        return self.server.database or "postgres"

    def _connect(self, database: str) -> psycopg.Connection[Any]:
        import psycopg

        url = self.server.set(drivername="postgresql", database=database)
        return psycopg.connect(
            url.render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    def problem(self) -> str | None:
        """Why PostgreSQL cannot be used here; None when it can (asked once a session)."""
        if not self._probed:
            self._probed = True
            try:
                with self._connect(self._server_database) as connection:
                    connection.execute(f'CREATE DATABASE "{self.database}"')
                self._created = True
                self._admin = self._connect(self.database)
            except Exception as exc:  # any failure: say what it was
                detail = " ".join(str(exc).split()) or type(exc).__name__
                self._problem = (
                    f"PostgreSQL at {self.shown} (set by {PG_ENV}, else the default) cannot "
                    f"be used: {type(exc).__name__}: {detail}"
                )
                _UNUSABLE.append(self._problem)
        return self._problem

    def require(self) -> None:
        """Skip the test where PostgreSQL cannot be used; fail it on CI (``CI=true``)."""
        problem = self.problem()
        if problem is None:
            return
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem} (CI=true: PostgreSQL is required)", pytrace=False)
        pytest.skip(problem)

    def new_url(self, label: str = "") -> str:
        """The SQLAlchemy URL of a new, empty schema of its own in the session's database."""
        self.require()
        assert self._admin is not None
        schema = f"t{next(self._schemas):04d}"
        self._admin.execute(f"CREATE SCHEMA {schema}")
        # Told apart by it (release): plain ASCII, which PostgreSQL keeps as given, in its 63
        # bytes; the test's name only helps whoever looks at pg_stat_activity.
        name = re.sub(r"[^\w.\[\]-]", "_", f"reef-test-{schema}-{label}", flags=re.ASCII)[:63]
        url = self.server.set(
            drivername="postgresql+psycopg",
            database=self.database,
            query={"options": f"-csearch_path={schema}", "application_name": name},
        )
        return url.render_as_string(hide_password=False)

    def release(self, url: str) -> None:
        """End the connections still open to ``url`` (its schema goes with the database)."""
        from sqlalchemy.engine import make_url

        if self._admin is None:
            return
        self._admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [make_url(url).query["application_name"]],
        )

    def close(self) -> None:
        """Drop the session's database, ending the connections left to it."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if not self._created:
            return
        self._created = False
        with self._connect(self._server_database) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [self.database],
            )
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}"')


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """The session's PostgreSQL; nothing is done on it until a test asks for a schema."""
    server = Postgres(os.environ.get(PG_ENV) or PG_DEFAULT)
    try:
        yield server
    finally:
        server.close()


def database_url(kind: str, postgres: Postgres, home: Path, label: str = "") -> str:
    """A new database of ``kind``: SQLite at ``home/reef.db``, or a PostgreSQL schema."""
    if kind == "sqlite":
        return f"sqlite:///{home / 'reef.db'}"
    return postgres.new_url(label)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, postgres: Postgres, reef_home: Path) -> Iterator[str]:
    """The URL of an empty database, once per kind: SQLite in REEF_HOME, where Reef puts it by
    default, or a PostgreSQL schema of this test's own."""
    url = database_url(request.param, postgres, reef_home, request.node.name)
    yield url
    if request.param == "postgresql":
        postgres.release(url)


@pytest.fixture
def reef_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``db_url``, set as ``REEF_DB_URL``: what ``Store()`` and the API open."""
    monkeypatch.setenv("REEF_DB_URL", db_url)
    return db_url


@pytest.fixture
def postgresql_url(request: pytest.FixtureRequest, postgres: Postgres) -> Iterator[str]:
    """The URL of an empty PostgreSQL schema of this test's own."""
    url = postgres.new_url(request.node.name)
    yield url
    postgres.release(url)


# -- reaching into a test's database --------------------------------------------------------


def kind_of(url: str) -> str:
    """``sqlite`` or ``postgresql``: the database ``url`` names."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///PATH`` URL."""
    assert url.startswith("sqlite:///"), url
    return Path(url.removeprefix("sqlite:///"))


def execute(url: str, *statements: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Run ``statements`` (SQL text; ``:name`` parameters) in one transaction on the database
    ``url`` names, behind the store's back; the rows of the last one, or its row count where
    it returns none. A SQLite connection is closed after, so that no write-ahead log is left
    open for the next opener to fold in."""
    if kind_of(url) == "sqlite":
        connection = sqlite3.connect(sqlite_path(url))
        try:
            with connection:
                for statement in statements:
                    cursor = connection.execute(statement, params or {})
                return cursor.fetchall() if cursor.description else [cursor.rowcount]
        finally:
            connection.close()
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            for statement in statements:
                result = connection.execute(text(statement), params or {})
            return [tuple(r) for r in result] if result.returns_rows else [result.rowcount]
    finally:
        engine.dispose()


def contents(url: str) -> dict[str, Any]:
    """Every table of the database ``url`` names, its columns and its rows (in order): to
    check that something left a database untouched."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found: dict[str, Any] = {}
            inspector = inspect(connection)
            for table in sorted(inspector.get_table_names()):
                columns = [c["name"] for c in inspector.get_columns(table)]
                rows = connection.execute(text(f'SELECT * FROM "{table}"'))
                found[table] = (columns, sorted(map(repr, rows)))
                found[f"{table} indexes"] = sorted(
                    i["name"] or "" for i in inspector.get_indexes(table)
                )
            return found
    finally:
        engine.dispose()


def versions(url: str) -> Sequence[str]:
    """The revisions the database's ``alembic_version`` table records, sorted."""
    return [row[0] for row in execute(url, "SELECT version_num FROM alembic_version ORDER BY 1")]
