"""The store of finished runs.

A run is one ``runs`` row, written in a single transaction with its raw latencies (if any),
so a process killed mid-write leaves either the old run or the new one, never half of one.
Only ``record_json`` is read back; the other columns exist to filter and sort on.

Reads are SQL text with ``:name`` parameters, run on the standard library's ``sqlite3`` for
SQLite (on a connection of its own when the database is a plain file already at the newest
schema, so that a read-only command imports neither SQLAlchemy nor the table models) and
through SQLAlchemy's ``text()`` for other databases. Writes and migrations go through
SQLAlchemy, whose engine is made on first use.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import sqlite3
import sys
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from reef import config
from reef.errors import (
    EXIT_ENVIRONMENT,
    DatabaseReadOnly,
    ManifestError,
    Problem,
    ReefError,
    ResultsError,
    RunNotFound,
)
from reef.results import packing
from reef.results.engine import (
    WRITE,
    WalUnreadable,
    connect_sqlite,
    file_access,
    make_engine,
    plain_sqlite_path,
    sqlite_access,
)
from reef.results.fields import PATH_COLUMNS, RUNS_TABLE, Field, FieldReader
from reef.results.query import (
    NEWEST_FIRST,
    UNKNOWN_HARDWARE,
    NoRunsMatch,
    RunFilter,
    Sort,
    explain_empty,
    like_pattern,
    run_hardware,
    run_tags,
    search_text,
    version_spec,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, FromClause

    from reef.meta.run import RunRecord
    from reef.meta.summary import RunSummary

MAX_CANDIDATES = 10
# The sort columns holding text, which _Reader.binary orders as SQLite does.
_TEXT_SORTED = frozenset({"target_name", "scenario", "status"})
_IN_CHUNK = 500  # ids per IN (...): SQLite allows 999 bound parameters in older builds


class StoreError(ResultsError):
    """The results database could not be opened, read or written. Exit 3 where Reef's
    environment failed: the disk under it (full, read-only, an I/O error), a server that cannot
    be reached, a database driver that is not installed. Exit 2 where the input is wrong: a
    file that is not a results database, a URL that means nothing."""


# SQLite's words for a disk that failed under the database, and the OS errors that mean it.
_DISK_FAILURES = ("database or disk is full", "disk i/o error", "attempt to write a readonly")
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}
# A database server's drivers' words for a server that cannot be reached or dropped us.
_SERVER_FAILURES = (
    "connection refused",
    "could not connect",
    "could not translate host",
    "timeout expired",
    "connection timed out",
    "server closed the connection",
    "connection to server",
    "no route to host",
)


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """Database and driver failures become one clean error naming the database."""
    try:
        yield
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        shown = _hide_password(url)
        cause = getattr(exc, "orig", None) or exc
        detail = str(cause).splitlines()[0]
        error = StoreError(
            f"results database {shown}: {detail}",
            hint="check REEF_DB_URL (any SQLAlchemy URL) or that REEF_HOME is writable",
        )
        disk = isinstance(cause, OSError) and cause.errno in _DISK_ERRNOS
        lower = detail.lower()
        if disk or any(words in lower for words in _DISK_FAILURES + _SERVER_FAILURES):
            error.exit_code = EXIT_ENVIRONMENT
        elif isinstance(cause, ImportError):
            error.exit_code = EXIT_ENVIRONMENT
            error.hint = (
                f"the database driver {cause.name or ''} is not installed: install it beside "
                "Reef (PostgreSQL: pip install 'psycopg[binary]'), or use another REEF_DB_URL"
            )
        raise error from exc


def _is_database_error(exc: Exception) -> bool:
    if isinstance(exc, OSError | ImportError | sqlite3.Error):
        return True
    # Only SQLAlchemy raises its own errors, so a process that has not imported it has none.
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, SQLAlchemyError)


def _hide_password(url: str) -> str:
    if plain_sqlite_path(url) is not None:
        return url  # no password to hide, and no SQLAlchemy to import for it
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


class Store:
    """Runs kept in the database at ``url`` (default: ``config.db_url()``).

    Opening brings the schema to the newest revision. A SQLite file this process cannot
    write (a read-only ``REEF_HOME``), or whose disk fails when it is opened (full), is opened
    read-only: it answers every read, and a write, or an upgrade it would need, is a
    ``DatabaseReadOnly`` error (``read_only`` says why). Use as a context manager, or call
    ``close()``.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or config.db_url()
        self.read_only: str | None = None
        self._fix = "set REEF_HOME (or REEF_DB_URL) to a writable place"
        self._made_engine: Engine | None = None
        # Reads of a plain SQLite file at the newest schema: see _open_plain.
        self._plain: sqlite3.Connection | None = None
        self._plain_lock = threading.Lock()
        self._write_queue = threading.Lock()
        if self._open_plain():
            return
        shown = _hide_password(self.url)
        with _database_errors(self.url):
            access = sqlite_access(self.url)
        if access is not None and not access.writable:
            if not access.exists:
                raise DatabaseReadOnly(
                    f"results database {shown} does not exist and cannot be created: {access.why}",
                    hint=self._fix,
                )
            self.read_only = access.why
        try:
            self._open(shown)
        except StoreError as exc:
            if exc.exit_code != EXIT_ENVIRONMENT or access is None or self.read_only:
                raise
            if not access.exists or not access.path.exists():
                raise
            # The disk under a writable database failed (full: SQLite cannot even make its
            # -shm file): what is stored can still be read, as from a read-only one.
            self.read_only = f"its disk failed: {exc.message.rpartition(': ')[2]}"
            self._fix = "free some space on its disk (or fix it)"
            self._open(shown)

    def _open_plain(self) -> bool:
        """Open a writable SQLite file already at the newest schema with the standard library's
        driver alone, for reading; False (nothing kept open) for anything else, which the full
        way below opens, migrates or words the error of."""
        path = plain_sqlite_path(self.url)
        if path is None:
            return False
        access = file_access(path)
        if not access.writable or not access.exists:
            return False
        try:
            connection = connect_sqlite(access.path)
        except sqlite3.Error:
            return False
        from reef.results.migrate import HEAD

        try:
            recorded = [
                row[0] for row in connection.execute("SELECT version_num FROM alembic_version")
            ]
        except sqlite3.Error:
            recorded = []
        if recorded != [HEAD]:
            connection.close()
            return False
        self._plain = connection
        return True

    @property
    def _engine(self) -> Engine:
        """The SQLAlchemy engine: made here on first use when the store was opened for reading
        alone (``_open_plain``), for a write."""
        if self._made_engine is None:
            with _database_errors(self.url):
                self._made_engine = make_engine(self.url)
        return self._made_engine

    def _open(self, shown: str) -> None:
        from reef.results import migrate

        with _database_errors(self.url):
            try:
                self._made_engine = make_engine(self.url, read_only=self.read_only is not None)
            except WalUnreadable as exc:
                raise DatabaseReadOnly(
                    f"results database {shown}: it is read-only ({self.read_only}) and its "
                    f"write-ahead log {exc} cannot be read without writing beside it",
                    hint="open it once where it can be written, so that SQLite folds the log "
                    "into the database",
                ) from exc
        try:
            with _database_errors(self.url):
                migrate.upgrade(self._engine, shown=shown, read_only=self.read_only)
        except BaseException:
            self._engine.dispose()
            raise

    def require_writable(self, doing: str = "record runs") -> None:
        """``DatabaseReadOnly`` when this store was opened read-only."""
        if self.read_only is not None:
            raise DatabaseReadOnly(
                f"results database {_hide_password(self.url)} is read-only ({self.read_only}): "
                f"cannot {doing}",
                hint=f"{self._fix}; reading runs works",
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._plain is not None:
            self._plain.close()
            self._plain = None
        if self._made_engine is not None:
            self._made_engine.dispose()

    def add(self, record: RunRecord) -> None:
        """Insert ``record``, replacing any run with the same id."""
        self.add_many([record])

    def add_many(self, records: Iterable[RunRecord]) -> int:
        """Insert ``records`` in one transaction (all or none), replacing runs with the same
        ids; returns how many were given."""
        # Serialise before taking the write lock, to hold it as briefly as possible.
        rows = self._rows(records)
        if not rows[0]:
            return 0
        with self._write() as conn:
            _insert_runs(conn, *rows)
        return len(rows[0])

    def _rows(
        self, records: Iterable[RunRecord]
    ) -> tuple[builtins.list[dict[str, Any]], builtins.list[dict[str, Any]]]:
        """The ``runs`` and ``run_latencies`` rows of ``records``, made to fit the database."""
        rows, blobs = [], []
        for record in records:
            rows.append(_row(record))
            latencies = record.latencies_ns
            if latencies is not None:
                blobs.append(
                    {
                        "run_id": record.id,
                        "count": len(latencies),
                        "dtype": packing.DTYPE,
                        "data": packing.pack(latencies),
                    }
                )
        if rows and self._engine.dialect.name != "sqlite":
            from reef.results.models import RunRow

            _fit(rows, RunRow.__table__, _hide_password(self.url))
        return rows, blobs

    @contextmanager
    def writing(self) -> Iterator[Transaction]:
        """One write transaction that reads and writes: committed when the block ends, rolled
        back when it raises. Writers take turns (the write lock is taken first), so what a
        ``Transaction`` reads stays true until it commits: what a server's submission checks
        and judges is what it stores beside."""
        with self._write() as conn:
            yield Transaction(self, conn)

    def stored(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that name a stored run (exactly, not as prefixes)."""
        with self._read() as reader:
            return _stored(reader, ids)

    def get_many(self, ids: Iterable[str]) -> builtins.list[RunRecord]:
        """The stored runs of ``ids`` (exactly, not as prefixes), in their order, without
        their raw latencies, read in one query per ``_IN_CHUNK`` ids rather than one or two
        for each (a page of a server's list is 20). Ids not stored are left out."""
        wanted = builtins.list(dict.fromkeys(ids))
        texts: dict[str, str] = {}
        with self._read() as reader:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                query, params = _ids_in("SELECT id, record_json FROM runs", chunk)
                texts.update((str(row[0]), str(row[1])) for row in reader.rows(query, params))
        return [_parse(run_id, texts[run_id]) for run_id in wanted if run_id in texts]

    def get(self, id_or_prefix: str, *, with_latencies: bool = False) -> RunRecord:
        """The run with this id, or else the only run whose id starts with it."""
        with self._read() as reader:
            run_id = self._resolve(reader, id_or_prefix)
            text = reader.scalar("SELECT record_json FROM runs WHERE id = :id", {"id": run_id})
            assert text is not None  # same transaction as _resolve
            latencies = self._latencies(reader, run_id) if with_latencies else None
        return _parse(run_id, text, latencies)

    def find(self, ref: str, *, with_latencies: bool = True) -> RunRecord:
        """The run ``ref`` (an id or unique prefix) names, as a command the user typed it in
        wants it: an unknown or ambiguous one is a ``RunNotFound`` whose hint lists the
        candidates with their model, scenario and date."""
        try:
            return self.get(ref, with_latencies=with_latencies)
        except RunNotFound as exc:
            if not exc.candidates:
                exc.hint = "`reef runs list` shows the recorded runs"
                raise
            described = []
            for run_id in exc.candidates:
                try:
                    described.append(_describe(self.get(run_id)))
                except ReefError:  # a record this Reef cannot read is still a candidate
                    described.append(run_id)
            exc.hint = "candidates: " + "; ".join(described)
            raise

    def list(
        self,
        run_filter: RunFilter | None = None,
        *,
        sort: Sort | None = None,
        limit: int | None = None,
        scenario: str | None = None,
        status: str | None = None,
        model: str | None = None,
    ) -> builtins.list[RunRecord]:
        """Runs passing ``run_filter`` in ``sort`` order (newest first by default), at most
        ``limit``, without their latencies. ``scenario``, ``status`` and ``model`` are
        shorthands for the same fields of the filter."""
        with self._read() as reader:
            texts = self._chosen(reader, run_filter, sort, limit, scenario, status, model)
        return [_parse(run_id, text) for run_id, text in texts]

    def summaries(
        self,
        run_filter: RunFilter | None = None,
        *,
        sort: Sort | None = None,
        limit: int | None = None,
    ) -> builtins.list[RunSummary]:
        """What ``list`` returns, as ``RunSummary``s: read from the stored JSON, without
        validating whole records (``reef runs list``'s table and CSV)."""
        from reef.meta.summary import RunSummary

        with self._read() as reader:
            texts = self._chosen(reader, run_filter, sort, limit, None, None, None)
        return [_summary(run_id, text, RunSummary) for run_id, text in texts]

    def _chosen(
        self,
        reader: _Reader,
        run_filter: RunFilter | None,
        sort: Sort | None,
        limit: int | None,
        scenario: str | None,
        status: str | None,
        model: str | None,
    ) -> builtins.list[tuple[str, str]]:
        """(id, record JSON) of the runs ``list`` returns, in its order."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        run_filter = (run_filter or RunFilter()).merged(
            scenario=scenario, status=status, model=model
        )
        order = sort or NEWEST_FIRST
        direction = "DESC" if order.descending else "ASC"
        # Ids first, then the records: sorting the wide rows themselves would copy every
        # matching record into SQLite's sorter, not only the ``limit`` kept.
        where, params = self._where(reader, run_filter)
        # order.column is one of query.SORT_FIELDS' columns, never the user's text.
        column = order.column + (reader.binary if order.column in _TEXT_SORTED else "")
        query = (
            f"SELECT id FROM runs{where} ORDER BY {column} {direction} NULLS LAST, "
            f"created_at DESC, id{reader.binary} DESC"
        )
        if limit is not None:
            query += " LIMIT :limit"
            params["limit"] = limit
        chosen = reader.column(query, params)
        texts: dict[str, str] = {}
        for start in range(0, len(chosen), _IN_CHUNK):
            chunk = chosen[start : start + _IN_CHUNK]
            texts.update(reader.rows(*_ids_in("SELECT id, record_json FROM runs", chunk)))
        return [(run_id, texts[run_id]) for run_id in chosen]

    def page(
        self,
        run_filter: RunFilter,
        order: Sort,
        columns: Sequence[str],
        *,
        after: tuple[Any, datetime, str] | None,
        limit: int,
        count: bool,
    ) -> tuple[builtins.list[tuple[Any, ...]], int]:
        """A keyset page of the runs table: the ``columns`` of at most ``limit`` runs passing
        ``run_filter`` in ``order`` (ties newest first, then by id), after the run whose sort
        value, ``created_at`` and id are ``after``. The database finds the page (``ORDER BY
        ... LIMIT`` after the position), never the runs before it. ``created_at`` comes back
        as a datetime. With ``count``, also how many runs the filter selects, which reads
        every one of them (about 50 ms over 100,000 runs on PostgreSQL); without it, -1."""
        direction = "DESC" if order.descending else "ASC"
        with self._read() as reader:
            # Text in the order of its characters' codes, as SQLite orders it and as list
            # does, whatever a PostgreSQL database's collation.
            column = order.column + (reader.binary if order.column in _TEXT_SORTED else "")
            run_id = f"id{reader.binary}"
            where, params = self._where(reader, run_filter)
            total = (
                int(reader.scalar(f"SELECT count(*) FROM runs{where}", params) or 0)
                if count
                else -1
            )
            conditions = [where.removeprefix(" WHERE ")] if where else []
            if after is not None:
                value, created, last_id = after
                params.update(c_value=value, c_created=created, c_id=last_id)
                tie = f"(created_at < :c_created OR (created_at = :c_created AND {run_id} < :c_id))"
                if value is None:
                    conditions.append(f"({order.column} IS NULL AND {tie})")
                else:
                    beyond = "<" if order.descending else ">"
                    conditions.append(
                        f"({column} {beyond} :c_value OR ({order.column} = :c_value AND {tie}) "
                        f"OR {order.column} IS NULL)"
                    )
            clause = " WHERE " + " AND ".join(conditions) if conditions else ""
            # order.column is one of query.SORT_FIELDS' columns and ``columns`` the caller's
            # own constants, never a user's text. created_at is never NULL: without NULLS
            # LAST, PostgreSQL walks its index backwards for the newest first instead of
            # sorting every run (90 ms over 100,000).
            nulls = "" if order.column == "created_at" else " NULLS LAST"
            rows = reader.rows(
                f"SELECT {', '.join(columns)} FROM runs{clause} ORDER BY {column} "
                f"{direction}{nulls}, created_at DESC, {run_id} DESC LIMIT :limit",
                {**params, "limit": limit},
            )
            if "created_at" in columns:
                at = list(columns).index("created_at")
                rows = [(*r[:at], reader.time(r[at]), *r[at + 1 :]) for r in rows]
        return [tuple(r) for r in rows], total

    def stamp(self) -> tuple[int, Any]:
        """How many runs are stored and the newest one's time: what changes when a run is
        added, for callers that keep something derived from every run."""
        with self._read() as reader:
            found, newest = reader.rows("SELECT count(*), max(created_at) FROM runs")[0]
        return int(found), newest

    def count(self, run_filter: RunFilter | None = None) -> int:
        """How many runs pass ``run_filter``."""
        with self._read() as reader:
            return self._count(reader, run_filter or RunFilter())

    def explain_empty(self, run_filter: RunFilter) -> NoRunsMatch | None:
        """None when some run passes ``run_filter``; else the error naming the filter that
        left none (see ``reef.results.query.explain_empty``)."""
        with self._read() as reader:
            if run_filter.is_empty() or self._count(reader, run_filter) > 0:
                return None
            return explain_empty(run_filter, lambda f: self._count(reader, f))

    def _count(self, reader: _Reader, run_filter: RunFilter) -> int:
        where, params = self._where(reader, run_filter)
        return int(reader.scalar(f"SELECT count(*) FROM runs{where}", params) or 0)

    @staticmethod
    def _where(reader: _Reader, f: RunFilter) -> tuple[str, dict[str, Any]]:
        """`` WHERE ...`` (or nothing) selecting the runs ``f`` passes, and its parameters."""
        where: builtins.list[str] = []
        params: dict[str, Any] = {}
        for name, column in (
            ("model", "target_name"),
            ("scenario", "scenario"),
            ("backend", "backend"),
            ("status", "status"),
        ):
            value = getattr(f, name)
            if value is not None:
                where.append(f"{column} = :f_{name}")
                params[f"f_{name}"] = value
        if f.tag is not None:
            where.append("tags LIKE :f_tag ESCAPE '\\'")
            params["f_tag"] = like_pattern(f"|{f.tag.strip()}|")
        if f.since is not None:
            where.append("created_at >= :f_since")
            params["f_since"] = f.since
        if f.until is not None:
            where.append("created_at < :f_until")
            params["f_until"] = f.until
        if f.text is not None:
            where.append("search_text LIKE :f_text ESCAPE '\\'")
            params["f_text"] = like_pattern(f.text.strip())
        if f.verified is not None:
            where.append(
                f"id {'IN' if f.verified else 'NOT IN'} "
                "(SELECT run_id FROM submissions WHERE status = 'verified')"
            )
        if f.version is not None:
            kept = _versions(reader, f.version, where, params)
            names = [f"f_version{i}" for i in range(len(kept))]
            params.update(zip(names, kept, strict=True))
            where.append(
                f"target_version IN ({', '.join(':' + n for n in names)})" if kept else "0 = 1"
            )
        return (" WHERE " + " AND ".join(where) if where else ""), params

    def field_rows(
        self,
        fields: Sequence[Field],
        run_filter: RunFilter | None = None,
        *,
        ids: Sequence[str] | None = None,
    ) -> builtins.list[tuple[Any, ...]]:
        """One tuple of ``fields`` per run a filter, or a list of ids, selects, in no order: for
        an analysis of many runs that needs a few values of each rather than whole records.

        A field is a column of the runs table by name (``id``, ``target_name``, ``scenario``,
        ``hardware``, ``created_at``, ...) or a value in the record by its path
        (``("performance", "latency_ms", "p95")``: None where the record has none); see
        ``reef.results.fields``.
        """
        with self._read() as reader:
            fields_reader = FieldReader(RUNS_TABLE, fields, json_in_sql=reader.json_in_sql)
            select = f"SELECT {', '.join(fields_reader.columns)} FROM runs"
            if ids is None:
                where, params = self._where(reader, run_filter or RunFilter())
                found = reader.rows(select + where, {**fields_reader.params, **params})
                return fields_reader.finish(found, reader.time)
            rows: builtins.list[tuple[Any, ...]] = []
            for start in range(0, len(ids), _IN_CHUNK):
                query, params = _ids_in(select, ids[start : start + _IN_CHUNK])
                found = reader.rows(query, {**fields_reader.params, **params})
                rows.extend(fields_reader.finish(found, reader.time))
            return rows

    def distinct(self, field: Field, run_filter: RunFilter | None = None) -> builtins.list[Any]:
        """The distinct values of ``field`` (as ``field_rows`` reads it) among the runs
        ``run_filter`` selects, in no order."""
        with self._read() as reader:
            fields_reader = FieldReader(RUNS_TABLE, [field], json_in_sql=reader.json_in_sql)
            where, params = self._where(reader, run_filter or RunFilter())
            # Values dug out of the record here are made distinct here too.
            distinct = "" if fields_reader.digs else "DISTINCT "
            query = f"SELECT {distinct}{', '.join(fields_reader.columns)} FROM runs{where}"
            found = reader.rows(query, {**fields_reader.params, **params})
            values = [row[0] for row in fields_reader.finish(found, reader.time)]
        return values if distinct else builtins.list(dict.fromkeys(values))

    def best_in_groups(
        self,
        ranks: Mapping[str | None, tuple[Field, bool]],
        run_filter: RunFilter | None = None,
        *,
        accuracy_metrics: Collection[str] | None = None,
    ) -> builtins.list[GroupBest] | None:
        """The selected runs grouped by (model, scenario, hardware label), each group's best
        run and the middle of its values, found by the database: what a scoreboard over
        100,000 runs needs, without reading them.

        ``ranks`` gives, by scenario (``None``: any scenario without a key of its own), the
        field a run is ranked by and whether higher is better; a run whose value is missing,
        not a number or not finite has none (nor, given ``accuracy_metrics``, one whose
        accuracy's metric is not one of those). The best value wins; ties go to the newest
        run, then to the smallest id. None where the database cannot do it this way, and
        ``field_rows`` reads what the caller needs instead: only SQLite can, and only for
        values held in columns (a value in the record is dug out once per run by
        ``field_rows``, where these queries would dig it out several times).
        """
        if any(
            isinstance(field, tuple) and field not in PATH_COLUMNS for field, _ in ranks.values()
        ):
            return None
        with self._read() as reader:
            if not isinstance(reader, _SqliteReader):
                return None
            params: dict[str, Any] = {}
            value, sign = _rank_expressions(ranks, params)
            if accuracy_metrics is not None:
                names = [f"metric{i}" for i in range(len(accuracy_metrics))]
                params.update(zip(names, accuracy_metrics, strict=True))
                among = ", ".join(":" + n for n in names) if names else "NULL"
                value = f"CASE WHEN accuracy_metric IN ({among}) THEN {value} END"
            where, filter_params = self._where(reader, run_filter or RunFilter())
            params.update(filter_params)
            # One pass over the covering index, grouped in its order (by the stored hardware,
            # not yet its label); then, per group, its best run and its middle values, each
            # a short walk of the index.
            raw = reader.rows(
                f"SELECT target_name, scenario, hardware, count(*), count({value}), "
                f"min({sign} * ({value})) FROM runs{where} "
                "GROUP BY target_name, scenario, hardware",
                params,
            )
            groups: dict[tuple[str, str, str], _Group] = {}
            for model, scenario, hardware, runs, finite, best in raw:
                label = hardware or UNKNOWN_HARDWARE
                group = groups.setdefault((model, scenario, label), _Group())
                group.add(hardware, runs, finite, best)
            out = []
            for (model, scenario, label), group in groups.items():
                if not group.finite:
                    out.append(GroupBest(model, scenario, label, group.runs, 0))
                    continue
                conditions = [where.removeprefix(" WHERE ")] if where else []
                conditions += ["target_name = :g_model", "scenario = :g_scenario"]
                group_params = {**params, "g_model": model, "g_scenario": scenario}
                conditions.append(group.hardware_condition(group_params))
                within = " WHERE " + " AND ".join(conditions)
                run_id, version, backend, created = reader.rows(
                    f"SELECT id, target_version, backend, created_at FROM runs{within} "
                    f"AND {sign} * ({value}) = :g_best ORDER BY created_at DESC, id LIMIT 1",
                    {**group_params, "g_best": group.best},
                )[0]
                middle = reader.column(
                    f"SELECT value FROM (SELECT {value} AS value FROM runs{within}) "
                    "WHERE value IS NOT NULL ORDER BY value LIMIT :g_take OFFSET :g_skip",
                    {
                        **group_params,
                        "g_take": 2 - group.finite % 2,
                        "g_skip": (group.finite - 1) // 2,
                    },
                )
                descending = _rank_of(ranks, scenario)[1]
                out.append(
                    GroupBest(
                        model, scenario, label, group.runs, group.finite,
                        -group.best if descending else group.best,
                        run_id, version, backend, reader.time(created), middle[0], middle[-1],
                    )
                )  # fmt: skip
        return out

    def latencies(self, run_id: str) -> builtins.list[int] | None:
        """The raw latencies of the run with exactly this id; None if it has none."""
        with self._read() as reader:
            if reader.scalar("SELECT id FROM runs WHERE id = :id", {"id": run_id}) is None:
                raise RunNotFound(f"no run has id {run_id!r}")
            return self._latencies(reader, run_id)

    def delete(self, run_id: str) -> None:
        """Delete the run with exactly this id (not a prefix: deleting is not undone)."""
        from sqlalchemy import delete

        from reef.results.models import LatencyRow, RunRow

        with self._write() as conn:
            conn.execute(delete(LatencyRow).where(LatencyRow.run_id == run_id))
            if conn.execute(delete(RunRow).where(RunRow.id == run_id)).rowcount == 0:
                raise RunNotFound(f"no run has id {run_id!r}")

    @contextmanager
    def _read(self) -> Iterator[_Reader]:
        """One read transaction."""
        with _database_errors(self.url):
            plain = self._plain
            if plain is not None:
                with self._plain_lock:
                    plain.execute("BEGIN")
                    try:
                        yield _SqliteReader(plain)
                    finally:
                        # A read changes nothing: ending it either way is the same.
                        with contextlib.suppress(sqlite3.Error):
                            plain.execute("ROLLBACK")
                return
            with self._engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    # One snapshot for the whole read, as SQLite's read transactions have:
                    # READ COMMITTED would let a run found by one query be gone by the next.
                    # A transaction that only reads never fails to serialise at this level.
                    conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield _reader_of(conn)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        self.require_writable("write to it")
        # Writers take turns in the database (its write lock, taken first). On SQLite the
        # threads of one process also queue here: SQLite's busy handler polls with sleeps of
        # up to 100 ms, which a server's request threads would spend waiting on each other.
        queue = self._write_queue if self._engine.dialect.name == "sqlite" else None
        with (
            queue or contextlib.nullcontext(),
            _database_errors(self.url),
            self._engine.connect() as conn,
        ):
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield conn

    @staticmethod
    def _resolve(reader: _Reader, id_or_prefix: str) -> str:
        if reader.scalar("SELECT id FROM runs WHERE id = :id", {"id": id_or_prefix}) is not None:
            return id_or_prefix
        if not id_or_prefix:
            raise RunNotFound("no run matches an empty id")
        # substr rather than LIKE: LIKE needs escaping and ignores case on SQLite only.
        matching = "substr(id, 1, :length) = :prefix"
        params = {"length": len(id_or_prefix), "prefix": id_or_prefix}
        ids = reader.column(
            f"SELECT id FROM runs WHERE {matching} ORDER BY created_at DESC, "
            f"id{reader.binary} DESC LIMIT {MAX_CANDIDATES}",
            params,
        )
        if not ids:
            raise RunNotFound(f"no run matches {id_or_prefix!r}", candidates=[])
        if len(ids) == 1:
            return str(ids[0])
        count = reader.scalar(f"SELECT count(*) FROM runs WHERE {matching}", params)
        raise RunNotFound(
            f"{id_or_prefix!r} is ambiguous: {count} runs match", candidates=builtins.list(ids)
        )

    @staticmethod
    def _latencies(reader: _Reader, run_id: str) -> builtins.list[int] | None:
        found = reader.rows(
            "SELECT data, count, dtype FROM run_latencies WHERE run_id = :id", {"id": run_id}
        )
        if not found:
            return None
        data, count, dtype = found[0]
        return packing.unpack(bytes(data), count, dtype, run_id)


class Transaction:
    """A write transaction open on the store (``Store.writing``): the reads a write depends
    on, and the runs it adds, on one connection. ``conn`` is the SQLAlchemy connection, for
    the other tables' writes (``reef.results.submissions``, ``reef.results.tokens``)."""

    def __init__(self, store: Store, conn: Connection) -> None:
        self.store = store
        self.conn = conn
        self.reader = _reader_of(conn)

    def stored(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that name a stored run (exactly, not as prefixes)."""
        return _stored(self.reader, ids)

    def get(self, run_id: str, *, with_latencies: bool = False) -> RunRecord:
        """The run with exactly this id."""
        text = self.reader.scalar("SELECT record_json FROM runs WHERE id = :id", {"id": run_id})
        if text is None:
            raise RunNotFound(f"no run has id {run_id!r}")
        latencies = Store._latencies(self.reader, run_id) if with_latencies else None
        return _parse(run_id, text, latencies)

    def add_many(self, records: Iterable[RunRecord], *, new: bool = False) -> int:
        """Insert ``records``, replacing runs with the same ids (``new``: none is stored,
        as this transaction found: nothing to replace); how many were given."""
        rows, blobs = self.store._rows(records)
        if rows:
            _insert_runs(self.conn, rows, blobs, replace=not new)
        return len(rows)


@contextmanager
def connection_of(target: Store | Transaction) -> Iterator[Connection]:
    """A write connection: the open transaction's, or a transaction of its own on the store."""
    if isinstance(target, Transaction):
        yield target.conn
        return
    with target._write() as conn:
        yield conn


@contextmanager
def reader_of(target: Store | Transaction) -> Iterator[_Reader]:
    """A reader: in the open transaction, or in a read transaction of its own on the store."""
    if isinstance(target, Transaction):
        yield target.reader
        return
    with target._read() as reader:
        yield reader


def _reader_of(conn: Connection) -> _Reader:
    """A reader on ``conn``, inside the transaction it has begun."""
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite" and isinstance(raw, sqlite3.Connection):
        return _SqliteReader(raw)
    return _AlchemyReader(conn)


def _stored(reader: _Reader, ids: Iterable[str]) -> set[str]:
    wanted = builtins.list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        found.update(reader.column(*_ids_in("SELECT id FROM runs", chunk)))
    return found


def _insert_runs(
    conn: Connection,
    rows: Sequence[dict[str, Any]],
    blobs: Sequence[dict[str, Any]],
    *,
    replace: bool = True,
) -> None:
    from sqlalchemy import delete, insert

    from reef.results.models import LatencyRow, RunRow

    ids = [row["id"] for row in rows] if replace else []
    # Latencies first and explicitly: no reliance on ON DELETE CASCADE being enforced.
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        conn.execute(delete(LatencyRow).where(LatencyRow.run_id.in_(chunk)))
        conn.execute(delete(RunRow).where(RunRow.id.in_(chunk)))
    conn.execute(insert(RunRow), rows)
    if blobs:
        conn.execute(insert(LatencyRow), blobs)


# -- ranking in the database -----------------------------------------------------------------


@dataclass(frozen=True)
class GroupBest:
    """One (model, scenario, hardware label) group of ``Store.best_in_groups``: ``runs`` in it,
    ``finite`` of them with a value; where some have one, the best run (``value``, ``run_id``,
    ``version``, ``backend``, ``created_at``) and the two middle values (``median_low`` and
    ``median_high``, the same one when ``finite`` is odd)."""

    model: str
    scenario: str
    label: str
    runs: int
    finite: int
    value: float | None = None
    run_id: str | None = None
    version: str | None = None
    backend: str | None = None
    created_at: datetime | None = None
    median_low: float | None = None
    median_high: float | None = None

    @property
    def median(self) -> float:
        """As ``statistics.median`` of the group's values has it."""
        assert self.median_low is not None and self.median_high is not None
        low, high = float(self.median_low), float(self.median_high)
        return low if self.finite % 2 else (low + high) / 2


class _Group:
    """The stored hardware values one label gathers (NULL, '' and the unknown label alike),
    and their counts and best (smallest signed) value."""

    def __init__(self) -> None:
        self.hardware: builtins.list[str | None] = []
        self.runs = self.finite = 0
        self.best: Any = None

    def add(self, hardware: str | None, runs: int, finite: int, best: Any) -> None:
        self.hardware.append(hardware)
        self.runs += runs
        self.finite += finite
        if best is not None and (self.best is None or best < self.best):
            self.best = best

    def hardware_condition(self, params: dict[str, Any]) -> str:
        """SQL keeping the runs of these hardware values; their parameters go in ``params``."""
        named = [h for h in self.hardware if h is not None]
        params.update({f"g_hardware{i}": h for i, h in enumerate(named)})
        conditions = ["hardware IS NULL"] if None in self.hardware else []
        if named:
            among = ", ".join(f":g_hardware{i}" for i in range(len(named)))
            conditions.append(f"hardware IN ({among})")
        return "(" + " OR ".join(conditions) + ")"


def _rank_of(
    ranks: Mapping[str | None, tuple[Field, bool]], scenario: str
) -> tuple[Field | None, bool]:
    found = ranks.get(scenario, ranks.get(None))
    return found if found is not None else (None, False)


def _rank_expressions(
    ranks: Mapping[str | None, tuple[Field, bool]], params: dict[str, Any]
) -> tuple[str, str]:
    """SQL for each run's value, from the column holding it (NULL unless a finite number: 9e999
    is infinity to SQLite, which stores no NaN), and its sign (-1 where higher is better), by
    scenario."""
    values, signs = [], []
    default: tuple[str, str] = ("NULL", "1")
    for at, (scenario, (field, descending)) in enumerate(ranks.items()):
        (expression,) = FieldReader(RUNS_TABLE, [field], json_in_sql=False).columns
        number = (
            f"CASE WHEN typeof({expression}) IN ('integer', 'real') "
            f"AND {expression} > -9e999 AND {expression} < 9e999 THEN {expression} END"
        )
        sign = "-1" if descending else "1"
        if scenario is None:
            default = (number, sign)
        else:
            params[f"scenario{at}"] = scenario
            values.append(f"WHEN :scenario{at} THEN {number}")
            signs.append(f"WHEN :scenario{at} THEN {sign}")
    if not values:
        return default
    return (
        f"CASE scenario {' '.join(values)} ELSE {default[0]} END",
        f"CASE scenario {' '.join(signs)} ELSE {default[1]} END",
    )


# -- reading ----------------------------------------------------------------------------------


class _Reader:
    """One read transaction: SQL text with ``:name`` parameters in, rows as tuples out."""

    # Whether the database digs values out of a record's JSON itself (SQLite's json_extract).
    json_in_sql = False
    # What orders text by its characters' codes, as SQLite does, whatever the database's
    # collation (``en_US`` would put ``a_c`` before ``ab``, and ``B`` after ``a``).
    binary = ""

    def rows(self, query: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def time(self, value: Any) -> Any:
        """A ``created_at`` as read, as a ``datetime``."""
        return value

    def column(self, query: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        return [row[0] for row in self.rows(query, params)]

    def scalar(self, query: str, params: Mapping[str, Any] | None = None) -> Any:
        found = self.rows(query, params)
        return found[0][0] if found else None


class _SqliteReader(_Reader):
    """SQLite through its own driver. Times are kept as SQLAlchemy's ``DateTime`` writes
    them on SQLite (``2025-01-01 00:00:00.000000``, naive UTC), so that they compare, as
    text, in time order."""

    json_in_sql = True

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def rows(self, query: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        values = {
            k: _sqlite_time(v) if isinstance(v, datetime) else v for k, v in (params or {}).items()
        }
        found: list[tuple[Any, ...]] = self._connection.execute(query, values).fetchall()
        return found

    def time(self, value: Any) -> Any:
        return datetime.fromisoformat(value) if isinstance(value, str) else value


class _AlchemyReader(_Reader):
    """Any other database, through SQLAlchemy (which binds and reads times itself)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        if connection.dialect.name == "postgresql":
            self.binary = ' COLLATE "C"'

    def rows(self, query: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        return [tuple(row) for row in self._connection.execute(text(query), dict(params or {}))]


def _sqlite_time(moment: datetime) -> str:
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
    )


def _ids_in(select: str, ids: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """``select`` kept to the runs whose id is one of ``ids`` (at most ``_IN_CHUNK``)."""
    names = [f"id{i}" for i in range(len(ids))]
    if not names:
        return f"{select} WHERE 0 = 1", {}
    return f"{select} WHERE id IN ({', '.join(':' + n for n in names)})", dict(
        zip(names, ids, strict=True)
    )


def _row(record: RunRecord) -> dict[str, Any]:
    perf, acc = record.performance, record.accuracy
    latency = perf.latency_ms if perf else None
    tags = run_tags(record)
    return {
        "id": record.id,
        "created_at": _utc(record.created_at),
        "status": record.status,
        "scenario": record.scenario,
        "target_name": record.target.name,
        "target_version": record.target.version,
        "target_kind": record.target.kind,
        "backend": record.predictor.name if record.predictor else None,
        "p50_ms": _number(latency.p50) if latency else None,
        "p90_ms": _number(latency.p90) if latency else None,
        "p99_ms": _number(latency.p99) if latency else None,
        "throughput_qps": _number(perf.throughput_qps) if perf else None,
        "accuracy_value": _number(acc.value) if acc else None,
        "accuracy_metric": acc.metric if acc else None,
        "format_version": record.format_version,
        "tags": "|" + "|".join(tags) + "|",
        "search_text": search_text(record, tags),
        "hardware": run_hardware(record.environment),
        "record_json": json.dumps(record.summary_json()),
    }


# Columns derived from a record for searching, whose NUL characters can simply be dropped.
_SEARCHED = ("tags", "search_text")
# How a refusal names a column, as the record's field.
_FIELDS = {
    "target_name": "model (target name)",
    "target_version": "version",
    "target_kind": "target kind",
    "backend": "backend (predictor name)",
    "hardware": "hardware label",
}


def _fit(rows: Iterable[dict[str, Any]], table: FromClause, shown: str) -> None:
    """Make ``rows`` fit a database that, unlike SQLite, enforces the columns' lengths and
    stores no NUL character in text (PostgreSQL): NULs are dropped from the columns kept for
    searching; any other value that does not fit is a ``StoreError`` naming the run and its
    field, rather than the driver's words for the first one it met."""
    limits = {
        column.name: getattr(column.type, "length", None)
        for column in table.columns
        if isinstance(getattr(column.type, "length", None), int)
    }
    for row in rows:
        for name, value in row.items():
            if not isinstance(value, str):
                continue
            field = _FIELDS.get(name, name.replace("_", " "))
            if "\x00" in value:
                if name not in _SEARCHED:
                    raise StoreError(
                        f"run {row['id']!r}: its {field} holds a NUL character, which the "
                        f"results database {shown} cannot store",
                        hint="remove it from the record (a SQLite database would keep it)",
                    )
                row[name] = value = value.replace("\x00", "")
            limit = limits.get(name)
            if limit is not None and len(value) > limit:
                raise StoreError(
                    f"run {row['id'][:80]!r}: its {field} is {len(value)} characters long; the "
                    f"results database {shown} keeps at most {limit}",
                    hint=f"shorten the {field} (a SQLite database keeps any length)",
                )


def _number(value: float | None) -> float | None:
    """A figure as its column keeps it: NaN as NULL, as SQLite stores it anyway, so that other
    databases (PostgreSQL keeps NaN, above every number) sort it last as SQLite does."""
    return None if value is None or value != value else value


def _versions(
    reader: _Reader, spec_text: str, where: builtins.list[str], params: dict[str, Any]
) -> builtins.list[str]:
    """The stored target versions (among runs passing ``where``) that ``spec_text`` admits:
    PEP 440 comparisons (pre-releases included) cannot be written in SQL, so the few distinct
    versions are tested here."""
    from packaging.version import InvalidVersion, Version

    spec = version_spec(spec_text)
    conditions = " AND ".join(["target_version IS NOT NULL", *where])
    stored = reader.column(f"SELECT DISTINCT target_version FROM runs WHERE {conditions}", params)
    kept = []
    for text in stored:
        if text is None:
            continue
        try:
            if spec.contains(Version(text), prereleases=True):
                kept.append(text)
        except InvalidVersion:
            if text == spec_text.strip():  # not PEP 440: only the very same text matches
                kept.append(text)
    return kept


def _describe(record: RunRecord) -> str:
    t = record.target
    model = f"{t.name}@{t.version}" if t.version else t.name
    return f"{record.id} ({model}, {record.scenario}, {record.created_at:%Y-%m-%d %H:%M})"


def _utc(moment: datetime) -> datetime:
    # Records made by Reef are aware; a naive time is taken to be UTC already.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None)


def _summary(run_id: str, text: str, summary: type[RunSummary]) -> RunSummary:
    from reef.meta.versions import RUN_FORMAT_VERSION

    data = json.loads(text)
    if isinstance(data, dict) and data.get("format_version") == RUN_FORMAT_VERSION:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            return summary.of(data)
    return summary.of(_parse(run_id, text))  # an older format, or the error worded


def _parse(run_id: str, text: str, latencies: builtins.list[int] | None = None) -> RunRecord:
    # Imported here: a Pareto frontier or a board reads no record and need not build the
    # record's schema (~20 ms).
    from reef.meta.run import FORMAT_VERSION, RunRecord, load_record

    source = f"run {run_id}"
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ManifestError([Problem(source, "", "stored record is not a JSON object")])
    if latencies is not None:
        data["latencies_ns"] = latencies
    if data.get("format_version") == FORMAT_VERSION:
        # What load_record does with a record of the current format, without importing the
        # manifest loader (YAML, ~20 ms) that only its error wording needs.
        with contextlib.suppress(ValueError):
            return RunRecord.model_validate(data)
    return load_record(data, source)  # an older format, or the error worded
