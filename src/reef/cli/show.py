"""reef show NAME[@VERSION]"""

from __future__ import annotations

import typer
from rich.markup import escape

from reef.cli._common import emit_json, stderr, stdout


def show(
    ref: str = typer.Argument(..., help="a component: name, name@version or name@constraint"),
    json_out: bool = typer.Option(False, "--json", help="print the manifest as JSON"),
) -> None:
    """Show a component's manifest and the absolute paths of its files."""
    import yaml

    from reef import api

    data = api.show(ref).model_dump(mode="json")
    for shadow in data.get("shadows", []):
        stderr.print(f"[yellow]warning:[/yellow] {escape(shadow['message'])}", markup=True)
    if json_out:
        emit_json(data)
    else:
        stdout.print(yaml.safe_dump(data, sort_keys=False).rstrip(), markup=False)
