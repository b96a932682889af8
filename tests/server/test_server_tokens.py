"""Tokens: made by `reef token create` on the server's database or by an admin over REST,
shown once and stored only as a hash, listed without secrets, revoked, expiring; the audit
log records each write. Scopes: read < submit < publish < admin."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_support import assert_error, bearer, snapshot

from reef import api
from reef.errors import AuthError, Forbidden, TokenError, TokenNotFound


def secret_of(token: str) -> str:
    """The secret part of ``reef_<12 hex digits>_<secret>`` (base64url: it may hold ``_``)."""
    assert token[:5] == "reef_" and token[17] == "_"
    return token[18:]


def stored_text(database: api.ServerDatabase) -> str:
    """Every value of every table of the database, as one text."""
    return repr(snapshot(database))


def test_the_plain_token_is_never_stored(database: api.ServerDatabase) -> None:
    made = api.token_create("admin", name="root", db=database)
    secret = secret_of(made.token)
    text = stored_text(database)
    assert made.token not in text and secret not in text
    (row,) = snapshot(database)["tokens"]
    assert made.id in row
    # What is kept is the SHA-256 of the secret's 32 random bytes.
    import base64

    raw = base64.urlsafe_b64decode(secret + "=")
    assert len(raw) == 32
    assert hashlib.sha256(raw).hexdigest() in row


def test_a_made_token_authenticates_with_its_scope(database: api.ServerDatabase) -> None:
    made = api.token_create("submit", expires="30d", name="ci", db=database)
    assert made.token.startswith(f"reef_{made.id}_")
    info = api.token_authenticate(made.token, db=database)
    assert (info.id, info.scope, info.name, info.state) == (made.id, "submit", "ci", "active")
    assert info.expires_at is not None
    assert abs(info.expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    api.token_require(info, "read")
    api.token_require(info, "submit")
    with pytest.raises(Forbidden, match="scope submit; this needs publish"):
        api.token_require(info, "publish")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        "reef_000000000000_" + "A" * 43,  # no such id
        "reef_zz_" + "A" * 43,
    ],
)
def test_an_unknown_or_malformed_token_is_refused(database: api.ServerDatabase, token: str) -> None:
    api.token_create("admin", db=database)
    with pytest.raises(AuthError):
        api.token_authenticate(token, db=database)


def test_a_wrong_secret_is_refused(database: api.ServerDatabase) -> None:
    made = api.token_create("admin", db=database)
    forged = made.token[:-5] + ("AAAAA" if not made.token.endswith("AAAAA") else "BBBBB")
    with pytest.raises(AuthError, match="unknown token"):
        api.token_authenticate(forged, db=database)


def test_only_the_one_spelling_of_a_secret_is_its_token(database: api.ServerDatabase) -> None:
    """The secret's last base64 character carries 4 of the 256 bits: its 2 low bits must
    not give other spellings of the same token."""
    made = api.token_create("admin", db=database)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(made.token[-1])
    for other in (alphabet[last ^ bit] for bit in (1, 2, 3)):
        with pytest.raises(AuthError, match="unknown token"):
            api.token_authenticate(made.token[:-1] + other, db=database)
    assert api.token_authenticate(made.token, db=database).id == made.id


def test_list_shows_no_secret(database: api.ServerDatabase) -> None:
    made = api.token_create("read", name="dash", db=database)
    (listed,) = api.token_list(db=database)
    dumped = listed.model_dump_json()
    assert listed.id == made.id and listed.state == "active"
    assert "token" not in listed.model_dump() and secret_of(made.token) not in dumped
    assert "sha256" not in dumped


def test_revoke_works_and_is_audited(database: api.ServerDatabase) -> None:
    made = api.token_create("submit", db=database)
    revoked = api.token_revoke(made.id, db=database)
    assert revoked.state == "revoked" and revoked.revoked_at is not None
    with pytest.raises(AuthError, match="was revoked"):
        api.token_authenticate(made.token, db=database)
    # By the whole token too; again changes nothing but the log.
    assert api.token_revoke(made.token, db=database).revoked_at == revoked.revoked_at
    actions = [(e.action, e.target) for e in api.audit_log(db=database)]
    assert actions == [
        ("token.revoke", made.id),
        ("token.revoke", made.id),
        ("token.create", made.id),
    ]
    with pytest.raises(TokenNotFound):
        api.token_revoke("000000000000", db=database)


def test_an_expired_token_is_refused(database: api.ServerDatabase, server_url: str) -> None:
    from databases import execute

    made = api.token_create("admin", expires="1h", db=database)
    execute(
        server_url,
        "UPDATE tokens SET expires_at = :at",
        params={"at": datetime(2020, 1, 1)},
    )
    with pytest.raises(AuthError, match="has expired"):
        api.token_authenticate(made.token, db=database)
    assert api.token_list(db=database)[0].state == "expired"


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90m", timedelta(minutes=90)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_expiry_ages(text: str, delta: timedelta) -> None:
    from reef.api.tokens import parse_expiry

    now = datetime(2026, 1, 1)
    assert parse_expiry(text, now=now) == now + delta


def test_expiry_dates_and_never() -> None:
    from reef.api.tokens import parse_expiry

    now = datetime(2026, 1, 1)
    assert parse_expiry("2027-03-01", now=now) == datetime(2027, 3, 1)
    assert parse_expiry("2027-03-01T12:00+02:00", now=now) == datetime(2027, 3, 1, 10)
    assert parse_expiry("never", now=now) is None
    assert parse_expiry(None, now=now) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("30", "cannot read '30'"),
        ("soon", "cannot read 'soon'"),
        ("-1d", "cannot read '-1d'"),
        ("0d", "not in the future"),
        ("2020-01-01", "not in the future"),
        ("99999999999999d", "too far away"),
    ],
)
def test_bad_expiry_is_refused_and_nothing_is_written(
    database: api.ServerDatabase, text: str, fragment: str
) -> None:
    before = snapshot(database)
    with pytest.raises(TokenError, match=fragment) as info:
        api.token_create("read", expires=text, db=database)
    assert info.value.exit_code == 2
    assert snapshot(database) == before


@pytest.mark.parametrize(
    ("scope", "name", "fragment"),
    [
        ("root", None, "unknown scope 'root'"),
        ("read", "", "empty name"),
        ("read", "x" * 300, "255"),
    ],
)
def test_bad_scope_or_name_is_refused(
    database: api.ServerDatabase, scope: str, name: str | None, fragment: str
) -> None:
    before = snapshot(database)
    with pytest.raises(TokenError, match=fragment):
        api.token_create(scope, name=name, db=database)
    assert snapshot(database) == before


# --- over REST -------------------------------------------------------------------------------


def test_admin_makes_lists_and_revokes_tokens(
    client: TestClient, tokens: dict[str, str], database: api.ServerDatabase
) -> None:
    admin = bearer(tokens["admin"])
    response = client.post(
        "/api/v1/tokens", json={"scope": "submit", "expires": "12h", "name": "ci"}, headers=admin
    )
    assert response.status_code == 201
    made = response.json()
    assert made["scope"] == "submit" and made["token"].startswith("reef_")
    assert made["token"] not in stored_text(database)
    listed = client.get("/api/v1/tokens", headers=admin).json()
    assert made["id"] in [t["id"] for t in listed]
    assert all("token" not in t for t in listed)
    assert made["token"] not in client.get("/api/v1/tokens", headers=admin).text
    revoked = client.delete(f"/api/v1/tokens/{made['id']}", headers=admin).json()
    assert revoked["state"] == "revoked"
    assert_error(
        client.get("/api/v1/runs", headers=bearer(made["token"])), 401, "AuthError", "revoked"
    )
    log = client.get("/api/v1/audit", headers=admin).json()
    admin_id = tokens["admin"].split("_")[1]
    assert [(e["action"], e["target"]) for e in log[:2]] == [
        ("token.revoke", made["id"]),
        ("token.create", made["id"]),
    ]
    assert log[0]["actor"] == f"token {admin_id} (admin)" and log[0]["client"] == "testclient"


@pytest.mark.parametrize("scope", ["read", "submit", "publish"])
def test_token_endpoints_are_for_admins(
    client: TestClient, tokens: dict[str, str], database: api.ServerDatabase, scope: str
) -> None:
    before = snapshot(database)
    headers = bearer(tokens[scope])
    for response in (
        client.post("/api/v1/tokens", json={"scope": "admin"}, headers=headers),
        client.get("/api/v1/tokens", headers=headers),
        client.delete(f"/api/v1/tokens/{tokens['admin'].split('_')[1]}", headers=headers),
        client.get("/api/v1/audit", headers=headers),
    ):
        assert_error(response, 403, "Forbidden", f"scope {scope}; this needs admin")
    assert snapshot(database) == before


def test_token_endpoints_need_a_token(client: TestClient, database: api.ServerDatabase) -> None:
    before = snapshot(database)
    assert_error(client.post("/api/v1/tokens", json={"scope": "admin"}), 401, "AuthError")
    assert_error(client.get("/api/v1/tokens"), 401, "AuthError")
    assert snapshot(database) == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"scope": "root"}, "scope"),
        ({}, "scope"),
        ({"scope": "read", "colour": "blue"}, "colour"),
        ({"scope": "read", "expires": "soon"}, "cannot read 'soon'"),
        ({"scope": "read", "expires": 30}, "expires"),
    ],
)
def test_bad_token_requests_are_422_and_write_nothing(
    client: TestClient,
    tokens: dict[str, str],
    database: api.ServerDatabase,
    body: dict[str, Any],
    fragment: str,
) -> None:
    before = snapshot(database)
    response = client.post("/api/v1/tokens", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]
    assert snapshot(database) == before


def test_revoking_an_unknown_token_is_404(
    client: TestClient, tokens: dict[str, str], database: api.ServerDatabase
) -> None:
    before = snapshot(database)
    assert_error(
        client.delete("/api/v1/tokens/000000000000", headers=bearer(tokens["admin"])),
        404,
        "TokenNotFound",
    )
    assert snapshot(database) == before


# --- reef token ------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    from cli_support import InProcessReef

    work = tmp_path / "work"
    work.mkdir()
    return InProcessReef(tmp_path / "home", work)


def test_reef_token_create_list_revoke(cli: Any, server_url: str, database: Any) -> None:
    made = cli("token", "create", "--scope", "publish", "--expires", "30d", "--name", "bot",
               "--db", server_url)  # fmt: skip
    assert made.rc == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("reef_") and len(made.stdout.splitlines()) == 1
    assert "shown this once" in made.stderr
    assert token not in stored_text(database)
    listed = cli("token", "list", "--db", server_url)
    token_id = token.split("_")[1]
    assert token_id in listed.stdout and "publish" in listed.stdout and "'bot'" in listed.stdout
    assert secret_of(token) not in listed.stdout
    as_json = cli("token", "list", "--db", server_url, "--json").json()
    assert [t["id"] for t in as_json] == [token_id] and "token" not in as_json[0]
    assert cli("token", "revoke", token_id, "--db", server_url).rc == 0
    assert cli("token", "list", "--db", server_url, "--json").json()[0]["state"] == "revoked"
    log = api.audit_log(db=database)
    assert [e.action for e in log] == ["token.revoke", "token.create"]
    assert log[0].actor == "local admin (reef token)"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--scope", "root"], "unknown scope 'root'"),
        (["--scope", "read", "--expires", "10x"], "cannot read '10x'"),
        (["--scope", "read", "--expires", "2001-01-01"], "not in the future"),
    ],
)
def test_reef_token_create_bad_input_exits_2_and_writes_nothing(
    cli: Any, server_url: str, database: Any, args: list[str], fragment: str
) -> None:
    before = snapshot(database)
    result = cli("token", "create", *args, "--db", server_url)
    assert result.rc == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert snapshot(database) == before
    as_json = cli("token", "create", *args, "--db", server_url, "--json")
    assert as_json.rc == 2 and as_json.json()["error"] == "TokenError"


def test_reef_token_revoke_unknown_is_exit_2(cli: Any, server_url: str, database: Any) -> None:
    result = cli("token", "revoke", "000000000000", "--db", server_url)
    assert result.rc == 2 and "no token has id" in result.stderr


def test_reef_token_uses_the_server_database_by_default(cli: Any) -> None:
    """Without --db: REEF_HOME/server/reef-server.db, not the user's results database."""
    assert cli("token", "create", "--scope", "read").rc == 0
    assert (cli.home / "server" / "reef-server.db").is_file()
    assert not (cli.home / "reef.db").exists()
