"""The store of finished runs.

A run is one ``runs`` row, written in a single transaction with its raw latencies (if any),
so a process killed mid-write leaves either the old run or the new one, never half of one.
Only ``record_json`` is read back; the other columns exist to filter and sort on.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, delete, func, insert, select

from reef import config
from reef.errors import ManifestError, Problem, ReefError, RunNotFound
from reef.meta.run import RunRecord, load_record
from reef.results import migrate, packing
from reef.results.engine import WRITE, make_engine
from reef.results.models import LatencyRow, RunRow

MAX_CANDIDATES = 10


class StoreError(ReefError):
    """The results database could not be opened, read or written."""


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """Database and driver failures become one clean error naming the database."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        yield
    except (SQLAlchemyError, ArgumentError, OSError, ImportError) as exc:
        shown = _hide_password(url)
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreError(
            f"results database {shown}: {detail}",
            hint="check REEF_DB_URL (any SQLAlchemy URL) or that REEF_HOME is writable",
        ) from exc


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


class Store:
    """Runs kept in the database at ``url`` (default: ``config.db_url()``).

    Opening brings the schema to the newest revision. Use as a context manager, or call
    ``close()``.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or config.db_url()
        with _database_errors(self.url):
            self._engine = make_engine(self.url)
        try:
            with _database_errors(self.url):
                migrate.upgrade(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

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
        # Serialise before taking the write lock, to hold it as briefly as possible.
        row = _row(record)
        latencies = record.latencies_ns
        blob = None if latencies is None else packing.pack(latencies)
        with self._write() as conn:
            # Latencies first and explicitly: no reliance on ON DELETE CASCADE being enforced.
            conn.execute(delete(LatencyRow).where(LatencyRow.run_id == record.id))
            conn.execute(delete(RunRow).where(RunRow.id == record.id))
            conn.execute(insert(RunRow).values(row))
            if latencies is not None and blob is not None:
                conn.execute(
                    insert(LatencyRow).values(
                        run_id=record.id, count=len(latencies), dtype=packing.DTYPE, data=blob
                    )
                )

    def get(self, id_or_prefix: str, *, with_latencies: bool = False) -> RunRecord:
        """The run with this id, or else the only run whose id starts with it."""
        with self._read() as conn:
            run_id = self._resolve(conn, id_or_prefix)
            text = conn.scalar(select(RunRow.record_json).where(RunRow.id == run_id))
            assert text is not None  # same transaction as _resolve
            latencies = self._latencies(conn, run_id) if with_latencies else None
        return _parse(run_id, text, latencies)

    def list(
        self,
        *,
        limit: int | None = None,
        scenario: str | None = None,
        status: str | None = None,
        model: str | None = None,
    ) -> builtins.list[RunRecord]:
        """Runs newest first, without their latencies. ``model`` matches the target's name."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        query = select(RunRow.id, RunRow.record_json).order_by(
            RunRow.created_at.desc(), RunRow.id.desc()
        )
        if scenario is not None:
            query = query.where(RunRow.scenario == scenario)
        if status is not None:
            query = query.where(RunRow.status == status)
        if model is not None:
            query = query.where(RunRow.target_name == model)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_parse(run_id, text) for run_id, text in rows]

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
        "record_json": json.dumps(record.summary_json()),
    }


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
