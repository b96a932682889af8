"""``Store.field_rows``: a few fields of many runs, from the runs table's columns, from the
stored record by the database (SQLite's ``json_extract``) or, where a database cannot, from
the record's text parsed in Python; the same values either way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from factories import run_record
from reef.meta.run import RunRecord
from reef.results import Store, fields
from reef.results import store as store_module
from reef.results.query import RunFilter

P90 = ("performance", "latency_ms", "p90")  # kept in a column
P95 = ("performance", "latency_ms", "p95")  # only in the record
METRIC = ("accuracy", "metric")
ABSENT = ("performance", "no_such_figure")


def record(run_id: str, p90: float | None, *, name: str = "resnet", minutes: int = 0) -> RunRecord:
    figures = None
    if p90 is not None:
        figures = {
            "min": 1,
            "mean": 2,
            "p50": 2,
            "p90": p90,
            "p95": p90 + 1,
            "p99": p90 + 2,
            "max": 9,
        }
    return run_record(
        run_id,
        name=name,
        version=None,
        minutes=minutes,
        status="valid" if figures else "failed",
        latency_ms=figures,
        throughput_qps=100.0,
        queries=10,
        accuracy=0.9 if figures else None,
    )


@pytest.fixture
def store(reef_db: str) -> Iterator[Store]:
    """A store on each database (REEF_DB_URL)."""
    with Store() as s:
        s.add_many(
            [
                record("run-a", 3.0),
                record("run-b", 5.0, name="bert", minutes=1),
                record("run-c", None, minutes=2),
            ]
        )
        yield s


def rows(store: Store, wanted: list[Any], run_filter: RunFilter | None = None) -> list[Any]:
    return sorted(store.field_rows(wanted, run_filter))


def test_columns_and_paths_side_by_side(store: Store) -> None:
    got = rows(store, ["id", "target_name", P90, P95, METRIC, ABSENT])
    assert got == [
        ("run-a", "resnet", 3.0, 4.0, "top1", None),
        ("run-b", "bert", 5.0, 6.0, "top1", None),
        ("run-c", "resnet", None, None, None, None),
    ]


def test_a_filter_or_ids_select_the_runs(store: Store) -> None:
    assert rows(store, ["id", P95], RunFilter(model="bert")) == [("run-b", 6.0)]
    by_id = store.field_rows(["id", "created_at"], ids=["run-c", "run-a", "run-zz"])
    assert sorted(r[0] for r in by_id) == ["run-a", "run-c"]
    assert all(isinstance(r[1], datetime) for r in by_id)
    assert store.field_rows(["id"], RunFilter(model="gpt")) == []


def test_paths_read_from_the_record_text_match_the_database(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a database without ``json_extract`` (PostgreSQL's text column) gets."""
    wanted: list[Any] = ["id", P90, P95, METRIC, ABSENT, ("performance",)]
    in_sql = rows(store, wanted)

    def without_json(table: Any, asked: Any, *, json_in_sql: bool) -> fields.FieldReader:
        return fields.FieldReader(table, asked, json_in_sql=False)

    monkeypatch.setattr(store_module, "FieldReader", without_json)
    in_python = rows(store, wanted)
    # json_extract gives a JSON object as its text; parsed here it stays a dict.
    assert [r[:-1] for r in in_python] == [r[:-1] for r in in_sql]
    assert in_python[0][-1]["latency_ms"]["p95"] == 4.0


@pytest.mark.parametrize("name", ["no_such_column", "record_json"])
def test_an_unknown_column_is_refused(store: Store, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        store.field_rows(["id", name])


def test_find_names_the_candidates_of_an_ambiguous_prefix(store: Store) -> None:
    from reef.errors import RunNotFound

    assert store.find("run-a").latencies_ns is None
    with pytest.raises(RunNotFound) as info:
        store.find("run-")
    assert info.value.hint is not None
    assert "run-c (resnet, SingleStream, 2025-01-01 00:02)" in info.value.hint
    with pytest.raises(RunNotFound) as info:
        store.find("zz")
    assert info.value.hint == "`reef runs list` shows the recorded runs"
