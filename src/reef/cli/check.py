"""reef check PATH / reef schema KIND"""

from __future__ import annotations

from pathlib import Path

import typer

from reef.cli._common import emit_json, stderr, stdout


def check(
    path: Path = typer.Argument(..., help="a component folder or its reef.yaml"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Validate a manifest: schema, steps, metric, files and checksums, model signature."""
    from reef import api

    result = api.check(path)
    if json_out:
        emit_json(result.model_dump() | {"ok": True})
    else:
        stdout.print(
            f"[green]ok[/green] {result.kind} {result.name}@{result.version} "
            f"({', '.join(result.checks)} checked)"
        )
        for note in result.skipped:
            stderr.print(f"[yellow]not checked:[/yellow] {note}")


def schema(
    kind: str = typer.Argument(
        ...,
        help="component, model, dataset, solution, program, detector, lock, run or settings",
    ),
    json_out: bool = typer.Option(True, "--json", help="JSON is the only format"),
) -> None:
    """Print the JSON Schema of a component kind, the lock file or the run record."""
    from reef import api

    emit_json(api.schema(kind))
