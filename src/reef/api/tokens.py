"""API tokens of the server, and its audit log: the verbs ``reef token`` and the server's
REST API share.

A token is ``reef_<id>_<secret>``: a public id (12 hex digits, what ``reef token list``
shows and ``revoke`` takes) and a secret of 32 random bytes (base64url). The token is shown
once, when it is made; the database keeps the SHA-256 of the secret, and a token presented
is checked by id, then by comparing that hash in constant time. Scopes are ordered
``read < submit < publish < admin``: a token may do what its scope and every lower one
allow. Every write (a token made or revoked, a run submitted) goes to the audit log with
who made it, when, its target and the client's address.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from reef.api.server import ServerDatabase, opened
from reef.errors import AuthError, Forbidden, TokenError

SCOPES = ("read", "submit", "publish", "admin")
Scope = Literal["read", "submit", "publish", "admin"]
TOKEN_PREFIX = "reef_"
SECRET_BYTES = 32
MAX_NAME = 255
# Who made a write on the server's machine itself, with `reef token`.
LOCAL_ADMIN = "local admin (reef token)"

_AGE = re.compile(r"(\d+)([smhdw])")
_AGES = re.compile(r"(?:\d+[smhdw])+")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TOKEN = re.compile(r"reef_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
# Compared against when a token's id is unknown, so that an unknown id takes as long.
_DUMMY_HASH = hashlib.sha256(b"\0" * SECRET_BYTES).hexdigest()


class TokenInfo(BaseModel):
    """A token as listed: never its secret. Times are UTC; ``expires_at`` None means it does
    not expire. ``state`` is ``active``, ``expired`` or ``revoked``."""

    id: str
    name: str | None
    scope: Scope
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    state: Literal["active", "expired", "revoked"]


class NewToken(TokenInfo):
    """A token just made, with ``token``: the whole token, shown this once and stored
    nowhere (only a hash of its secret is kept)."""

    token: str


class AuditEvent(BaseModel):
    """One write recorded in the audit log: when (UTC), who (a token's id and name, or the
    local admin), what (``token.create``, ``token.revoke``, ``runs.submit``), its target's id
    and the client's address."""

    at: datetime
    actor: str
    action: str
    target: str | None
    client: str | None


def scope_allows(scope: str, needed: str) -> bool:
    """Whether a token of ``scope`` may do what needs ``needed``."""
    return SCOPES.index(scope) >= SCOPES.index(needed)


def _scope(scope: str) -> Scope:
    value = scope.strip().lower()
    if value not in SCOPES:
        raise TokenError(
            f"--scope: unknown scope {scope!r}",
            hint="choose read, submit, publish or admin (each allows what the ones before it do)",
        )
    return value  # type: ignore[return-value]


def parse_expiry(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """When a token given ``--expires text`` expires, as naive UTC: an age from ``now``
    (``30d``, ``12h``, ``2w``, ``1d12h``), a date or ISO time, or None for ``never`` (and
    for no text). Anything else, or a moment not in the future, is a ``TokenError``."""
    if text is None or text.strip().lower() in ("never", "none"):
        return None
    now = _naive(now or datetime.now(UTC))
    value = text.strip().lower()
    if _AGES.fullmatch(value):
        delta = timedelta()
        for amount, unit in _AGE.findall(value):
            try:
                delta += timedelta(**{_UNITS[unit]: int(amount)})
            except OverflowError as exc:
                raise TokenError(f"--expires: {text!r} is too far away") from exc
        try:
            moment = now + delta
        except OverflowError as exc:
            raise TokenError(f"--expires: {text!r} is too far away") from exc
    else:
        try:
            moment = _naive(datetime.fromisoformat(text.strip()))
        except ValueError as exc:
            raise TokenError(
                f"--expires: cannot read {text!r} as an age or a date",
                hint="write an age such as 30d, 12h, 2w or 1d12h, a date such as 2027-01-31, "
                "or never",
            ) from exc
    if moment <= now:
        raise TokenError(
            f"--expires: {text!r} is not in the future", hint="give an age such as 30d, or never"
        )
    return moment


def _naive(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def _info(entry: object, now: datetime | None = None) -> TokenInfo:
    from reef.results.tokens import TokenEntry

    assert isinstance(entry, TokenEntry)
    now = _naive(now or datetime.now(UTC))
    if entry.revoked_at is not None:
        state: Literal["active", "expired", "revoked"] = "revoked"
    elif entry.expires_at is not None and entry.expires_at <= now:
        state = "expired"
    else:
        state = "active"
    return TokenInfo(
        id=entry.id,
        name=entry.name,
        scope=_scope(entry.scope),
        created_at=entry.created_at.replace(tzinfo=UTC),
        created_by=entry.created_by,
        expires_at=_utc(entry.expires_at),
        revoked_at=_utc(entry.revoked_at),
        state=state,
    )


def _secret_hash(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def token_actor(token: TokenInfo | None) -> str:
    """How the audit log names whoever used ``token``."""
    if token is None:
        return "anonymous"
    return f"token {token.id}" + (f" ({token.name})" if token.name else "")


def token_create(
    scope: str,
    *,
    expires: str | None = None,
    name: str | None = None,
    db: str | ServerDatabase | None = None,
    actor: str = LOCAL_ADMIN,
    client: str | None = None,
) -> NewToken:
    """Make a token of ``scope`` (read, submit, publish or admin), expiring after
    ``expires`` (``30d``, ``12h``, a date; None: never), named ``name``, in the server's
    database ``db``. The returned ``NewToken.token`` is the only copy of the token. Bad input
    raises ``TokenError`` before anything is written; the audit log records who made it."""
    from reef.results.tokens import AuditEntry, TokenEntry, add_token

    chosen = _scope(scope)
    now = _naive(datetime.now(UTC))
    expires_at = parse_expiry(expires, now=now)
    if name is not None:
        name = name.strip()
        if not name:
            raise TokenError("--name: empty name", hint="give a name, or leave --name out")
        if len(name) > MAX_NAME or not name.isprintable():
            raise TokenError(f"--name: must be at most {MAX_NAME} printable characters")
    token_id = secrets.token_hex(6)
    secret = secrets.token_bytes(SECRET_BYTES)
    text = TOKEN_PREFIX + token_id + "_" + base64.urlsafe_b64encode(secret).decode().rstrip("=")
    entry = TokenEntry(
        id=token_id,
        name=name,
        scope=chosen,
        secret_sha256=_secret_hash(secret),
        created_at=now,
        created_by=actor,
        expires_at=expires_at,
        revoked_at=None,
    )
    audit = AuditEntry(at=now, actor=actor, action="token.create", target=token_id, client=client)
    with opened(db) as database:
        add_token(database.store, entry, audit)
    return NewToken(**_info(entry, now).model_dump(), token=text)


def token_list(*, db: str | ServerDatabase | None = None) -> list[TokenInfo]:
    """Every token of the server's database, oldest first, without secrets (there are none
    to show: only their hashes are kept, and those are not shown either)."""
    from reef.results.tokens import list_tokens

    with opened(db) as database:
        return [_info(entry) for entry in list_tokens(database.store)]


def token_revoke(
    token_id: str,
    *,
    db: str | ServerDatabase | None = None,
    actor: str = LOCAL_ADMIN,
    client: str | None = None,
) -> TokenInfo:
    """Revoke the token ``token_id`` (its id, as ``token_list`` shows it, or the whole
    token): from now on it is refused (HTTP 401). ``TokenNotFound`` if there is none;
    revoking a revoked token changes nothing but the audit log."""
    from reef.results.tokens import AuditEntry, revoke_token

    wanted = token_id.strip()
    whole = _TOKEN.fullmatch(wanted)
    if whole:
        wanted = whole.group(1)
    now = _naive(datetime.now(UTC))
    audit = AuditEntry(at=now, actor=actor, action="token.revoke", target=wanted, client=client)
    with opened(db) as database:
        return _info(revoke_token(database.store, wanted, now, audit), now)


def token_authenticate(token: str, *, db: str | ServerDatabase | None = None) -> TokenInfo:
    """The token ``token`` names, if it is one of the server's and is active; else
    ``AuthError`` (HTTP 401): malformed, unknown, wrong secret, expired or revoked."""
    from reef.results.tokens import get_token

    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        raise AuthError(
            "the token is not a Reef token",
            hint="send Authorization: Bearer reef_..., as `reef token create` printed it",
        )
    token_id, encoded = match.groups()
    try:
        secret = base64.urlsafe_b64decode(encoded + "=")
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the pattern admits none
        raise AuthError("the token is not a Reef token") from exc
    if base64.urlsafe_b64encode(secret).decode().rstrip("=") != encoded:
        # The last character carries 4 bits: only the one spelling of a secret is its token.
        raise AuthError("unknown token", hint="ask the server's admin for a token")
    with opened(db) as database:
        entry = get_token(database.store, token_id)
    stored = entry.secret_sha256 if entry is not None else _DUMMY_HASH
    same = hmac.compare_digest(stored.encode(), _secret_hash(secret).encode())
    if entry is None or not same:
        raise AuthError("unknown token", hint="ask the server's admin for a token")
    info = _info(entry)
    if info.state == "revoked":
        raise AuthError(
            f"token {token_id} was revoked", hint="ask the server's admin for a new one"
        )
    if info.state == "expired":
        raise AuthError(
            f"token {token_id} has expired", hint="ask the server's admin for a new one"
        )
    return info


def token_require(token: TokenInfo | None, needed: str, *, anonymous: bool = False) -> None:
    """Refuse what needs scope ``needed`` to ``token``: ``AuthError`` (401) without a token
    (unless ``anonymous`` allows it), ``Forbidden`` (403) when its scope is lower."""
    if token is None:
        if anonymous:
            return
        raise AuthError(
            f"this needs a token of scope {needed} or above",
            hint="send Authorization: Bearer <token>; `reef token create` makes one",
        )
    if not scope_allows(token.scope, needed):
        raise Forbidden(
            f"token {token.id} has scope {token.scope}; this needs {needed} or above",
            hint=f"ask the server's admin for a token of scope {needed}",
        )


def audit_record(
    action: str,
    targets: Sequence[str | None],
    *,
    actor: str,
    client: str | None = None,
    db: str | ServerDatabase | None = None,
) -> None:
    """Record in the audit log that ``actor`` (from ``client``) did ``action`` to each of
    ``targets`` (ids), now: one entry per target, in one transaction."""
    from reef.results.tokens import AuditEntry, add_audit

    now = _naive(datetime.now(UTC))
    entries = [AuditEntry(now, actor, action, target, client) for target in targets]
    with opened(db) as database:
        add_audit(database.store, entries)


def audit_log(
    *, limit: int | None = 100, db: str | ServerDatabase | None = None
) -> list[AuditEvent]:
    """The audit log of the server's database, newest first, at most ``limit`` entries."""
    from reef.results.tokens import audit_entries

    if limit is not None and limit < 1:
        raise TokenError(f"limit: must be 1 or more, not {limit}")
    with opened(db) as database:
        return [
            AuditEvent(
                at=e.at.replace(tzinfo=UTC),
                actor=e.actor,
                action=e.action,
                target=e.target,
                client=e.client,
            )
            for e in audit_entries(database.store, limit=limit)
        ]
