"""The store of finished runs.

A run is one ``runs`` row, written in a single transaction with its raw latencies (if any),
so a process killed mid-write leaves either the old run or the new one, never half of one.
Only ``record_json`` is read back; the other columns exist to filter and sort on.
"""

from __future__ import annotations

import builtins
import errno
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import ColumnElement, Connection, and_, delete, func, insert, select

from reef import config
from reef.errors import (
    EXIT_ENVIRONMENT,
    DatabaseReadOnly,
    ManifestError,
    Problem,
    ReefError,
    RunNotFound,
)
from reef.meta.run import RunRecord, load_record
from reef.results import migrate, packing
from reef.results.engine import WRITE, WalUnreadable, make_engine, sqlite_access
from reef.results.fields import Field, FieldReader
from reef.results.models import LatencyRow, RunRow
from reef.results.query import (
    NEWEST_FIRST,
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

MAX_CANDIDATES = 10
_IN_CHUNK = 500  # ids per IN (...): SQLite allows 999 bound parameters in older builds


class StoreError(ReefError):
    """The results database could not be opened, read or written: exit 2, or 3 where the disk
    under it failed (full, read-only, an I/O error)."""


# SQLite's words for a disk that failed under the database, and the OS errors that mean it.
_DISK_FAILURES = ("database or disk is full", "disk i/o error", "attempt to write a readonly")
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """Database and driver failures become one clean error naming the database."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        yield
    except (SQLAlchemyError, ArgumentError, OSError, ImportError) as exc:
        shown = _hide_password(url)
        cause = getattr(exc, "orig", None) or exc
        detail = str(cause).splitlines()[0]
        error = StoreError(
            f"results database {shown}: {detail}",
            hint="check REEF_DB_URL (any SQLAlchemy URL) or that REEF_HOME is writable",
        )
        disk = isinstance(cause, OSError) and cause.errno in _DISK_ERRNOS
        if disk or any(words in detail.lower() for words in _DISK_FAILURES):
            error.exit_code = EXIT_ENVIRONMENT
        raise error from exc


def _hide_password(url: str) -> str:
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

    def _open(self, shown: str) -> None:
        with _database_errors(self.url):
            try:
                self._engine = make_engine(self.url, read_only=self.read_only is not None)
            except WalUnreadable as exc:
                raise DatabaseReadOnly(
                    f"results database {shown}: it is read-only ({self.read_only}) and its "
                    f"write-ahead log {exc} cannot be read without writing beside it",
                    hint="open it once where it can be written, so that SQLite folds the log "
                    "into the database",
                ) from None
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
        self._engine.dispose()

    def add(self, record: RunRecord) -> None:
        """Insert ``record``, replacing any run with the same id."""
        self.add_many([record])

    def add_many(self, records: Iterable[RunRecord]) -> int:
        """Insert ``records`` in one transaction (all or none), replacing runs with the same
        ids; returns how many were given."""
        # Serialise before taking the write lock, to hold it as briefly as possible.
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
        if not rows:
            return 0
        ids = [row["id"] for row in rows]
        with self._write() as conn:
            # Latencies first and explicitly: no reliance on ON DELETE CASCADE being enforced.
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                conn.execute(delete(LatencyRow).where(LatencyRow.run_id.in_(chunk)))
                conn.execute(delete(RunRow).where(RunRow.id.in_(chunk)))
            conn.execute(insert(RunRow), rows)
            if blobs:
                conn.execute(insert(LatencyRow), blobs)
        return len(rows)

    def stored(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that name a stored run (exactly, not as prefixes)."""
        wanted = builtins.list(dict.fromkeys(ids))
        found: set[str] = set()
        with self._read() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                found.update(conn.scalars(select(RunRow.id).where(RunRow.id.in_(chunk))))
        return found

    def get(self, id_or_prefix: str, *, with_latencies: bool = False) -> RunRecord:
        """The run with this id, or else the only run whose id starts with it."""
        with self._read() as conn:
            run_id = self._resolve(conn, id_or_prefix)
            text = conn.scalar(select(RunRow.record_json).where(RunRow.id == run_id))
            assert text is not None  # same transaction as _resolve
            latencies = self._latencies(conn, run_id) if with_latencies else None
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
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        run_filter = (run_filter or RunFilter()).merged(
            scenario=scenario, status=status, model=model
        )
        order = sort or NEWEST_FIRST
        column = RunRow.__table__.c[order.column]
        ordered = column.desc() if order.descending else column.asc()
        with self._read() as conn:
            # Ids first, then the records: sorting the wide rows themselves would copy every
            # matching record into SQLite's sorter, not only the ``limit`` kept.
            ids = select(RunRow.id).where(*self._where(conn, run_filter))
            ids = ids.order_by(ordered.nulls_last(), RunRow.created_at.desc(), RunRow.id.desc())
            if limit is not None:
                ids = ids.limit(limit)
            chosen = builtins.list(conn.scalars(ids))
            texts: dict[str, str] = {}
            for start in range(0, len(chosen), _IN_CHUNK):
                chunk = chosen[start : start + _IN_CHUNK]
                query = select(RunRow.id, RunRow.record_json).where(RunRow.id.in_(chunk))
                texts.update((run_id, text) for run_id, text in conn.execute(query))
        return [_parse(run_id, texts[run_id]) for run_id in chosen]

    def count(self, run_filter: RunFilter | None = None) -> int:
        """How many runs pass ``run_filter``."""
        with self._read() as conn:
            return self._count(conn, run_filter or RunFilter())

    def explain_empty(self, run_filter: RunFilter) -> NoRunsMatch | None:
        """None when some run passes ``run_filter``; else the error naming the filter that
        left none (see ``reef.results.query.explain_empty``)."""
        with self._read() as conn:
            if run_filter.is_empty() or self._count(conn, run_filter) > 0:
                return None
            return explain_empty(run_filter, lambda f: self._count(conn, f))

    def _count(self, conn: Connection, run_filter: RunFilter) -> int:
        query = select(func.count()).select_from(RunRow)
        return conn.scalar(query.where(*self._where(conn, run_filter))) or 0

    @staticmethod
    def _where(conn: Connection, f: RunFilter) -> builtins.list[ColumnElement[bool]]:
        where: builtins.list[ColumnElement[bool]] = []
        if f.model is not None:
            where.append(RunRow.target_name == f.model)
        if f.scenario is not None:
            where.append(RunRow.scenario == f.scenario)
        if f.backend is not None:
            where.append(RunRow.backend == f.backend)
        if f.status is not None:
            where.append(RunRow.status == f.status)
        if f.tag is not None:
            pattern = like_pattern(f"|{f.tag.strip()}|")
            where.append(RunRow.tags.like(pattern, escape="\\"))
        if f.since is not None:
            where.append(RunRow.created_at >= f.since)
        if f.until is not None:
            where.append(RunRow.created_at < f.until)
        if f.text is not None:
            where.append(RunRow.search_text.like(like_pattern(f.text.strip()), escape="\\"))
        if f.version is not None:
            where.append(RunRow.target_version.in_(_versions(conn, f.version, where)))
        return where

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
        with self._read() as conn:
            reader = FieldReader(
                RunRow.__table__, fields, json_in_sql=conn.dialect.name == "sqlite"
            )
            query = select(*reader.columns)
            if ids is None:
                where = self._where(conn, run_filter or RunFilter())
                return reader.finish(conn.execute(query.where(*where)))
            rows: builtins.list[tuple[Any, ...]] = []
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = RunRow.id.in_(ids[start : start + _IN_CHUNK])
                rows.extend(reader.finish(conn.execute(query.where(chunk))))
            return rows

    def latencies(self, run_id: str) -> builtins.list[int] | None:
        """The raw latencies of the run with exactly this id; None if it has none."""
        with self._read() as conn:
            if conn.scalar(select(RunRow.id).where(RunRow.id == run_id)) is None:
                raise RunNotFound(f"no run has id {run_id!r}")
            return self._latencies(conn, run_id)

    def delete(self, run_id: str) -> None:
        """Delete the run with exactly this id (not a prefix: deleting is not undone)."""
        with self._write() as conn:
            conn.execute(delete(LatencyRow).where(LatencyRow.run_id == run_id))
            if conn.execute(delete(RunRow).where(RunRow.id == run_id)).rowcount == 0:
                raise RunNotFound(f"no run has id {run_id!r}")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _database_errors(self.url), self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        self.require_writable("write to it")
        with _database_errors(self.url), self._engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield conn

    @staticmethod
    def _resolve(conn: Connection, id_or_prefix: str) -> str:
        if conn.scalar(select(RunRow.id).where(RunRow.id == id_or_prefix)) is not None:
            return id_or_prefix
        if not id_or_prefix:
            raise RunNotFound("no run matches an empty id")
        # substr rather than LIKE: LIKE needs escaping and ignores case on SQLite only.
        matching = func.substr(RunRow.id, 1, len(id_or_prefix)) == id_or_prefix
        ids = conn.scalars(
            select(RunRow.id)
            .where(matching)
            .order_by(RunRow.created_at.desc(), RunRow.id.desc())
            .limit(MAX_CANDIDATES)
        ).all()
        if not ids:
            raise RunNotFound(f"no run matches {id_or_prefix!r}", candidates=[])
        if len(ids) == 1:
            return ids[0]
        count = conn.scalar(select(func.count()).select_from(RunRow).where(matching))
        raise RunNotFound(
            f"{id_or_prefix!r} is ambiguous: {count} runs match", candidates=builtins.list(ids)
        )

    @staticmethod
    def _latencies(conn: Connection, run_id: str) -> builtins.list[int] | None:
        row = conn.execute(
            select(LatencyRow.data, LatencyRow.count, LatencyRow.dtype).where(
                LatencyRow.run_id == run_id
            )
        ).one_or_none()
        if row is None:
            return None
        data, count, dtype = row  # not row.count: Row is a tuple, and that is tuple.count
        return packing.unpack(data, count, dtype, run_id)


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
        "p50_ms": latency.p50 if latency else None,
        "p90_ms": latency.p90 if latency else None,
        "p99_ms": latency.p99 if latency else None,
        "throughput_qps": perf.throughput_qps if perf else None,
        "accuracy_value": acc.value if acc else None,
        "accuracy_metric": acc.metric if acc else None,
        "format_version": record.format_version,
        "tags": "|" + "|".join(tags) + "|",
        "search_text": search_text(record, tags),
        "hardware": run_hardware(record.environment),
        "record_json": json.dumps(record.summary_json()),
    }


def _versions(
    conn: Connection, spec_text: str, where: builtins.list[ColumnElement[bool]]
) -> builtins.list[str]:
    """The stored target versions (among runs passing ``where``) that ``spec_text`` admits:
    PEP 440 comparisons (pre-releases included) cannot be written in SQL, so the few distinct
    versions are tested here."""
    from packaging.version import InvalidVersion, Version

    spec = version_spec(spec_text)
    stored = conn.scalars(
        select(RunRow.target_version)
        .where(and_(RunRow.target_version.is_not(None), *where))
        .distinct()
    ).all()
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


def _parse(run_id: str, text: str, latencies: builtins.list[int] | None = None) -> RunRecord:
    source = f"run {run_id}"
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ManifestError([Problem(source, "", "stored record is not a JSON object")])
    if latencies is not None:
        data["latencies_ns"] = latencies
    return load_record(data, source)
