"""reef search / reef new"""

from __future__ import annotations

from pathlib import Path

import typer

from reef.cli._common import emit_json, stderr, stdout


def search(
    text: str | None = typer.Argument(None, help="words to find in names, descriptions, tags"),
    kind: str | None = typer.Option(
        None, "--kind", help="model, dataset, solution, program or detector"
    ),
    tag: list[str] = typer.Option([], "--tag", help="only components with this tag (repeatable)"),
    json_out: bool = typer.Option(False, "--json", help="print the hits as JSON"),
) -> None:
    """Find components in every repository by text, kind and tags."""
    from rich.table import Table

    from reef import api

    hits = [h.model_dump(mode="json") for h in api.search(text, kind=kind, tags=tag)]
    if json_out:
        emit_json(hits)
        return
    if not hits:
        stderr.print("no components match")
        return
    table = Table()
    for col in ("name", "version", "kind", "repository", "description"):
        table.add_column(col, overflow="fold" if col == "description" else "ellipsis")
    for h in hits:
        description = h["description"]
        short = description if len(description) <= 70 else description[:69] + "…"
        table.add_row(h["name"], h["version"], h["kind"], h["repository"], short)
    stdout.print(table)


def new(
    kind: str = typer.Argument(..., help="model, dataset, solution, program or detector"),
    name: str = typer.Argument(..., help="the component's name (lower-case, digits, . _ -)"),
    directory: Path = typer.Option(Path("."), "--dir", help="where to create the folder"),
    version: str = typer.Option("0.1.0", "--version", help="its first version (semver)"),
    source: Path | None = typer.Option(
        None,
        "--from",
        metavar="FILE",
        help="a model: copy this model file in and describe its inputs and outputs as "
        "`reef bench FILE` would feed them",
    ),
    json_out: bool = typer.Option(False, "--json", help="print the new manifest's path as JSON"),
) -> None:
    """Scaffold a component folder that `reef check` accepts."""
    from reef import api

    path = api.new(kind, name, directory, version=version, source=source)
    if json_out:
        emit_json({"path": str(path.resolve()), "kind": kind, "name": name, "version": version})
    else:
        stdout.print(f"created {path}; check it with [bold]reef check {path.parent}[/bold]")
