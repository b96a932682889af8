"""reef env diff A B"""

from __future__ import annotations

import typer

from reef.cli._common import emit_json, stdout

app = typer.Typer(help="Environment fingerprints: compare them.", no_args_is_help=True)


def _short(value: object) -> str:
    return "-" if value is None else str(value)


@app.command("diff")
def diff(
    a: str = typer.Argument(..., help="a run id (or unique prefix) or a fingerprint file"),
    b: str = typer.Argument(..., help="a run id (or unique prefix) or a fingerprint file"),
    volatile: bool = typer.Option(
        False, "--volatile", help="also compare volatile facts (free memory, paths)"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the differences as JSON"),
) -> None:
    """Show what differs between two environments, grouped as hardware, OS and software."""
    from rich.table import Table

    from reef.api.environment import env_diff

    result = env_diff(a, b, volatile=volatile)
    if json_out:
        emit_json(result.model_dump())
        return
    if result.identical:
        stdout.print(f"identical environments (fingerprint {_short(result.a_hash)[:16]})")
        return
    table = Table(title=f"{result.a}  vs  {result.b}", title_justify="left")
    for col in ("group", "fact", "A", "B"):
        table.add_column(col, overflow="fold")
    for d in result.differences:
        table.add_row(d.group, d.key, _short(d.a), _short(d.b))
    stdout.print(table)
