"""Fixtures for the server's tests: a real server database, the real FastAPI application over
it, spoken to over HTTP by FastAPI's TestClient (httpx), and tokens of every scope."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The in-process `reef` of tests/cli, and the Result it shares with tests/e2e.
for _folder in ("e2e", "cli"):
    _path = str(Path(__file__).resolve().parents[1] / _folder)
    if _path not in sys.path:
        sys.path.append(_path)

pytest.importorskip("fastapi", reason="the server needs reef-bench[server]")

from fastapi.testclient import TestClient  # noqa: E402
from server_support import SCOPES  # noqa: E402

from reef import api  # noqa: E402
from reef.server.app import ServerSettings, create_app  # noqa: E402


@pytest.fixture
def server_url(db_url: str) -> str:
    """The server database's URL: SQLite, and PostgreSQL where it runs (tests/databases.py)."""
    return db_url


@pytest.fixture
def database(server_url: str) -> Iterator[api.ServerDatabase]:
    with api.server_open(server_url) as db:
        yield db


@pytest.fixture
def make_client(database: api.ServerDatabase) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)``: a client of a new application over ``database``."""
    made: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        settings.setdefault("docs_assets", False)
        client = TestClient(create_app(database, ServerSettings(**settings)))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def tokens(database: api.ServerDatabase) -> dict[str, str]:
    """A token of each scope, by scope."""
    return {scope: api.token_create(scope, name=scope, db=database).token for scope in SCOPES}
