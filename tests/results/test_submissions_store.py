"""reef.results.submissions: the ``submissions`` and ``verifications`` tables of schema
revision 0006, read and written on SQLite and PostgreSQL: a submission is stored once, with
its token's name read from ``tokens``; runs of a configuration and hardware are found by
another token only, newest first, with the runs to leave out and a limit; a pair judged
again replaces its row; ``RunFilter(verified=...)`` selects runs by their status; deleting a
run deletes its rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from factories import rid, run_record
from reef.results import Store
from reef.results.query import RunFilter
from reef.results.submissions import (
    SubmissionEntry,
    VerificationEntry,
    add_submissions,
    get_submission,
    list_submissions,
    record_verifications,
    same_configuration,
    verifications_of,
)
from reef.results.tokens import AuditEntry, TokenEntry, add_token

T = datetime(2026, 1, 1)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        s.add_many(run_record(rid(p), minutes=i) for i, p in enumerate("abcde"))
        add_token(
            s,
            TokenEntry("t1", "alice", "submit", "0" * 64, T, None, None, None),
            AuditEntry(at=T, actor="test", action="token.create", target="t1", client=None),
        )
        yield s


def entry(prefix: str, token: str | None, minutes: int = 0, **fields: str) -> SubmissionEntry:
    values = {"config_key": "k" * 64, "hardware": "CPU X", **fields}
    return SubmissionEntry(
        run_id=rid(prefix),
        token_id=token,
        submitted_at=T + timedelta(minutes=minutes),
        status="unverified",
        **values,
    )


def test_a_submission_is_stored_once_with_its_tokens_name(store: Store) -> None:
    add_submissions(store, [entry("a", "t1"), entry("b", "t2", 1)])
    add_submissions(store, [entry("a", "t9", 5)])  # stored already: kept as it was
    got = get_submission(store, rid("a"))
    assert got is not None
    assert (got.token_id, got.token_name, got.submitted_at) == ("t1", "alice", T)
    other = get_submission(store, rid("b"))
    assert other is not None and other.token_name is None  # no such token row
    assert get_submission(store, rid("c")) is None
    assert [s.run_id for s in list_submissions(store)] == [rid("b"), rid("a")]
    assert [s.run_id for s in list_submissions(store, limit=1)] == [rid("b")]


def test_runs_of_a_configuration_by_other_tokens(store: Store) -> None:
    add_submissions(
        store,
        [
            entry("a", "t1", 0),
            entry("b", "t2", 1),
            entry("c", None, 2),
            entry("d", "t3", 3, hardware="CPU Y"),
            entry("e", "t3", 4, config_key="x" * 64),
        ],
    )
    found = same_configuration(store, "k" * 64, "CPU X", other_than="t9")
    assert [s.run_id for s in found] == [rid("b"), rid("a")]  # never one without a token
    found = same_configuration(store, "k" * 64, "CPU X", other_than="t2")
    assert [s.run_id for s in found] == [rid("a")]
    assert same_configuration(store, "k" * 64, "CPU X", other_than="t9", exclude=[rid("b")])[
        0
    ].run_id == rid("a")
    assert len(same_configuration(store, "k" * 64, "CPU X", other_than="t9", limit=1)) == 1


def test_verifications_and_the_verified_filter(store: Store) -> None:
    add_submissions(store, [entry("a", "t1"), entry("b", "t2", 1), entry("c", "t3", 2)])
    differs = VerificationEntry(rid("a"), rid("c"), "differs", "latency: 3x slower", T)
    record_verifications(store, [differs], [])
    assert store.count(RunFilter(verified=True)) == 0
    assert store.count(RunFilter(verified=False)) == 5
    pair = VerificationEntry(rid("a"), rid("b"), "reproduced", "no clear difference", T)
    record_verifications(store, [pair], [rid("a"), rid("b")])
    again = VerificationEntry(rid("a"), rid("b"), "reproduced", "judged again", T)
    record_verifications(store, [again], [rid("a"), rid("b")])
    assert [(v.verifying_run_id, v.detail) for v in verifications_of(store, rid("a"))] == [
        (rid("c"), "latency: 3x slower"),
        (rid("b"), "judged again"),
    ]
    assert [v.run_id for v in verifications_of(store, rid("b"))] == [rid("a")]
    assert [s.run_id for s in list_submissions(store, status="verified")] == [rid("b"), rid("a")]
    assert {r.id for r in store.list(RunFilter(verified=True))} == {rid("a"), rid("b")}
    assert store.count(RunFilter(verified=False)) == 3


def test_deleting_a_run_deletes_its_rows(store: Store) -> None:
    add_submissions(store, [entry("a", "t1"), entry("b", "t2", 1)])
    pair = VerificationEntry(rid("a"), rid("b"), "reproduced", "no clear difference", T)
    record_verifications(store, [pair], [rid("a"), rid("b")])
    store.delete(rid("b"))
    assert get_submission(store, rid("b")) is None
    assert verifications_of(store, rid("a")) == []
    assert get_submission(store, rid("a")) is not None
