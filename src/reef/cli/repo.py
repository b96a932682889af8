"""reef repo add|list|remove|update|trust|untrust"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._common import emit_json, stderr, stdout

if TYPE_CHECKING:
    from reef.api import RepoInfo

app = typer.Typer(
    help="Manage component repositories (folders, git URLs and Reef servers).",
    no_args_is_help=True,
)

_JSON = typer.Option(False, "--json", help="print the result as JSON")


def _warn_invalid(info: RepoInfo) -> None:
    for path, problem in sorted(info.invalid.items()):
        stderr.print(f"[yellow]warning:[/yellow] {info.name}: skipped {path}: {problem}")


@app.command("add")
def add(
    location: str = typer.Argument(
        ...,
        help="a folder, a Reef server (https://HOST:PORT/), or a URL git understands (file:// too)",
    ),
    name: str | None = typer.Option(None, "--name", help="default: the folder or URL's last part"),
    trusted: bool = typer.Option(
        False, "--trusted", help="let its components run code and load pickles"
    ),
    json_out: bool = _JSON,
) -> None:
    """Add a repository: a folder is read where it is, a git URL is cloned into REEF_HOME, a
    Reef server's catalogue is mirrored there (its packs are downloaded when used)."""
    from reef import api

    info = api.repo_add(location, name=name, trusted=trusted)
    _warn_invalid(info)
    if json_out:
        emit_json(info.model_dump())
        return
    trust = "trusted" if info.trusted else "not trusted"
    stdout.print(
        f"added [bold]{info.name}[/bold] ({info.kind}, {trust}): {info.components} components"
    )


@app.command("list")
def list_repos(json_out: bool = _JSON) -> None:
    """List repositories in priority order (the first wins when two hold the same version)."""
    from rich.table import Table

    from reef import api

    infos = api.repo_list()
    if json_out:
        emit_json([i.model_dump() for i in infos])
        return
    table = Table()
    for col in ("name", "kind", "trusted", "components", "location"):
        table.add_column(col, justify="right" if col == "components" else "left")
    for i in infos:
        bad = f" ({len(i.invalid)} invalid)" if i.invalid else ""
        table.add_row(
            i.name, i.kind, "yes" if i.trusted else "no", f"{i.components}{bad}", i.location
        )
    stdout.print(table)


@app.command("remove")
def remove(
    name: str = typer.Argument(..., help="the repository's name"),
    json_out: bool = _JSON,
) -> None:
    """Forget a repository. A clone Reef made is deleted; a folder of yours is left alone."""
    from reef import api

    info = api.repo_remove(name)
    if json_out:
        emit_json(info.model_dump())
    else:
        stdout.print(f"removed [bold]{info.name}[/bold]")


@app.command("update")
def update(
    name: str | None = typer.Argument(None, help="one repository (default: all)"),
    json_out: bool = _JSON,
) -> None:
    """Pull git repositories and Reef servers' catalogues, and re-index; only changed
    manifests are read."""
    from reef import api

    infos = api.repo_update(name)
    for info in infos:
        _warn_invalid(info)
    if json_out:
        emit_json([i.model_dump() for i in infos])
        return
    for i in infos:
        stdout.print(f"{i.name}: {i.components} components ({i.parsed} manifests read)")


def _set_trust(name: str, trusted: bool, json_out: bool) -> None:
    from reef import api

    info = api.repo_trust(name, trusted)
    if json_out:
        emit_json(info.model_dump())
    else:
        stdout.print(f"{info.name} is {'trusted' if info.trusted else 'not trusted'}")


@app.command("trust")
def trust(
    name: str = typer.Argument(..., help="the repository's name"), json_out: bool = _JSON
) -> None:
    """Trust a repository: its components may run code and load pickles."""
    _set_trust(name, True, json_out)


@app.command("untrust")
def untrust(
    name: str = typer.Argument(..., help="the repository's name"), json_out: bool = _JSON
) -> None:
    """Stop trusting a repository."""
    _set_trust(name, False, json_out)
