"""Store.page: keyset pages of the runs table, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from factories import run_record
from reef.results import Store
from reef.results.query import NEWEST_FIRST, RunFilter, Sort

COLUMNS = ("id", "created_at", "target_name", "p90_ms")


def latency(p90: float) -> dict[str, float]:
    return {"min": 0.5, "mean": 1.0, "p50": 1.0, "p90": p90, "p95": p90, "p99": p90, "max": p90}


@pytest.fixture
def store(reef_db: str) -> Iterator[Store]:
    with Store(reef_db) as s:
        # Two models, ten runs each, a minute apart; p90 falls with time, one run has none.
        records = [
            run_record(
                f"{model}-{i:02d}",
                name=model,
                minutes=i + (0.5 if model == "b" else 0),
                latency_ms=None if (model, i) == ("a", 3) else latency(20 - i),
            )
            for model in ("a", "b")
            for i in range(10)
        ]
        s.add_many(records)
        yield s


def pages(store: Store, order: Sort, run_filter: RunFilter, size: int) -> list[list[str]]:
    """Every page, each after the last row of the one before, as a cursor would ask."""
    found: list[list[str]] = []
    after = None
    while True:
        rows, total = store.page(
            run_filter, order, COLUMNS, after=after, limit=size, count=not found
        )
        if found:
            assert total == -1  # counted on the first page only, as asked
        if not rows:
            return found
        found.append([r[0] for r in rows])
        last = rows[-1]
        value = {"created_at": last[1], "p90_ms": last[3], "target_name": last[2]}[order.column]
        after = (value, last[1], last[0])


@pytest.mark.parametrize("sort", ["-created_at", "created_at", "p90", "-p90", "model"])
def test_pages_walk_every_run_once_in_the_lists_order(store: Store, sort: str) -> None:
    order = Sort.parse(sort)
    everything = [r.id for r in store.list(sort=order)]
    walked = pages(store, order, RunFilter(), 7)
    assert [len(p) for p in walked] == [7, 7, 6]
    assert [run_id for page in walked for run_id in page] == everything


def test_a_page_counts_its_filter_and_gives_times_as_datetimes(store: Store) -> None:
    rows, total = store.page(
        RunFilter(model="b"), NEWEST_FIRST, COLUMNS, after=None, limit=3, count=True
    )
    assert total == 10
    assert [r[0] for r in rows] == ["b-09", "b-08", "b-07"]
    assert all(r[2] == "b" for r in rows)
    assert rows[0][1].year >= 2000 and rows[0][1] > rows[1][1]


def test_the_stamp_changes_when_a_run_is_added(store: Store) -> None:
    before = store.stamp()
    assert before[0] == 20
    store.add(run_record("c-00", name="c", minutes=60))
    assert store.stamp() != before and store.stamp()[0] == 21
