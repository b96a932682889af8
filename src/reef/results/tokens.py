"""The server's API tokens and its audit log, kept in the results database beside the runs
(tables ``tokens`` and ``audit_log``, schema revision 0005).

A token row holds the SHA-256 of the token's secret, never the secret. What a token may do
and how it is checked are ``reef.api.tokens``' business; this module only reads and writes
the rows, each write in one transaction with the audit entry that records it.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reef.errors import TokenNotFound

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from reef.results.store import Store, Transaction, _Reader

_TOKEN_COLUMNS = (
    "id", "name", "scope", "secret_sha256", "created_at", "created_by", "expires_at",
    "revoked_at",
)  # fmt: skip
_TOKEN_TIMES = (4, 6, 7)
_AUDIT_COLUMNS = ("id", "at", "actor", "action", "target", "client")


@dataclass(frozen=True)
class TokenEntry:
    """One row of ``tokens``. Times are naive UTC."""

    id: str
    name: str | None
    scope: str
    secret_sha256: str
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    """One row of ``audit_log`` (``id`` is None before it is written). Times are naive UTC."""

    at: datetime
    actor: str
    action: str
    target: str | None
    client: str | None
    id: int | None = None


def add_token(store: Store, token: TokenEntry, audit: AuditEntry) -> None:
    """Store ``token``, and ``audit`` with it (both or neither)."""
    from sqlalchemy import insert

    from reef.results.models import TokenRow

    with store._write() as conn:
        conn.execute(insert(TokenRow), [_values(token)])
        _add_audit(conn, [audit])


def get_token(store: Store, token_id: str) -> TokenEntry | None:
    """The token whose id is ``token_id``; None if there is none."""
    with store._read() as reader:
        rows = reader.rows(
            f"SELECT {', '.join(_TOKEN_COLUMNS)} FROM tokens WHERE id = :id", {"id": token_id}
        )
        return _token(reader, rows[0]) if rows else None


def list_tokens(store: Store) -> builtins.list[TokenEntry]:
    """Every token, oldest first."""
    with store._read() as reader:
        rows = reader.rows(
            f"SELECT {', '.join(_TOKEN_COLUMNS)} FROM tokens ORDER BY created_at, id"
        )
        return [_token(reader, row) for row in rows]


def revoke_token(store: Store, token_id: str, at: datetime, audit: AuditEntry) -> TokenEntry:
    """Mark the token revoked at ``at`` (kept as it was if it already is), recording
    ``audit`` in the same transaction; ``TokenNotFound`` if no token has that id."""
    from sqlalchemy import select, update

    from reef.results.models import TokenRow

    with store._write() as conn:
        row = conn.execute(select(TokenRow.revoked_at).where(TokenRow.id == token_id)).first()
        if row is None:
            raise TokenNotFound(
                f"no token has id {token_id!r}", hint="`reef token list` shows the tokens"
            )
        if row.revoked_at is None:
            conn.execute(update(TokenRow).where(TokenRow.id == token_id).values(revoked_at=at))
        _add_audit(conn, [audit])
    found = get_token(store, token_id)
    assert found is not None
    return found


def add_audit(store: Store | Transaction, entries: Sequence[AuditEntry]) -> None:
    """Append ``entries`` to the audit log, in one transaction (or in the open one)."""
    if not entries:
        return
    from reef.results.store import connection_of

    with connection_of(store) as conn:
        _add_audit(conn, entries)


def audit_entries(store: Store, *, limit: int | None = None) -> builtins.list[AuditEntry]:
    """The audit log, newest first, at most ``limit`` entries."""
    query = f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM audit_log ORDER BY at DESC, id DESC"
    params: dict[str, Any] = {}
    if limit is not None:
        query += " LIMIT :limit"
        params["limit"] = limit
    with store._read() as reader:
        return [
            AuditEntry(
                id=int(row[0]),
                at=reader.time(row[1]),
                actor=row[2],
                action=row[3],
                target=row[4],
                client=row[5],
            )
            for row in reader.rows(query, params)
        ]


def recorded_revisions(url: str) -> builtins.list[str]:
    """The schema revisions the database at ``url`` records (none for a new database), read
    without migrating it: what ``reef server init-db`` found before it upgraded."""
    from reef.results.engine import make_engine
    from reef.results.migrate import _recorded
    from reef.results.store import _database_errors

    with _database_errors(url):
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                return _recorded(connection)
        finally:
            engine.dispose()


def _add_audit(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    from sqlalchemy import insert

    from reef.results.models import AuditRow

    conn.execute(
        insert(AuditRow),
        [
            {
                "at": e.at,
                "actor": e.actor[:255],
                "action": e.action[:64],
                "target": None if e.target is None else e.target[:255],
                "client": None if e.client is None else e.client[:255],
            }
            for e in entries
        ],
    )


def _values(token: TokenEntry) -> dict[str, Any]:
    return {name: getattr(token, name) for name in _TOKEN_COLUMNS}


def _token(reader: _Reader, row: Sequence[Any]) -> TokenEntry:
    values = list(row)
    for at in _TOKEN_TIMES:
        if values[at] is not None:
            values[at] = reader.time(values[at])
    return TokenEntry(**dict(zip(_TOKEN_COLUMNS, values, strict=True)))
