"""Reads of a plain SQLite file at the newest schema go through the standard library's
``sqlite3`` alone: no SQLAlchemy, no table models. They answer as reads through SQLAlchemy's
engine do, writes still work (the engine is made then), and other threads may read. A store on
PostgreSQL holding the same runs answers as they do too."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from databases import DATABASES
from factories import run_record
from reef.errors import RunNotFound
from reef.meta.run import RunRecord
from reef.meta.summary import RunSummary
from reef.results import Store
from reef.results.engine import plain_sqlite_path
from reef.results.query import RunFilter, Sort


def record(
    run_id: str,
    *,
    name: str = "resnet",
    version: str = "1.0",
    scenario: str = "SingleStream",
    status: str = "valid",
    days: float = 0,
    accuracy: float = 0.7,
    reasons: list[str] | None = None,
    raw: list[int] | None = None,
) -> RunRecord:
    p90 = 2.0 + days
    return run_record(
        run_id,
        days=-days,
        status=status,
        reasons=reasons,
        name=name,
        version=version,
        scenario=scenario,
        latency_ms={
            "min": 1,
            "mean": 2,
            "p50": 2,
            "p90": p90,
            "p95": p90 + 1,
            "p99": p90 + 2,
            "max": 9,
        },
        accuracy=accuracy,
        raw=raw,
    )


PATHS = [
    ("performance", "latency_ms", "p95"),
    ("accuracy", "metric"),
    ("performance", "latency_ms", "p90"),
]


RECORDS = [
    record(
        f"run{i:02d}",
        name=("resnet", "bert")[i % 2],
        version=("1.0", "2.0rc1", "2.1")[i % 3],
        scenario=("SingleStream", "Offline")[i % 2],
        status=("valid", "invalid")[i % 3 == 2],
        days=i * 1.5,
        accuracy=0.5 + i / 100,
        reasons=["Out of Memory 50%_done"] if i % 4 == 0 else None,
        raw=[i, i + 1] if i % 5 == 0 else None,
    )
    for i in range(20)
]


# The new_store fixture (tests/results/conftest.py).
OpenStore = Callable[..., Store]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "reef.db"
    with Store(f"sqlite:///{path}") as s:
        s.add_many(RECORDS)
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def stores(
    request: pytest.FixtureRequest, db: Path, new_store: OpenStore
) -> Iterator[tuple[Store, Store]]:
    """The same runs read plainly from the SQLite file, and through SQLAlchemy's engine: from
    the same file (a URL naming the driver is left to SQLAlchemy), or from PostgreSQL."""
    with Store(f"sqlite:///{db}") as plain:
        if request.param == "sqlite":
            engine = Store(f"sqlite+pysqlite:///{db}")
        else:
            engine = new_store("postgresql", RECORDS)
        with engine:
            assert plain._plain is not None and engine._plain is None
            yield plain, engine


FILTERS = [
    RunFilter(),
    RunFilter(model="bert"),
    RunFilter(status="invalid", scenario="Offline"),
    RunFilter(version=">=2"),
    RunFilter(version="2.0rc1"),
    RunFilter(version="9"),
    RunFilter().merged(since="2024-12-20", until="2024-12-28"),
    RunFilter(text="50%_done"),
    RunFilter(text="memory"),
    RunFilter(tag="onnx"),
    RunFilter(tag="o_nx"),
]


@pytest.mark.parametrize("run_filter", FILTERS, ids=str)
def test_plain_reads_answer_as_the_engine_does(
    stores: tuple[Store, Store], run_filter: RunFilter
) -> None:
    plain, engine = stores
    for sort in (None, Sort.parse("-p90"), Sort.parse("accuracy")):
        assert plain.list(run_filter, sort=sort, limit=7) == engine.list(
            run_filter, sort=sort, limit=7
        )
    assert plain.count(run_filter) == engine.count(run_filter)
    assert plain.explain_empty(run_filter) == engine.explain_empty(run_filter) or (
        str(plain.explain_empty(run_filter)) == str(engine.explain_empty(run_filter))
    )
    wanted = ["id", "created_at", "hardware", *PATHS]
    assert sorted(plain.field_rows(wanted, run_filter)) == sorted(
        engine.field_rows(wanted, run_filter)
    )
    assert sorted(map(str, plain.distinct("target_version", run_filter))) == sorted(
        map(str, engine.distinct("target_version", run_filter))
    )


@pytest.mark.parametrize("run_filter", FILTERS[:4], ids=str)
def test_summaries_are_the_listed_records_summed_up(
    stores: tuple[Store, Store], run_filter: RunFilter
) -> None:
    """A summary read from the stored JSON says what the whole record says, in list's order,
    through either reader."""
    for store in stores:
        for sort in (None, Sort.parse("-p90")):
            records = store.list(run_filter, sort=sort, limit=9)
            summaries = store.summaries(run_filter, sort=sort, limit=9)
            assert [s.id for s in summaries] == [r.id for r in records]
            for summary, r in zip(summaries, records, strict=True):
                assert summary == RunSummary.of(r)
                assert summary.created_at == r.created_at
                assert summary.p90_ms == r.performance.latency_ms.p90  # type: ignore[union-attr]
                assert summary.accuracy_value == r.accuracy.value  # type: ignore[union-attr]
                assert (summary.model, summary.version) == (r.target.name, r.target.version)
                assert (summary.scenario, summary.status) == (r.scenario, r.status)


@pytest.mark.parametrize("kind", DATABASES)
def test_a_summary_of_a_record_without_figures(kind: str, new_store: OpenStore) -> None:
    failed = run_record("bare", status="failed", latency_ms=None, backend=None, version=None)
    with new_store(kind) as s:
        s.add(failed)
        (summary,) = s.summaries()
    assert summary.status == "failed"
    assert summary.version is None and summary.backend is None and summary.solution is None
    assert summary.p50_ms is None and summary.throughput_qps is None
    assert summary.accuracy_metric is None and summary.accuracy_passed is None
    assert RunSummary.model_validate(summary.model_dump()) == summary


def test_plain_reads_by_id(stores: tuple[Store, Store]) -> None:
    plain, engine = stores
    assert plain.get("run05", with_latencies=True) == engine.get("run05", with_latencies=True)
    errors = []
    for store in stores:
        with pytest.raises(RunNotFound) as info:
            store.find("run1")
        errors.append((info.value.message, info.value.candidates, info.value.hint))
    assert errors[0] == errors[1]
    assert plain.latencies("run10") == engine.latencies("run10") == [10, 11]
    assert plain.stored(["run01", "nope", "run19"]) == {"run01", "run19"}
    ids = ["run03", "run04", "zz"]
    assert sorted(plain.field_rows(["id", "created_at"], ids=ids)) == sorted(
        engine.field_rows(["id", "created_at"], ids=ids)
    )


def test_reads_import_neither_sqlalchemy_nor_the_models(db: Path) -> None:
    code = (
        "import sys\n"
        "from reef.results import Store\n"
        "from reef.results.query import RunFilter\n"
        f"s = Store('sqlite:///{db}')\n"
        "s.list(RunFilter(model='bert'), limit=3); s.get('run07'); s.count()\n"
        "s.latencies('run05')\n"
        "s.field_rows(['id', ('performance', 'latency_ms', 'p95')])\n"
        "s.best_in_groups({None: (('performance', 'latency_ms', 'p90'), False)})\n"
        "s.close()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'alembic', "
        "'reef.results.models'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_plain_store_writes_through_an_engine_made_then(db: Path) -> None:
    with Store(f"sqlite:///{db}") as s:
        assert s._made_engine is None
        s.add(record("new-run", raw=[7]))
        assert s._made_engine is not None
        assert s.get("new-run").id == "new-run"
        assert s.latencies("new-run") == [7]
        s.delete("new-run")
        assert s.stored(["new-run"]) == set()


def test_other_threads_read_a_plain_store(db: Path) -> None:
    found: list[int] = []
    with Store(f"sqlite:///{db}") as s:
        threads = [threading.Thread(target=lambda: found.append(s.count())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert found == [20] * 8


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///reef.db",
        "sqlite:////abs/path/reef.db",
        "sqlite:///./rel/x.db",
        "sqlite:///with space/x.db",
        "sqlite:///a@b/x.db",
        "sqlite:///C:\\data\\reef.db",
    ],
)
def test_plain_paths_are_sqlalchemys(url: str) -> None:
    assert str(plain_sqlite_path(url)) == str(Path(str(make_url(url).database)))


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:x.db?mode=ro&uri=true",
        "sqlite:///x.db?timeout=5",
        "sqlite:///caf%C3%A9.db",
        "sqlite+pysqlite:///x.db",
        "postgresql://u:p@h/db",
    ],
)
def test_other_urls_are_left_to_sqlalchemy(url: str) -> None:
    assert plain_sqlite_path(url) is None
