"""reef cache list|clean: solution steps, fetched sources and provisioned environments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._choices import choice
from reef.cli._common import emit_json, stderr, stdout
from reef.meta.choices import CACHE_KIND

if TYPE_CHECKING:
    from reef.api.cache import CacheItem

app = typer.Typer(
    help="Show and prune the cache: steps, sources and environments.",
    no_args_is_help=True,
)

_KIND_HELP = "only this kind: steps, sources or envs; repeat for several [all three]"
_NOUNS = {"steps": "cached step", "sources": "fetched source", "envs": "environment"}


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _when(item: CacheItem, field: str) -> str:
    moment = getattr(item, field)
    return "-" if moment is None else f"{moment.astimezone():%Y-%m-%d %H:%M}"


def _what(item: CacheItem) -> str:
    """The kind's own description of an item."""
    if item.kind == "steps":
        return f"{item.solution} {item.step} ({item.uses}, {item.duration_s:.2f} s)"
    if item.kind == "envs":
        if not item.complete:
            return "incomplete (a build that did not finish)"
        shown = f"{item.python}, {item.packages} packages, {item.installer}"
        if item.in_use_by:
            shown += " [in use by pid " + ", ".join(map(str, item.in_use_by)) + "]"
        return shown
    return "fetched source"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _json(item: CacheItem) -> dict[str, object]:
    data: dict[str, object] = item.model_dump(mode="json", exclude_none=True)
    return data


@app.command("list")
def list_(
    kind: list[str] = typer.Option([], "--kind", **choice(CACHE_KIND), help=_KIND_HELP),
    solution: str | None = typer.Option(None, "--solution", help="only this solution's steps"),
    json_out: bool = typer.Option(False, "--json", help="print the entries as JSON"),
) -> None:
    """List what is cached: each step, source and environment, when made and last used, its
    size, and which runs use an environment now."""
    from rich.markup import escape
    from rich.table import Table

    from reef.api.cache import cache_list

    items = cache_list(kind or None, solution=solution)
    if json_out:
        emit_json([_json(i) for i in items])
        return
    table = Table(title_justify="left")
    for name in ("kind", "key", "what", "made", "last used", "size"):
        table.add_column(name, justify="right" if name == "size" else "left")
    for i in items:
        table.add_row(
            i.kind, i.key[:12], escape(_what(i)), _when(i, "created_at"), _when(i, "used_at"),
            size(i.size_bytes),
        )  # fmt: skip
    stdout.print(table)
    kinds = [k for k in _NOUNS if any(i.kind == k for i in items)] or list(_NOUNS)
    counts = ", ".join(_count(sum(1 for i in items if i.kind == k), _NOUNS[k]) for k in kinds)
    stderr.print(f"{counts}: {size(sum(i.size_bytes for i in items))}", markup=False)


@app.command("clean")
def clean(
    all_: bool = typer.Option(False, "--all", help="remove everything (of --kind)"),
    unused_for: float | None = typer.Option(
        None, "--unused-for", metavar="DAYS", help="remove what was not used for this many days"
    ),
    solution: str | None = typer.Option(None, "--solution", help="remove this solution's steps"),
    kind: list[str] = typer.Option([], "--kind", **choice(CACHE_KIND), help=_KIND_HELP),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="show what would be removed, and remove nothing"
    ),
    json_out: bool = typer.Option(False, "--json", help="print what was removed as JSON"),
) -> None:
    """Remove cached steps, sources and environments: all, those unused for DAYS, or one
    solution's steps. An environment a running benchmark uses is kept. What killed Reef
    processes left behind (half downloads, unfinished steps and builds) goes too."""
    from rich.markup import escape

    from reef.api.cache import cache_clean

    report = cache_clean(
        kind or None,
        everything=all_,
        unused_for_days=unused_for,
        solution=solution,
        dry_run=dry_run,
    )
    if json_out:
        data = report.model_dump(mode="json")
        data["removed"] = [_json(i) for i in report.removed]
        data["kept"] = [_json(i) for i in report.kept]
        emit_json(data)
        return
    verb = "would remove" if dry_run else "removed"
    for i in report.removed:
        stdout.print(f"{verb} {i.kind} {i.key[:12]}  {escape(_what(i))}  {size(i.size_bytes)}")
    for i in report.kept:
        users = ", ".join(map(str, i.in_use_by))
        stdout.print(f"kept {i.kind} {i.key[:12]}: in use by pid {users}")
    for x in report.leftovers:
        stdout.print(f"{verb} leftover {x.what}  {escape(x.path)}  {size(x.size_bytes)}")
    summary = f"{verb} {_count(len(report.removed), 'item')}, {size(report.freed_bytes)}"
    if report.leftovers:
        summary += f", and {size(report.leftover_bytes)} left by killed processes"
    if report.kept:
        summary += f"; kept {len(report.kept)} in use"
    stderr.print(summary, markup=False)
