"""reef config show: the settings in effect and where each came from."""

from __future__ import annotations

import typer

from reef.cli._common import emit_json, stdout

app = typer.Typer(help="Reef's settings: what is in effect, and from where.", no_args_is_help=True)


@app.command("show")
def show(json_out: bool = typer.Option(False, "--json", help="print the settings as JSON")) -> None:
    """Print every setting's value and its source: environment, config file or default."""
    from rich.table import Table

    from reef.api.config import config_show

    report = config_show()
    if json_out:
        emit_json(report.model_dump())
        return
    exists = "" if report.config_file_exists else " (not there: defaults apply)"
    stdout.print(f"config file: {report.config_file}{exists}", markup=False)
    stdout.print(f"home:        {report.home}", markup=False)
    stdout.print(f"cache:       {report.cache}", markup=False)
    table = Table()
    for column in ("setting", "value", "source", "variable"):
        table.add_column(column, overflow="fold")
    for s in report.settings:
        value = "-" if s.value is None else str(s.value)
        table.add_row(s.key, value, s.source, s.variable or "")
    stdout.print(table)
