"""reef plugins: each entry-point group's entries, where they came from, and whether they load."""

from __future__ import annotations

import typer

from reef.cli._common import emit_json, stderr, stdout

_STATUS = {"ok": "[green]ok[/green]", "error": "[red]error[/red]", "not loaded": "-"}


def plugins(
    json_out: bool = typer.Option(False, "--json", help="print the list as JSON"),
) -> None:
    """List the predictors, steps, metrics, detectors and checks: built-in or from which
    package, and whether each loads (each is imported to find out).

    A plugin with a built-in's name is not used: it is listed as shadowed. A plugin that
    cannot be loaded is listed with its error; the command still exits 0.
    """
    from rich.markup import escape
    from rich.table import Table

    from reef.api import plugins as list_plugins

    report = list_plugins()
    if json_out:
        emit_json(report.model_dump())
        return
    table = Table()
    for column in ("group", "name", "source", "status"):
        table.add_column(column, overflow="fold")
    for group in report.groups:
        for e in group.entries:
            if e.status == "shadowed":
                status = f"[yellow]shadowed[/yellow] by {escape(e.shadowed_by or '?')}"
            else:
                status = _STATUS[e.status]
            table.add_row(group.group, escape(e.name), escape(e.source), status)
    stdout.print(table)
    for group in report.groups:
        for e in group.entries:
            if e.status == "error":
                stderr.print(f"[red]error:[/red] {escape(e.error or '')}")
                if e.hint:
                    stderr.print(f"[dim]hint:[/dim] {escape(e.hint)}")
