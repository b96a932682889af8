"""The bench session: jobs (built, or a resolved target and settings) in, records out, stored
in the store given or nowhere. Measured in this process, with real ONNX Runtime and LoadGen."""

from __future__ import annotations

import pytest

from reef.bench import session
from reef.bench.target import job_for, resolve
from reef.errors import DatabaseReadOnly
from reef.meta.run import RunRecord
from reef.meta.settings import BenchSettings
from reef.results import Store

SHORT = BenchSettings(scenario="SingleStream", duration_s=0.2, mode="performance")


def test_built_jobs_and_resolved_targets_run_alike_and_are_stored() -> None:
    resolved = resolve("digits-classifier")
    built = job_for(resolved, SHORT)
    seen: list[str] = []

    def annotate(record: RunRecord) -> None:
        seen.append(record.id)

    with session.open_store() as db:
        assert db is not None
        records = session.run(
            [built, (resolved, SHORT.model_copy(update={"scenario": "Offline"}))],
            db,
            in_process=True,
            annotate=annotate,
        )
    assert [r.scenario for r in records] == ["SingleStream", "Offline"]
    assert records[0].id == built.run_id
    assert all(r.status == "valid" for r in records), [r.reasons for r in records]
    assert seen == [r.id for r in records]
    # A resolved component keeps its lock for `reef reproduce`; a built job has none to give.
    assert records[0].lock is None and records[1].lock is not None
    with Store() as db:
        assert db.stored(r.id for r in records) == {r.id for r in records}


def test_no_store_stores_nothing() -> None:
    with session.open_store(False) as db:
        assert db is None
        [record] = session.run([(resolve("digits-classifier"), SHORT)], db, in_process=True)
    with Store() as store:
        assert store.stored([record.id]) == set()


def test_a_store_that_cannot_be_written_is_refused_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def read_only(self: Store, doing: str = "record runs") -> None:
        raise DatabaseReadOnly("the results database is read-only")

    monkeypatch.setattr(Store, "require_writable", read_only)
    with pytest.raises(DatabaseReadOnly), session.open_store():
        pytest.fail("the store was opened")
