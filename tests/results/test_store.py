"""The results store: round trips, lookups, migrations and concurrent writers, on SQLite and
on PostgreSQL (``reef_db``); what only a SQLite file has (pragmas, the folders made for it)
on SQLite alone."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, event, text

from databases import execute, kind_of, versions
from factories import run_record
from reef.errors import ManifestError, ReefError, RunNotFound
from reef.meta.run import (
    FORMAT_VERSION,
    RunRecord,
)
from reef.results import Store, migrate, packing
from reef.results.query import run_hardware

PLUS_2 = timezone(timedelta(hours=2))


def make_record(
    run_id: str | None = None,
    *,
    name: str = "resnet",
    scenario: str = "SingleStream",
    status: str = "valid",
    minutes: int = 0,
    latencies: list[int] | None = None,
) -> RunRecord:
    return run_record(
        run_id,
        name=name,
        version=None,
        path=f"/models/{name}.onnx",
        minutes=minutes,
        status=status,
        scenario=scenario,
        accuracy=0.76,
        environment={
            "hardware": {
                "cpu": {"model": "AMD EPYC 7763"},
                "gpu": {"devices": [{"name": "NVIDIA H100"}, {"name": "NVIDIA H100"}]},
            }
        },
        raw=latencies,
    )


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SQLite alone: the file Reef makes in a REEF_HOME that does not exist yet."""
    home = tmp_path / "home" / "nested"
    monkeypatch.setenv("REEF_HOME", str(home))
    monkeypatch.delenv("REEF_DB_URL", raising=False)
    return home / "reef.db"


@pytest.fixture
def store(reef_db: str) -> Iterator[Store]:
    """A store on each database (REEF_DB_URL)."""
    with Store() as s:
        yield s


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_missing_folders_of_the_home_are_made(db: Path) -> None:
    with Store() as s:
        s.add(make_record("r1"))
    assert db.exists()


def test_round_trip_with_latencies(store: Store) -> None:
    latencies = [1, 2**62, -5, 0, 123_456_789] * 1000
    record = make_record("a1b2c3", latencies=latencies)
    store.add(record)

    got = store.get("a1b2c3", with_latencies=True)
    assert got == record
    assert store.latencies("a1b2c3") == latencies

    without = store.get("a1b2c3")
    assert without.latencies_ns is None
    assert without == record.model_copy(update={"latencies_ns": None})


def test_run_without_latencies(store: Store) -> None:
    store.add(make_record("r1"))
    assert store.latencies("r1") is None
    assert store.get("r1", with_latencies=True).latencies_ns is None
    with pytest.raises(RunNotFound):
        store.latencies("nope")


def test_columns_copied_from_record(store: Store, reef_db: str) -> None:
    record = make_record("r1", latencies=[1, 2, 3])
    record.created_at = datetime(2025, 1, 1, 3, 0, tzinfo=PLUS_2)
    store.add(record)
    columns = (
        "created_at", "backend", "scenario", "target_name", "p50_ms", "p99_ms", "throughput_qps",
        "accuracy_metric", "accuracy_value", "record_json",
    )  # fmt: skip
    [values] = execute(reef_db, f"SELECT {', '.join(columns)} FROM runs")
    row = dict(zip(columns, values, strict=True))
    [lat] = execute(reef_db, "SELECT count, dtype FROM run_latencies")
    # Stored as naive UTC: text on SQLite, a timestamp without time zone on PostgreSQL.
    assert str(row["created_at"]).startswith("2025-01-01 01:00:00")
    assert (row["backend"], row["scenario"], row["target_name"]) == (
        "onnxruntime",
        "SingleStream",
        "resnet",
    )
    assert (row["p50_ms"], row["p99_ms"], row["throughput_qps"]) == (2.0, 4.0, 500.0)
    assert (row["accuracy_metric"], row["accuracy_value"]) == ("top1", 0.76)
    assert "latencies_ns" not in json.loads(row["record_json"])
    assert tuple(lat) == (3, "int64")


def test_sqlite_pragmas(db: Path) -> None:
    with Store() as store:
        store.add(make_record("r1"))
    with sqlite3.connect(db) as conn:  # journal_mode is kept in the file itself
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store() as store, store._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_unique_prefix(store: Store) -> None:
    store.add(make_record("abc123"))
    store.add(make_record("abd456"))
    assert store.get("abc").id == "abc123"
    assert store.get("abd4").id == "abd456"
    assert store.get("abc123").id == "abc123"


def test_exact_id_beats_longer_ids(store: Store) -> None:
    store.add(make_record("abc"))
    store.add(make_record("abcd"))
    assert store.get("abc").id == "abc"


def test_prefix_is_case_sensitive_and_literal(store: Store) -> None:
    store.add(make_record("abc123"))
    for prefix in ("ABC", "a%", "a_c"):
        with pytest.raises(RunNotFound):
            store.get(prefix)


def test_ambiguous_prefix_lists_candidates(store: Store) -> None:
    for i in range(12):
        store.add(make_record(f"ab{i:02d}", minutes=i))
    store.add(make_record("zz"))
    with pytest.raises(RunNotFound) as info:
        store.get("ab")
    assert info.value.message == "'ab' is ambiguous: 12 runs match"
    # Newest first, capped at 10.
    assert info.value.candidates == [f"ab{i:02d}" for i in range(11, 1, -1)]
    assert info.value.hint is not None and "ab11" in info.value.hint


def test_unknown_id(store: Store) -> None:
    store.add(make_record("abc"))
    with pytest.raises(RunNotFound) as info:
        store.get("xyz")
    assert info.value.message == "no run matches 'xyz'"
    assert info.value.candidates == []
    with pytest.raises(RunNotFound):
        store.get("")


def test_replace_same_id(store: Store) -> None:
    store.add(make_record("r1", status="invalid", latencies=[1, 2, 3]))
    store.add(make_record("r1", status="valid"))
    assert [r.status for r in store.list()] == ["valid"]
    assert store.latencies("r1") is None

    store.add(make_record("r1", latencies=[7]))
    assert store.latencies("r1") == [7]


def test_failed_write_leaves_previous_run(store: Store) -> None:
    store.add(make_record("r1", status="invalid", latencies=[1, 2, 3]))

    def fail(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO run_latencies"):
            raise RuntimeError("killed mid-write")

    event.listen(store._engine, "before_cursor_execute", fail)
    with pytest.raises(RuntimeError):
        store.add(make_record("r1", status="valid", latencies=[9]))
    event.remove(store._engine, "before_cursor_execute", fail)

    assert store.get("r1").status == "invalid"
    assert store.latencies("r1") == [1, 2, 3]


def test_delete(store: Store, reef_db: str) -> None:
    store.add(make_record("r1", latencies=[1]))
    store.add(make_record("r2"))
    store.delete("r1")
    assert [r.id for r in store.list()] == ["r2"]
    assert execute(reef_db, "SELECT count(*) FROM run_latencies") == [(0,)]
    with pytest.raises(RunNotFound):
        store.delete("r1")
    with pytest.raises(RunNotFound):
        store.delete("r")  # ids only, never prefixes


def test_cascade_removes_latencies(store: Store) -> None:
    store.add(make_record("r1", latencies=[1]))
    with store._engine.begin() as conn:
        conn.execute(text("DELETE FROM runs"))
        assert conn.execute(text("SELECT count(*) FROM run_latencies")).scalar() == 0


def test_list_filters_and_order(store: Store) -> None:
    store.add(make_record("old", minutes=0, name="resnet", status="valid"))
    store.add(make_record("new", minutes=30, name="bert", scenario="Offline", status="valid"))
    store.add(make_record("mid", minutes=10, name="resnet", status="invalid"))
    # Same instant, different zone: ordering uses the real time, not the local clock.
    tz_record = make_record("tz", name="resnet")
    tz_record.created_at = datetime(2025, 1, 1, 2, 20, tzinfo=PLUS_2)  # 00:20 UTC
    store.add(tz_record)

    assert [r.id for r in store.list()] == ["new", "tz", "mid", "old"]
    assert [r.id for r in store.list(limit=2)] == ["new", "tz"]
    assert store.list(limit=0) == []
    assert [r.id for r in store.list(model="resnet")] == ["tz", "mid", "old"]
    assert [r.id for r in store.list(status="invalid")] == ["mid"]
    assert [r.id for r in store.list(scenario="Offline")] == ["new"]
    assert [r.id for r in store.list(model="resnet", status="valid", limit=1)] == ["tz"]
    assert store.list(model="nothing") == []
    assert all(r.latencies_ns is None for r in store.list())
    with pytest.raises(ValueError):
        store.list(limit=-1)


def _set_json(db_url: str, run_id: str, data: dict[str, Any]) -> None:
    execute(
        db_url,
        "UPDATE runs SET record_json = :json WHERE id = :id",
        params={"json": json.dumps(data), "id": run_id},
    )


def test_old_record_with_unknown_fields_loads(store: Store, reef_db: str) -> None:
    store.add(make_record("r1"))
    data = make_record("r1").summary_json()
    del data["format_version"]  # the first records had none: version 1
    data["from_the_future"] = {"kept": True}
    data["target"]["extra"] = 1
    _set_json(reef_db, "r1", data)

    got = store.get("r1")
    assert got.format_version == FORMAT_VERSION
    assert got.model_extra == {"from_the_future": {"kept": True}}
    assert [r.id for r in store.list()] == ["r1"]


def test_newer_format_version_is_refused(store: Store) -> None:
    store.add(make_record("r1").model_copy(update={"format_version": FORMAT_VERSION + 1}))
    with pytest.raises(ManifestError) as info:
        store.get("r1")
    assert "newer than this Reef understands" in info.value.message
    assert "run r1" in info.value.message
    assert info.value.hint == "upgrade Reef to read this record"


def test_corrupt_latencies_are_reported(store: Store, reef_db: str) -> None:
    store.add(make_record("r1", latencies=[1, 2]))
    execute(reef_db, "UPDATE run_latencies SET count = 3")
    with pytest.raises(ReefError, match="2 latencies stored, the row says 3"):
        store.latencies("r1")


def test_alembic_revision_recorded_and_reopen(
    reef_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store() as s:
        s.add(make_record("r1"))
    assert versions(reef_db) == [migrate.head()] == [migrate.HEAD]

    # Already at head: reopening must not run Alembic's upgrade at all.
    def no_upgrade(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("upgrade ran on a database at head")

    monkeypatch.setattr(command, "upgrade", no_upgrade)
    with Store() as s:
        assert s.get("r1").id == "r1"
    assert versions(reef_db) == [migrate.HEAD]


def test_opening_at_head_does_not_import_alembic(reef_db: str) -> None:
    with Store():
        pass
    code = (
        "import sys; from reef.results import Store; "
        f"Store({reef_db!r}).list(); "
        "assert not [m for m in sys.modules if m.startswith('alembic')], 'alembic imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_schema_matches_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from reef.results.models import Base

    with store._engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []


def test_upgrade_survives(reef_db: str) -> None:
    """A database made at revision 0001 keeps its runs when a later Reef opens it."""
    engine = create_engine(reef_db)
    record = make_record("old1")
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0001")
        conn.execute(
            text(
                "INSERT INTO runs (id, created_at, status, scenario, target_name, target_kind,"
                " format_version, record_json) VALUES ('old1', '2025-01-01 00:00:00.000000',"
                " 'valid', 'SingleStream', 'resnet', 'onnx', 1, :j)"
            ),
            {"j": json.dumps(record.summary_json())},
        )
        conn.execute(
            text("INSERT INTO run_latencies VALUES ('old1', 3, :t, :d)"),
            {"t": packing.DTYPE, "d": packing.pack([5, 6, 7])},
        )
    engine.dispose()

    with Store() as s:
        assert s.get("old1") == record
        # Rebuilding the runs table must not cascade to the raw latencies.
        assert s.latencies("old1") == [5, 6, 7]
        # The columns a later revision added are filled for the runs it found.
        from reef.results.query import RunFilter

        assert [r.id for r in s.list(RunFilter(text=record.target.name))] == ["old1"]
    assert versions(reef_db) == [migrate.head()]
    [(label,)] = execute(reef_db, "SELECT hardware FROM runs WHERE id = 'old1'")
    assert label == run_hardware(record.environment) == "AMD EPYC 7763 + 2x NVIDIA H100"


def test_unknown_schema_revision_is_refused(reef_db: str) -> None:
    with Store():
        pass
    execute(reef_db, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ReefError, match="schema revision '9999'") as info:
        Store()
    assert info.value.hint is not None and "newer Reef" in info.value.hint


def test_explicit_url_beats_environment(tmp_path: Path, db: Path) -> None:
    other = tmp_path / "elsewhere" / "x.db"
    with Store(url(other)) as s:
        s.add(make_record("r1"))
    assert other.exists()
    assert not db.exists()


def test_threads_share_a_store(store: Store) -> None:
    def write(worker: int) -> None:
        for i in range(20):
            store.add(make_record(f"t{worker}-{i}", latencies=[i]))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list()) == 80


def _write_runs(db_url: str, worker: int, count: int, barrier: Any) -> None:
    barrier.wait()  # open together: both find a new, empty database to migrate
    with Store(db_url) as s:
        for i in range(count):
            s.add(make_record(f"p{worker}-{i:02d}", minutes=i, latencies=[worker, i]))


def test_processes_write_concurrently(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")  # like separate `reef bench` processes
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_write_runs, args=(db_url, w, 20, barrier)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]

    with Store(db_url) as s:
        runs = s.list()
        assert len(runs) == 40
        assert s.latencies("p1-07") == [1, 7]


def test_writers_replacing_one_run_at_once(reef_db: str) -> None:
    """Each write replaces the run whole (delete, then insert): two at once must not both find
    nothing to delete and then collide on its id, on any database."""
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with Store() as s:
                for i in range(15):
                    s.add(make_record("same", minutes=i, latencies=[worker, i]))
        except BaseException as exc:  # reported below, with the rest
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with Store() as s:
        [run] = s.list()
        latencies = s.latencies("same")
    assert latencies is not None and latencies[1] == 14 == run.created_at.minute


def test_the_database_kind_is_what_the_test_asked_for(store: Store, reef_db: str) -> None:
    assert store._engine.dialect.name == kind_of(reef_db)


def test_a_read_sees_one_snapshot(store: Store) -> None:
    """What another writer commits during a read is not seen by it (SQLite's read transaction;
    REPEATABLE READ on PostgreSQL, whose default would see it)."""
    store.add(make_record("r1"))
    with store._read() as reader, Store() as other:
        assert reader.scalar("SELECT count(*) FROM runs") == 1
        other.add(make_record("r2"))
        assert reader.scalar("SELECT count(*) FROM runs") == 1
    assert store.count() == 2


def test_a_figure_that_is_not_a_number_sorts_last_both_ways(store: Store) -> None:
    """NaN is no value (SQLite stores it as NULL; PostgreSQL would keep it, above every number,
    and sort it first of all when descending)."""
    from reef.meta.run import RunRecord
    from reef.results.query import Sort

    for run_id, qps in (("low", 100.0), ("nan", float("nan")), ("high", 200.0)):
        data = make_record(run_id).model_dump()
        data["performance"]["throughput_qps"] = qps
        store.add(RunRecord.model_validate(data))
    assert [r.id for r in store.list(sort=Sort.parse("-throughput"))] == ["high", "low", "nan"]
    assert [r.id for r in store.list(sort=Sort.parse("throughput"))] == ["low", "high", "nan"]
    got = store.get("nan").performance
    assert got is not None and got.throughput_qps != got.throughput_qps  # the record keeps it


def test_text_postgresql_cannot_hold(store: Store, reef_db: str) -> None:
    """SQLite keeps a NUL character and any length; PostgreSQL neither. A NUL in what is only
    searched is dropped there; a value too long for its column is refused naming the field,
    and nothing of the batch is written."""
    from reef.meta.run import RunRecord
    from reef.results.query import RunFilter
    from reef.results.store import StoreError

    data = make_record("nul").model_dump()
    data["reasons"] = ["bad\x00byte"]
    store.add(RunRecord.model_validate(data))
    assert store.get("nul").reasons == ["bad\x00byte"]  # the record keeps it
    # What comes before the NUL is found (SQLite's LIKE stops at a NUL).
    assert [r.id for r in store.list(RunFilter(text="bad"))] == ["nul"]

    data = make_record("long").model_dump()
    data["target"]["name"] = "m" * 300
    long_name = RunRecord.model_validate(data)
    if kind_of(reef_db) == "sqlite":
        store.add_many([make_record("other"), long_name])
        assert store.get("long").target.name == "m" * 300
        return
    with pytest.raises(StoreError) as info:
        store.add_many([make_record("other"), long_name])
    assert info.value.message.startswith(
        "run 'long': its model (target name) is 300 characters long; the results database "
    )
    assert info.value.message.endswith(" keeps at most 255")
    assert info.value.exit_code == 2
    assert store.stored(["other", "long"]) == set()
