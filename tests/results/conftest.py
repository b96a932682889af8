"""Fixtures of the results tests, beside the databases' own (tests/databases.py, a plugin of
tests/conftest.py): ``db_url`` and ``reef_db`` run a test on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from databases import Postgres, database_url
from reef.meta.run import RunRecord
from reef.results import Store

OpenStore = Callable[..., Store]


@pytest.fixture
def new_store(postgres: Postgres, tmp_path: Path) -> Iterator[OpenStore]:
    """``new_store(kind, records=())``: a store on a new database of ``kind`` (``sqlite``, a
    file of its own, or ``postgresql``, a schema of its own) holding ``records``; closed, and
    its connections ended, after the test. For a test comparing the answers of two databases."""
    opened: list[tuple[str, Store]] = []

    def new(kind: str, records: Iterable[RunRecord] = ()) -> Store:
        home = tmp_path / f"{kind}-{len(opened)}"
        url = database_url(kind, postgres, home, f"store{len(opened)}")
        store = Store(url)
        opened.append((url, store))
        store.add_many(records)
        return store

    yield new
    for url, store in opened:
        store.close()
        if not url.startswith("sqlite"):
            postgres.release(url)
