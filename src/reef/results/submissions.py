"""The server's submissions and their verifications, kept in the results database beside the
runs (tables ``submissions`` and ``verifications``, schema revision 0006).

A submission row says which token submitted a run, when, and its status: ``unverified``
until an independent rerun reproduces it, then ``verified``. It also keeps what finds a run's
reruns: the key of its configuration and its hardware label. A verification row is one pair
of runs judged with ``reef reproduce``'s rule: the run, the rerun judged against it, the
verdict and a line saying why. What makes two runs the same configuration, and when a pair
counts, is ``reef.api.verification``'s business; this module only reads and writes the rows.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from reef.results.store import Store, Transaction, _Reader

SubmissionStatus = Literal["unverified", "verified"]
STATUSES: tuple[SubmissionStatus, ...] = ("unverified", "verified")

_SUBMISSION_COLUMNS = (
    "s.run_id", "s.token_id", "t.name", "s.submitted_at", "s.status", "s.config_key",
    "s.hardware",
)  # fmt: skip
_SUBMISSION_FROM = "submissions s LEFT JOIN tokens t ON t.id = s.token_id"
_VERIFICATION_COLUMNS = ("id", "run_id", "verifying_run_id", "verdict", "detail", "at")


@dataclass(frozen=True)
class SubmissionEntry:
    """One row of ``submissions`` (``token_name`` read from ``tokens``). Times are naive UTC."""

    run_id: str
    token_id: str | None
    submitted_at: datetime
    status: str
    config_key: str
    hardware: str
    token_name: str | None = None


@dataclass(frozen=True)
class VerificationEntry:
    """One row of ``verifications``: ``verifying_run_id`` judged against ``run_id``
    (``id`` is None before it is written). Times are naive UTC."""

    run_id: str
    verifying_run_id: str
    verdict: str
    detail: str
    at: datetime
    id: int | None = None


def add_submissions(store: Store | Transaction, entries: Sequence[SubmissionEntry]) -> None:
    """Store ``entries``, in one transaction (or in the open one); a run that has a row
    already keeps it."""
    if not entries:
        return
    from sqlalchemy import insert, select

    from reef.results.models import SubmissionRow
    from reef.results.store import connection_of

    with connection_of(store) as conn:
        ids = [e.run_id for e in entries]
        present = set(
            conn.scalars(select(SubmissionRow.run_id).where(SubmissionRow.run_id.in_(ids)))
        )
        rows = [
            {
                "run_id": e.run_id,
                "token_id": e.token_id,
                "submitted_at": e.submitted_at,
                "status": e.status,
                "config_key": e.config_key,
                "hardware": e.hardware[:255],
            }
            for e in entries
            if e.run_id not in present
        ]
        if rows:
            conn.execute(insert(SubmissionRow), rows)


def get_submission(store: Store, run_id: str) -> SubmissionEntry | None:
    """The submission of the run with exactly this id; None if it was not submitted."""
    with store._read() as reader:
        rows = reader.rows(
            f"SELECT {', '.join(_SUBMISSION_COLUMNS)} FROM {_SUBMISSION_FROM} WHERE s.run_id = :id",
            {"id": run_id},
        )
        return _submission(reader, rows[0]) if rows else None


def same_configuration(
    store: Store | Transaction,
    config_key: str,
    hardware: str,
    *,
    other_than: str,
    exclude: Iterable[str] = (),
    limit: int | None = None,
) -> builtins.list[SubmissionEntry]:
    """Submissions of ``config_key`` on ``hardware`` by a token other than ``other_than``
    (never those without a token), newest first, but those of the runs in ``exclude``; at most
    ``limit``."""
    left_out = sorted(set(exclude))
    names = [f"x{i}" for i in range(len(left_out))]
    query = (
        f"SELECT {', '.join(_SUBMISSION_COLUMNS)} FROM {_SUBMISSION_FROM} "
        "WHERE s.config_key = :key AND s.hardware = :hardware "
        "AND s.token_id IS NOT NULL AND s.token_id <> :token"
    )
    if names:
        query += f" AND s.run_id NOT IN ({', '.join(':' + n for n in names)})"
    query += " ORDER BY s.submitted_at DESC, s.run_id DESC"
    params: dict[str, Any] = {"key": config_key, "hardware": hardware[:255], "token": other_than}
    params.update(zip(names, left_out, strict=True))
    if limit is not None:
        query += " LIMIT :limit"
        params["limit"] = limit
    from reef.results.store import reader_of

    with reader_of(store) as reader:
        return [_submission(reader, row) for row in reader.rows(query, params)]


def list_submissions(
    store: Store, *, status: str | None = None, limit: int | None = None
) -> builtins.list[SubmissionEntry]:
    """Submissions, newest first, of ``status`` only where given, at most ``limit``."""
    query = f"SELECT {', '.join(_SUBMISSION_COLUMNS)} FROM {_SUBMISSION_FROM}"
    params: dict[str, Any] = {}
    if status is not None:
        query += " WHERE s.status = :status"
        params["status"] = status
    query += " ORDER BY s.submitted_at DESC, s.run_id DESC"
    if limit is not None:
        query += " LIMIT :limit"
        params["limit"] = limit
    with store._read() as reader:
        return [_submission(reader, row) for row in reader.rows(query, params)]


def record_verifications(
    store: Store | Transaction, entries: Sequence[VerificationEntry], verified: Iterable[str]
) -> None:
    """Store ``entries`` (a pair judged already is judged again: its row is replaced) and
    mark the runs in ``verified`` verified, in one transaction (or in the open one)."""
    from sqlalchemy import and_, delete, insert, update

    from reef.results.models import SubmissionRow, VerificationRow
    from reef.results.store import connection_of

    marked = sorted(set(verified))
    if not entries and not marked:
        return
    with connection_of(store) as conn:
        for e in entries:
            conn.execute(
                delete(VerificationRow).where(
                    and_(
                        VerificationRow.run_id == e.run_id,
                        VerificationRow.verifying_run_id == e.verifying_run_id,
                    )
                )
            )
        if entries:
            conn.execute(
                insert(VerificationRow),
                [
                    {
                        "run_id": e.run_id,
                        "verifying_run_id": e.verifying_run_id,
                        "verdict": e.verdict[:16],
                        "detail": e.detail,
                        "at": e.at,
                    }
                    for e in entries
                ],
            )
        if marked:
            conn.execute(
                update(SubmissionRow)
                .where(SubmissionRow.run_id.in_(marked))
                .values(status="verified")
            )


def verifications_of(store: Store, run_id: str) -> builtins.list[VerificationEntry]:
    """Every pair the run with exactly this id is part of, either side, oldest first."""
    with store._read() as reader:
        rows = reader.rows(
            f"SELECT {', '.join(_VERIFICATION_COLUMNS)} FROM verifications "
            "WHERE run_id = :id OR verifying_run_id = :id ORDER BY at, id",
            {"id": run_id},
        )
        return [
            VerificationEntry(
                id=int(row[0]),
                run_id=row[1],
                verifying_run_id=row[2],
                verdict=row[3],
                detail=row[4],
                at=reader.time(row[5]),
            )
            for row in rows
        ]


def _submission(reader: _Reader, row: Sequence[Any]) -> SubmissionEntry:
    return SubmissionEntry(
        run_id=row[0],
        token_id=row[1],
        token_name=row[2],
        submitted_at=reader.time(row[3]),
        status=row[4],
        config_key=row[5],
        hardware=row[6],
    )
