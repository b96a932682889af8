"""A results database written by the first Reef (commit 9b72240, 2026-11-25: schema
revision 0001, one SingleStream run of a bare ONNX file), frozen, is upgraded by today's Reef
through every migration to head, and its run reads back whole: listed, shown, with the
columns later revisions added filled in."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from reef.results import Store
from reef.results.migrate import HEAD

FROZEN = Path(__file__).parent / "fixtures" / "reef-2026-11-25.db"


def _copy(tmp_path: Path) -> Path:
    # Never open the fixture itself: the upgrade writes.
    return Path(shutil.copy(FROZEN, tmp_path / "reef.db"))


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as db:
        [(revision,)] = db.execute("SELECT version_num FROM alembic_version").fetchall()
    return str(revision)


def test_the_oldest_database_is_upgraded_to_head_and_its_run_reads_back(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    assert _revision(path) == "0001"
    with Store(f"sqlite:///{path}") as store:
        [record] = store.list()
        assert record.status == "valid"
        assert record.target.kind == "onnx"
        assert record.performance is not None and record.performance.latency_ms.p50 > 0
        assert store.get(record.id[:8]).id == record.id
    assert _revision(path) == HEAD
    with sqlite3.connect(path) as db:
        [(hardware,)] = db.execute("SELECT hardware FROM runs").fetchall()
    assert hardware  # revision 0003 filled it from the record's environment


def test_a_run_added_after_the_upgrade_sits_beside_the_old_one(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    with Store(f"sqlite:///{path}") as store:
        [old] = store.list()
        copy = old.model_copy(update={"id": "f" * 32})
        store.add(copy)
        assert sorted(r.id for r in store.list()) == sorted([old.id, "f" * 32])
