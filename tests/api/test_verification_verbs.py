"""reef.api.verification: what makes two runs the same configuration (``configuration_key``),
and ``verify_submitted`` judging stored runs with ``reef reproduce``'s rule: a pair of equal
figures from two tokens is ``reproduced`` and both runs verified, a rerun three times slower
is a ``differs`` link leaving both unverified, a token never verifies its own run, a run
submitted without a token is never paired, and the submissions list filters by status. On
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from factories import LATENCY_MS, rid, run_record, scaled
from reef import api
from reef.api.verification import configuration, verify_submitted
from reef.errors import ReefError
from reef.meta.run import ComponentRef, RunRecord, TraceInfo

HARDWARE = {"hardware": {"cpu": {"model": "Test CPU @ 3.00GHz"}, "gpu": {"devices": []}}}
LOCK = {
    "components": [
        {"kind": "model", "name": "resnet", "version": "1.0", "sha256": "a" * 64},
        {"kind": "dataset", "name": "imagenet", "version": "2.0", "sha256": "b" * 64},
    ]
}


def record(prefix: str, *, figures: dict[str, float] = LATENCY_MS, **fields: Any) -> RunRecord:
    fields.setdefault("environment", HARDWARE)
    fields.setdefault("lock", LOCK)
    fields.setdefault(
        "components", [ComponentRef(kind="model", name="resnet", version="1.0", sha256="c" * 64)]
    )
    return run_record(rid(prefix), latency_ms=figures, **fields)


# -- the configuration ---------------------------------------------------------------------


def test_what_differs_between_honest_reruns_is_not_the_configuration() -> None:
    a = record("a")
    b = record(
        "b",
        minutes=30,
        figures=scaled(5.0),
        settings={"seed": 7, "duration_s": 60, "repeat": 5, "cpus": [2, 3], "raw_latencies": True},
        backend_version="1.21",
        path="/elsewhere/m.onnx",
        environment={**HARDWARE, "os": {"kernel": "other"}},
    )
    assert api.configuration_key(a) == api.configuration_key(b)
    assert len(api.configuration_key(a)) == 64


@pytest.mark.parametrize(
    ("what", "fields"),
    [
        ("scenario", {"scenario": "Offline"}),
        ("mode", {"settings": {"mode": "performance"}}),
        ("batch size", {"settings": {"batch_size": 4}}),
        ("threads", {"settings": {"threads": 1}}),
        ("samples loaded", {"settings": {"sample_count": 100}}),
        ("target version", {"version": "2.0"}),
        ("model file", {"sha256": "f" * 64}),
        ("backend", {"backend": "openvino"}),
        ("trace level", {"trace": TraceInfo(level="model")}),
        ("locked component", {"lock": {"components": [LOCK["components"][0]]}}),
        (
            "component checksum",
            {"components": [ComponentRef(kind="model", name="resnet", sha256="d" * 64)]},
        ),
    ],
)
def test_what_changes_the_measurement_is_the_configuration(what: str, fields: Any) -> None:
    assert api.configuration_key(record("a")) != api.configuration_key(record("b", **fields)), what


def test_backend_options_are_the_configuration() -> None:
    from reef.meta.run import PredictorInfo

    a = record("a", predictor=PredictorInfo(name="onnxruntime", version="1", options={"x": 1}))
    b = record("b", predictor=PredictorInfo(name="onnxruntime", version="1", options={"x": 2}))
    assert configuration(a)["backend"] != configuration(b)["backend"]
    assert api.configuration_key(a) != api.configuration_key(b)


# -- verifying stored runs --------------------------------------------------------------


@pytest.fixture
def database(db_url: str) -> Iterator[api.ServerDatabase]:
    with api.server_open(db_url) as db:
        yield db


def submitted(database: api.ServerDatabase, token: str | None, *records: RunRecord) -> list[Any]:
    """Store ``records`` as a submission of ``token`` would; the verdicts reached."""
    store = database.store
    store.add_many(records)
    return verify_submitted(store, [r.id for r in records], token_id=token)


def standing(database: api.ServerDatabase, run: RunRecord) -> api.Submission:
    found = api.server_submission(run.id, db=database)
    assert found is not None
    return found


def test_equal_figures_from_two_tokens_verify_both_runs(database: api.ServerDatabase) -> None:
    a, b = record("a"), record("b", minutes=5)
    assert submitted(database, "t1", a) == []
    assert standing(database, a).status == "unverified"
    (pair,) = submitted(database, "t2", b)
    assert (pair.run_id, pair.verifying_run_id, pair.verdict) == (a.id, b.id, "reproduced")
    assert "no clear difference" in pair.detail
    for run, other in ((a, b), (b, a)):
        got = standing(database, run)
        assert got.status == "verified" and got.verified_by == [other.id]
        assert [v.verdict for v in got.verifications] == ["reproduced"]
    page = api.runs_page(api.RunFilter(verified=True), db=database)
    assert {r.id for r in page.runs} == {a.id, b.id}


def test_a_slower_rerun_is_a_differs_link_and_verifies_nothing(
    database: api.ServerDatabase,
) -> None:
    a, slow = record("a"), record("s", minutes=5, figures=scaled(6.0))
    submitted(database, "t1", a)
    (pair,) = submitted(database, "t2", slow)
    assert pair.verdict == "differs" and "slower" in pair.detail
    for run in (a, slow):
        got = standing(database, run)
        assert got.status == "unverified" and got.verified_by == []
        assert [(v.run_id, v.verifying_run_id, v.verdict) for v in got.verifications] == [
            (a.id, slow.id, "differs")
        ]
    # A third token's rerun that reproduces the first verifies it, and not the slow one.
    c = record("c", minutes=10)
    verdicts = {(p.run_id, p.verdict) for p in submitted(database, "t3", c)}
    assert verdicts == {(a.id, "reproduced"), (slow.id, "differs")}
    assert standing(database, a).verified_by == [c.id]
    assert standing(database, slow).status == "unverified"
    assert [s.run_id for s in api.server_submissions("verified", db=database)] == [c.id, a.id]
    assert [s.run_id for s in api.server_submissions("unverified", db=database)] == [slow.id]


def test_a_token_never_verifies_its_own_runs(database: api.ServerDatabase) -> None:
    a, b = record("a"), record("b", minutes=5)
    assert submitted(database, "t1", a) == []
    assert submitted(database, "t1", b) == []
    assert standing(database, a).status == standing(database, b).status == "unverified"
    # Two runs of one request come from one token: each is paired with the other token's
    # runs only, never with the other run of its request.
    c, d = record("c", minutes=6), record("d", minutes=7)
    pairs = submitted(database, "t2", c, d)
    assert {(p.run_id, p.verifying_run_id, p.verdict) for p in pairs} == {
        (x.id, y.id, "reproduced") for x in (a, b) for y in (c, d)
    }
    assert standing(database, c).verified_by == [a.id, b.id]
    assert standing(database, a).verified_by == [c.id, d.id]


def test_a_run_without_a_token_is_never_paired(database: api.ServerDatabase) -> None:
    a, b = record("a"), record("b", minutes=5)
    submitted(database, None, a)
    assert submitted(database, "t1", b) == []
    assert standing(database, a).submitted_by is None
    assert standing(database, b).status == "unverified"


def test_other_hardware_is_never_paired(database: api.ServerDatabase) -> None:
    other = {"hardware": {"cpu": {"model": "Other CPU"}, "gpu": {"devices": []}}}
    submitted(database, "t1", record("a"))
    assert submitted(database, "t2", record("b", environment=other)) == []
    # Unknown hardware is not the same hardware, even twice.
    submitted(database, "t1", record("c", environment={}))
    assert submitted(database, "t2", record("d", environment={})) == []


def test_the_submissions_list_checks_its_status(database: api.ServerDatabase) -> None:
    with pytest.raises(ReefError, match="not a submission's status"):
        api.server_submissions("maybe", db=database)
    assert api.server_submission(rid("nothing"), db=database) is None
