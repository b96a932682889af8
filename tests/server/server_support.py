"""What the server's tests share besides fixtures (tests/server/conftest.py has those):
a bearer header, the check of Reef's one error shape, and a snapshot of every table a request
could write. A module of its own name: ``from conftest import`` would find another folder's
conftest when the whole suite runs."""

from __future__ import annotations

from typing import Any

from reef import api

SCOPES = ("read", "submit", "publish", "admin")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: Any, status: int, code: str, *fragments: str) -> dict[str, Any]:
    """The response is Reef's one error shape, with this status and code, and its message
    holds each fragment."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "hint"} <= set(error), error
    assert error["code"] == code, error
    for fragment in fragments:
        assert fragment in error["message"], error
    return dict(error)


def snapshot(database: api.ServerDatabase) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a request could write: to show that one wrote nothing."""
    from sqlalchemy import text

    with database.store._engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table}"))]
            for table in ("runs", "run_latencies", "tokens", "audit_log")
        }
