"""reef env diff A B"""

from __future__ import annotations

import typer

from reef.cli._common import emit_json, stdout

app = typer.Typer(
    help="This machine as a place to benchmark: check it for noise; compare fingerprints.",
    no_args_is_help=True,
)


@app.command("check")
def check(
    json_out: bool = typer.Option(False, "--json", help="print the checks as JSON"),
) -> None:
    """Say what makes this machine noisy for benchmarking and what to change: other busy
    processes, steal time, the CPU governor, turbo, SMT siblings, swap, battery power.

    Changes nothing. Exits 0 either way: a run on a noisy machine is measured and marked
    busy, and compare and reproduce call its verdicts inconclusive.
    """
    from rich.markup import escape
    from rich.table import Table

    from reef.api.environment import env_check

    report = env_check()
    if json_out:
        emit_json(report.model_dump())
        return
    table = Table(title="benchmarking noise on this machine", title_justify="left")
    for col in ("check", "", "found", "what to do"):
        table.add_column(col, overflow="fold")
    marks = {"ok": "[green]ok[/green]", "warning": "[yellow]warn[/yellow]", "unknown": "?"}
    for c in report.checks:
        table.add_row(c.name, marks[c.status], escape(c.found), escape(c.advice or ""))
    stdout.print(table)
    if not report.noisy:
        stdout.print("nothing found that makes this machine noisy")


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
