"""reef token create|list|revoke: the server's API tokens, made on the server's own database
(the admin's bootstrap on the server machine; the REST API does the same with an admin
token)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._common import emit_json, stderr, stdout

if TYPE_CHECKING:
    from reef.api import TokenInfo

app = typer.Typer(
    help="Make, list and revoke the server's API tokens (on its database).",
    no_args_is_help=True,
)

_DB_HELP = (
    "the server's database, any SQLAlchemy URL [REEF_SERVER_DB_URL, else "
    "REEF_HOME/server/reef-server.db]"
)


def _when(moment: object) -> str:
    from datetime import datetime

    return f"{moment:%Y-%m-%d %H:%M} UTC" if isinstance(moment, datetime) else "never"


def _line(token: TokenInfo) -> str:
    name = f" {token.name!r}" if token.name else ""
    return (
        f"{token.id}  {token.scope:<7}  {token.state:<7}  expires {_when(token.expires_at)}{name}"
    )


@app.command("create")
def create(
    scope: str = typer.Option(..., "--scope", help="read, submit, publish or admin"),
    expires: str | None = typer.Option(
        None, "--expires", help="an age (30d, 12h, 2w), a date, or never [never]"
    ),
    name: str | None = typer.Option(None, "--name", help="what the token is for"),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="print the token and its details as JSON"),
) -> None:
    """Make a token and print it, once: only a hash of it is kept, so it cannot be shown
    again. Give it to the client as 'Authorization: Bearer <token>'."""
    from reef import api

    made = api.token_create(scope, expires=expires, name=name, db=db)
    if json_out:
        emit_json(made.model_dump(mode="json"))
        return
    stderr.print(
        f"token {made.id} ({made.scope}, expires {_when(made.expires_at)}): shown this once, "
        "keep it secret",
        markup=False,
    )
    stdout.print(made.token, markup=False, highlight=False, soft_wrap=True)


@app.command("list")
def list_tokens(
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="print the tokens as JSON"),
) -> None:
    """List the tokens: id, scope, state (active, expired, revoked), expiry and name. No
    secret is shown: none is kept."""
    from reef import api

    tokens = api.token_list(db=db)
    if json_out:
        emit_json([t.model_dump(mode="json") for t in tokens])
        return
    if not tokens:
        stderr.print("no tokens yet: reef token create --scope admin", markup=False)
        return
    for token in tokens:
        stdout.print(_line(token), markup=False, highlight=False, soft_wrap=True)


@app.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., help="the token's id (reef token list), or the token"),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="print the revoked token as JSON"),
) -> None:
    """Revoke a token: the server refuses it from now on."""
    from reef import api

    token = api.token_revoke(token_id, db=db)
    if json_out:
        emit_json(token.model_dump(mode="json"))
        return
    stderr.print(f"revoked token {token.id}", markup=False)
