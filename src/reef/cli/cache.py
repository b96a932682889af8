"""reef cache list|clean: the solution step cache."""

from __future__ import annotations

import typer
from rich.table import Table

from reef.cli._common import emit_json, stderr, stdout

app = typer.Typer(help="Show and prune the cache of solution steps.", no_args_is_help=True)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@app.command("list")
def list_(
    solution: str | None = typer.Option(None, "--solution", help="only this solution's steps"),
    json_out: bool = typer.Option(False, "--json", help="print the entries as JSON"),
) -> None:
    """List cached steps: which solution and step, when made and last used, and size."""
    from reef.api import solutions

    entries = solutions.cache_list(solution)
    if json_out:
        emit_json([e.to_json() for e in entries])
        return
    table = Table(title_justify="left")
    for name in ("key", "solution", "step", "uses", "made", "last used", "seconds", "size"):
        table.add_column(name)
    for e in entries:
        table.add_row(
            e.key[:12],
            e.solution,
            e.step,
            e.uses,
            f"{e.created_at:%Y-%m-%d %H:%M}",
            f"{e.used_at:%Y-%m-%d %H:%M}",
            f"{e.duration_s:.2f}",
            _size(e.size_bytes()),
        )
    stdout.print(table)
    total = sum(e.size_bytes() for e in entries)
    stderr.print(f"{len(entries)} cached steps, {_size(total)}")


@app.command("clean")
def clean(
    all_: bool = typer.Option(False, "--all", help="remove every cached step"),
    unused_for: float | None = typer.Option(
        None, "--unused-for", metavar="DAYS", help="remove steps not used for this many days"
    ),
    solution: str | None = typer.Option(None, "--solution", help="remove this solution's steps"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would be removed"),
    json_out: bool = typer.Option(False, "--json", help="print what was removed as JSON"),
) -> None:
    """Remove cached steps: all, those unused for DAYS, or one solution's."""
    from reef.api import solutions
    from reef.errors import SettingsError

    if unused_for is not None and unused_for < 0:
        raise SettingsError(f"--unused-for: expected a number of days >= 0, got {unused_for}")
    removed = solutions.cache_clean(
        everything=all_,
        unused_for_s=unused_for * 86400 if unused_for is not None else None,
        solution=solution,
        dry_run=dry_run,
    )
    if json_out:
        emit_json({"dry_run": dry_run, "removed": [e.to_json() for e in removed]})
        return
    verb = "would remove" if dry_run else "removed"
    for e in removed:
        stdout.print(f"{verb} {e.key[:12]}  {e.solution}  {e.step}")
    stderr.print(f"{verb} {len(removed)} cached steps")
