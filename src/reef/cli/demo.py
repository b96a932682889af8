"""reef demo"""

from __future__ import annotations

import typer

from reef.errors import EXIT_FAILED


def demo(
    json_out: bool = typer.Option(False, "--json", help="print the run records as JSON"),
) -> None:
    """Benchmark the built-in digits classifier (SingleStream and Offline, with accuracy)."""
    from reef import api
    from reef.cli._common import stderr
    from reef.cli.progress import RichReporter
    from reef.cli.tables import show_records

    stderr.print(
        f"Benchmarking the built-in model [bold]{api.DEMO_MODEL}[/bold] offline: SingleStream "
        f"and Offline, {api.DEMO_DURATION_S:g} s each, then accuracy on its dataset."
    )
    with RichReporter() as reporter:
        records = api.demo(reporter)
    show_records(records, json_out)
    if not json_out:
        stderr.print("Runs are recorded: see them with [bold]reef runs list[/bold].")
    if any(r.status != "valid" for r in records):
        raise typer.Exit(EXIT_FAILED)
