"""The documentation pages served offline, the OpenAPI document, the server's database
(its default place, init-db, the upgrade on start, a newer database refused) and the rate
limiter's bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_support import assert_error

from reef import api
from reef.errors import RateLimited, ReefError
from reef.results import migrate
from reef.server.app import ServerSettings, create_app
from reef.server.limits import RateLimiter


def test_openapi_lists_the_api(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/tokens", "/api/v1/health"):
        assert path in paths
    assert "delete" in paths["/api/v1/tokens/{token_id}"]


def test_docs_without_swagger_files_is_a_plain_page_with_no_network(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/api/v1/runs" in page.text and "/openapi.json" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert "<script" not in page.text


def test_docs_serves_swagger_ui_from_local_files(
    database: api.ServerDatabase, tmp_path: Path
) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = function () {};")
    (assets / "swagger-ui.css").write_text("body {}")
    (assets / "redoc.standalone.js").write_text("window.Redoc = {};")
    client = TestClient(create_app(database, ServerSettings(docs_assets=assets)))
    page = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in page and "/docs/assets/swagger-ui.css" in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert client.get("/docs/assets/swagger-ui-bundle.js").text.startswith("window.Swagger")
    redoc = client.get("/redoc").text
    assert "/docs/assets/redoc.standalone.js" in redoc and "https://" not in redoc


def test_find_assets_needs_swagger_ui_5(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util
    from importlib.machinery import ModuleSpec

    from reef.server import docs

    old = tmp_path / "swagger_ui_bundle" / "vendor" / "swagger-ui-4.15.5"
    old.mkdir(parents=True)
    (old / "swagger-ui-bundle.js").write_text("")
    (old / "swagger-ui.css").write_text("")
    init = tmp_path / "swagger_ui_bundle" / "__init__.py"
    init.write_text("")

    def find_spec(name: str) -> ModuleSpec | None:
        if name == "swagger_ui_bundle":
            return ModuleSpec(name, None, origin=str(init))
        return None

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert docs.find_assets() is None  # Swagger UI 4 cannot read OpenAPI 3.1
    new = old.with_name("swagger-ui-5.31.0")
    new.mkdir()
    (new / "swagger-ui-bundle.js").write_text("")
    (new / "swagger-ui.css").write_text("")
    assert docs.find_assets() == new


# --- the database ----------------------------------------------------------------------------


def test_the_default_database_is_the_servers_own(
    reef_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REEF_SERVER_DB_URL", raising=False)
    monkeypatch.setenv("REEF_DB_URL", "sqlite:////elsewhere/results.db")
    assert api.server_db_url() == f"sqlite:///{reef_home / 'server' / 'reef-server.db'}"
    monkeypatch.setenv("REEF_SERVER_DB_URL", "postgresql+psycopg://u@db/reef")
    assert api.server_db_url() == "postgresql+psycopg://u@db/reef"
    assert api.server_db_url("sqlite:////x.db") == "sqlite:////x.db"


def test_init_db_creates_then_finds_the_schema(server_url: str) -> None:
    from databases import versions

    made = api.server_init_db(server_url)
    assert (made.was, made.revision, made.upgraded) == (None, migrate.HEAD, True)
    assert versions(server_url) == [migrate.HEAD]
    again = api.server_init_db(server_url)
    assert (again.was, again.upgraded) == (migrate.HEAD, False)


def test_an_older_database_is_upgraded_on_start(server_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from databases import versions

    engine = create_engine(server_url, poolclass=NullPool)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0004")
    engine.dispose()
    with api.server_open(server_url) as database:
        assert api.token_list(db=database) == []
    assert versions(server_url) == [migrate.HEAD]


def test_a_newer_database_is_refused_unchanged(server_url: str, tmp_path: Path) -> None:
    from databases import contents, execute

    api.server_init_db(server_url)
    execute(server_url, "UPDATE alembic_version SET version_num = '9999'")
    before = contents(server_url)
    for attempt in (api.server_init_db, api.server_open):
        with pytest.raises(ReefError, match="schema revision '9999'") as info:
            attempt(server_url)
        assert info.value.exit_code == 2
        assert info.value.hint is not None and "newer Reef" in info.value.hint
    assert contents(server_url) == before


def test_reef_server_refuses_a_newer_database(server_url: str, tmp_path: Path) -> None:
    from cli_support import InProcessReef

    from databases import execute

    api.server_init_db(server_url)
    execute(server_url, "UPDATE alembic_version SET version_num = '9999'")
    work = tmp_path / "work"
    work.mkdir()
    cli = InProcessReef(tmp_path / "home", work)
    for args in (["server", "--db", server_url], ["server", "init-db", "--db", server_url]):
        result = cli(*args)
        assert result.rc == 2, result.stderr
        assert "schema revision '9999'" in result.stderr and "Traceback" not in result.stderr


def test_reef_server_init_db_says_what_it_did(tmp_path: Path) -> None:
    from cli_support import InProcessReef

    work = tmp_path / "work"
    work.mkdir()
    cli = InProcessReef(tmp_path / "home", work)
    first = cli("server", "init-db")
    assert first.rc == 0 and f"created at schema revision {migrate.HEAD}" in first.stderr
    assert (tmp_path / "home" / "server" / "reef-server.db").is_file()
    again = cli("server", "init-db", "--json").json()
    assert again["was"] == migrate.HEAD and again["upgraded"] is False


# --- the rate limiter ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=4, clock=clock)
    for _ in range(4):
        limiter.take("a", "a")
    with pytest.raises(RateLimited) as info:
        limiter.take("a", "a")
    assert info.value.retry_after == 1
    limiter.take("b", "b")  # another key, another bucket
    clock.now += 0.5  # one request's worth
    limiter.take("a", "a")
    with pytest.raises(RateLimited):
        limiter.take("a", "a")
    clock.now += 100  # never more than the burst
    for _ in range(4):
        limiter.take("a", "a")
    with pytest.raises(RateLimited):
        limiter.take("a", "a")


def test_rate_zero_is_no_limit() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    for _ in range(1000):
        limiter.take("a", "a")


def test_anonymous_reads_can_be_turned_off(make_client: Any) -> None:
    assert make_client().get("/api/v1/runs").status_code == 200
    assert_error(make_client(anonymous_reads=False).get("/api/v1/runs"), 401, "AuthError")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--log-level", "loud"], "'loud' is not one of"),
        (["--host", "no.such.host.invalid"], "--host"),
        (["--port", "70000"], "--port"),
        (["--rate-limit", "-1"], "--rate-limit"),
    ],
)
def test_reef_server_bad_options_exit_2_and_create_nothing(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    from cli_support import InProcessReef

    work = tmp_path / "work"
    work.mkdir()
    cli = InProcessReef(tmp_path / "home", work)
    result = cli("server", *args)
    assert result.rc == 2 and fragment in result.stderr, result.stderr
    assert not (tmp_path / "home" / "server").exists()


def test_reef_server_refuses_a_port_in_use(tmp_path: Path) -> None:
    import socket

    from cli_support import InProcessReef

    work = tmp_path / "work"
    work.mkdir()
    cli = InProcessReef(tmp_path / "home", work)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("server", "--port", str(port))
    assert result.rc == 2 and "Address already in use" in result.stderr
    assert not (tmp_path / "home" / "server").exists()
