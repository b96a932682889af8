"""Every refusal of the REST API is Reef's one error shape, ``{"error": {"code", "message",
"hint"}}``, with the status it calls for, and writes nothing: malformed JSON (422), a body
over the size limit (413, declared or streamed), bad or missing tokens (401), a scope too low
(403), too many requests (429 with Retry-After), unknown paths (404)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_support import assert_error, bearer, snapshot

from reef import api
from reef.errors import ReefError, RunNotFound
from reef.server.app import error_body, http_status


@pytest.mark.parametrize(
    "body",
    [b"{bad json", b"", b"[1, 2", b"\xff\xfe", b'{"scope": "read"', b"null"],
)
def test_malformed_json_is_422_and_writes_nothing(
    client: TestClient, tokens: dict[str, str], database: api.ServerDatabase, body: bytes
) -> None:
    before = snapshot(database)
    headers = bearer(tokens["admin"]) | {"content-type": "application/json"}
    response = client.post("/api/v1/tokens", content=body, headers=headers)
    error = assert_error(response, 422, "BadRequest")
    assert error["hint"] and "/docs" in error["hint"]
    assert snapshot(database) == before


def test_a_declared_oversized_body_is_413_and_writes_nothing(
    make_client: Any, tokens: dict[str, str], database: api.ServerDatabase
) -> None:
    small = make_client(max_body=1000)
    before = snapshot(database)
    body = b'{"scope": "read", "name": "' + b"x" * 2000 + b'"}'
    headers = bearer(tokens["admin"]) | {"content-type": "application/json"}
    response = small.post("/api/v1/tokens", content=body, headers=headers)
    error = assert_error(response, 413, "TooLarge", "1000 bytes")
    assert error["hint"]
    assert snapshot(database) == before
    # Under the limit, the same request is taken.
    ok = small.post("/api/v1/tokens", json={"scope": "read"}, headers=bearer(tokens["admin"]))
    assert ok.status_code == 201


def test_a_streamed_oversized_body_is_413_and_writes_nothing(
    make_client: Any, tokens: dict[str, str], database: api.ServerDatabase
) -> None:
    """No Content-Length (chunked): the body is counted as it is read."""
    small = make_client(max_body=1000)
    before = snapshot(database)

    def chunks() -> Iterator[bytes]:
        yield b'{"scope": "read", "name": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    headers = bearer(tokens["admin"]) | {"content-type": "application/json"}
    response = small.post("/api/v1/tokens", content=chunks(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "TooLarge")
    assert snapshot(database) == before


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer reef_nothing",
        "Bearer reef_000000000000_" + "A" * 43,
        "token-without-scheme",
    ],
)
def test_a_bad_authorization_header_is_401(
    client: TestClient, tokens: dict[str, str], database: api.ServerDatabase, header: str
) -> None:
    before = snapshot(database)
    response = client.get("/api/v1/runs", headers={"Authorization": header})
    assert_error(response, 401, "AuthError")
    assert response.headers["www-authenticate"] == "Bearer"
    response = client.post(
        "/api/v1/tokens", json={"scope": "admin"}, headers={"Authorization": header}
    )
    assert_error(response, 401, "AuthError")
    assert snapshot(database) == before


def test_expired_and_revoked_tokens_are_401(
    client: TestClient, database: api.ServerDatabase, server_url: str
) -> None:
    from databases import execute

    expired = api.token_create("admin", expires="1h", db=database)
    revoked = api.token_create("admin", db=database)
    api.token_revoke(revoked.id, db=database)
    execute(
        server_url,
        "UPDATE tokens SET expires_at = '2020-01-01 00:00:00' WHERE id = :id",
        params={"id": expired.id},
    )
    before = snapshot(database)
    for made, word in ((expired, "has expired"), (revoked, "was revoked")):
        for response in (
            client.get("/api/v1/runs", headers=bearer(made.token)),
            client.post("/api/v1/tokens", json={"scope": "read"}, headers=bearer(made.token)),
        ):
            assert_error(response, 401, "AuthError", word)
    assert snapshot(database) == before


def test_a_read_token_writing_is_403(
    client: TestClient, tokens: dict[str, str], database: api.ServerDatabase
) -> None:
    before = snapshot(database)
    response = client.post("/api/v1/tokens", json={"scope": "read"}, headers=bearer(tokens["read"]))
    error = assert_error(response, 403, "Forbidden", "scope read")
    assert error["hint"]
    assert snapshot(database) == before


def test_too_many_requests_is_429_with_retry_after(
    make_client: Any, tokens: dict[str, str]
) -> None:
    limited = make_client(rate=0.5, burst=3)
    reader = bearer(tokens["read"])
    assert [limited.get("/api/v1/runs", headers=reader).status_code for _ in range(3)] == [200] * 3
    response = limited.get("/api/v1/runs", headers=reader)
    error = assert_error(response, 429, "RateLimited", "too many requests from token")
    assert response.headers["retry-after"] == "2"
    assert error["details"] == {"retry_after": 2}
    # Each token has its own bucket, and anonymous callers one per address.
    assert limited.get("/api/v1/runs", headers=bearer(tokens["submit"])).status_code == 200
    assert limited.get("/api/v1/runs").status_code == 200


def test_guessing_tokens_is_rate_limited_by_address(make_client: Any) -> None:
    limited = make_client(rate=0.5, burst=2)
    guess = {"Authorization": "Bearer reef_000000000000_" + "A" * 43}
    assert [limited.get("/api/v1/runs", headers=guess).status_code for _ in range(2)] == [401] * 2
    assert_error(limited.get("/api/v1/runs", headers=guess), 429, "RateLimited", "address")


def test_unknown_paths_and_methods_have_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/api/v1/nothing"), 404, "NotFound")
    assert_error(client.put("/api/v1/runs"), 405, "MethodNotAllowed")


def test_an_unexpected_failure_is_500_in_the_error_shape(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("reef.api.runs_page", broken)
    app = make_client().app
    quiet = TestClient(app, raise_server_exceptions=False)
    error = assert_error(quiet.get("/api/v1/runs"), 500, "InternalError", "ZeroDivisionError")
    assert "Traceback" not in error["message"]


class RunConflict(ReefError):
    pass


class ThingTooLarge(ReefError):
    pass


class Down(ReefError):
    exit_code = 3


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ReefError("bad"), 422),
        (RunNotFound("no run"), 404),
        (RunConflict("taken"), 409),
        (ThingTooLarge("big"), 413),
        (Down("database down"), 503),
    ],
)
def test_status_by_kind_of_error(error: ReefError, status: int) -> None:
    assert http_status(error) == status
    assert error_body(error) == {
        "error": {"code": type(error).__name__, "message": error.message, "hint": None}
    }
