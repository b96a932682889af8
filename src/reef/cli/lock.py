"""reef resolve / reef fetch / reef pack / reef install"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from reef.cli._common import emit_json, stderr, stdout

_TARGET = typer.Argument(
    ..., help="a component (name, name@version, name@constraint), its folder, or a reef.lock"
)
_JSON = typer.Option(False, "--json", help="print the result as JSON")


def warn(warnings: list[str]) -> None:
    for warning in warnings:
        stderr.print(f"[yellow]warning:[/yellow] {escape(warning)}", markup=True)


def resolve(
    target: str = typer.Argument(..., help="a component (name[@version|@constraint]) or folder"),
    output: Path = typer.Option(Path("reef.lock"), "--output", "-o", help="where to write it"),
    json_out: bool = _JSON,
) -> None:
    """Resolve a component and its requirements into one consistent set; write reef.lock."""
    from rich.table import Table

    from reef import api
    from reef.api.components import lock_shadows

    lock = api.resolve(target, output)
    warn([s.message for s in lock_shadows(lock)])
    if json_out:
        emit_json(lock.model_dump(mode="json"))
        return
    table = Table(
        title=f"{lock.root} resolved: {len(lock.components)} components", title_justify="left"
    )
    for col in ("component", "version", "kind", "repository", "content sha256"):
        table.add_column(col)
    for c in lock.components:
        table.add_row(c.name, c.version, c.kind, c.repository, c.sha256[:16])
    stdout.print(table)
    if lock.python:
        stdout.print("python: " + ", ".join(lock.python))
    stderr.print(f"wrote {output}")


def fetch(target: str = _TARGET, json_out: bool = _JSON) -> None:
    """Download and verify every source that a lock (or a component, resolved now) needs."""
    from reef import api
    from reef.cli.progress import DownloadProgress

    with DownloadProgress() as progress:
        fetched = api.fetch(target, progress=progress)
    if json_out:
        emit_json([f.model_dump(mode="json") for f in fetched])
        return
    for f in fetched:
        stdout.print(f"{f.status:10s} {f.component}  {f.location}  ({f.size:,} bytes)")
    downloaded = sum(1 for f in fetched if f.status == "downloaded")
    stderr.print(f"{len(fetched)} sources verified, {downloaded} downloaded")


def pack(
    target: str = _TARGET,
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        help="file, or folder ending in / (default: ./NAME-VERSION.reef.tar.gz)",
    ),
    json_out: bool = _JSON,
) -> None:
    """Write one portable .reef.tar.gz: the component, its requirements, their sources."""
    from reef import api
    from reef.cli.progress import DownloadProgress

    with DownloadProgress() as progress:
        report = api.pack(target, output, progress=progress)
    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    stdout.print(
        f"wrote {report.path} ({report.size:,} bytes, {report.files} files): "
        + ", ".join(report.components)
    )
    stdout.print(f"sha256 {report.sha256}")


def install(
    pack_file: Path = typer.Argument(..., help="a .reef.tar.gz written by reef pack"),
    force: bool = typer.Option(
        False, "--force", help="replace an installed version whose content differs"
    ),
    max_size: int | None = typer.Option(
        None, "--max-size", min=1, help="refuse packs unpacking to more bytes (default 20 GiB)"
    ),
    max_files: int | None = typer.Option(
        None, "--max-files", min=1, help="refuse packs with more files (default 100,000)"
    ),
    json_out: bool = _JSON,
) -> None:
    """Verify a pack and unpack it into the local 'installed' repository."""
    from reef import api

    report = api.install(pack_file, force=force, max_bytes=max_size, max_files=max_files)
    warn(report.warnings)
    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    for c in report.components:
        stdout.print(f"{c.status:16s} {c.kind} {c.name}@{c.version}  {c.path}")
    if not api.repo_trusted(report.repository):
        stderr.print(
            f"into repository '{report.repository}', which is not trusted: its components' "
            f"code will not run until `reef repo trust {report.repository}`"
        )
