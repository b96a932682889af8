"""A results database written by the first Reef (commit 9b72240, 2026-11-25: schema
revision 0001, one SingleStream run of a bare ONNX file), frozen, is upgraded by today's Reef
through every migration to head, and its run reads back whole: listed, shown, with the
columns later revisions added filled in. On SQLite, the frozen file itself; on PostgreSQL, its
rows in a schema made at revision 0001."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from databases import execute, kind_of, sqlite_path, versions
from reef.results import Store, migrate
from reef.results.migrate import HEAD

FROZEN = Path(__file__).parent / "fixtures" / "reef-2026-11-25.db"
TABLES = ("runs", "run_latencies")  # in the order their foreign key needs


def _load(db_url: str) -> None:
    """The frozen database, at ``db_url``: a copy of the file (never the fixture itself: the
    upgrade writes), or its rows in tables Alembic made at revision 0001."""
    if kind_of(db_url) == "sqlite":
        sqlite_path(db_url).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FROZEN, sqlite_path(db_url))
        return
    frozen = sqlite3.connect(FROZEN)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), "0001")
            for table in TABLES:
                cursor = frozen.execute(f"SELECT * FROM {table}")
                columns = [c[0] for c in cursor.description]
                insert = text(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + c for c in columns)})"
                )
                rows = [dict(zip(columns, row, strict=True)) for row in cursor]
                assert rows
                conn.execute(insert, rows)
    finally:
        engine.dispose()
        frozen.close()


def test_the_oldest_database_is_upgraded_to_head_and_its_run_reads_back(db_url: str) -> None:
    _load(db_url)
    assert versions(db_url) == ["0001"]
    with Store(db_url) as store:
        [record] = store.list()
        assert record.status == "valid"
        assert record.target.kind == "onnx"
        assert record.performance is not None and record.performance.latency_ms.p50 > 0
        assert store.get(record.id[:8]).id == record.id
        assert store.latencies(record.id)  # the raw latencies survived the upgrade
    assert versions(db_url) == [HEAD]
    [(hardware,)] = execute(db_url, "SELECT hardware FROM runs")
    assert hardware  # revision 0003 filled it from the record's environment


def test_a_run_added_after_the_upgrade_sits_beside_the_old_one(db_url: str) -> None:
    _load(db_url)
    with Store(db_url) as store:
        [old] = store.list()
        copy = old.model_copy(update={"id": "f" * 32})
        store.add(copy)
        assert sorted(r.id for r in store.list()) == sorted([old.id, "f" * 32])
