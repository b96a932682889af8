"""reef init TARGET"""

from __future__ import annotations

import shlex
from pathlib import Path

import typer
from rich.markup import escape

from reef.cli._choices import choice
from reef.cli._common import emit_json, stderr, stdout
from reef.meta.choices import INSTALLER


def init(
    target: str = typer.Argument(
        ..., help="a component (name, name@version, name@constraint), its folder, or a reef.lock"
    ),
    python: str | None = typer.Option(
        None,
        "--python",
        help="the interpreter: a version (3.12), a command or a path; only installed ones "
        "[the lock's Python, else this one]",
    ),
    find_links: list[Path] = typer.Option(
        [], "--find-links", help="a folder of wheels to install from; repeat for several"
    ),
    no_index: bool = typer.Option(
        False, "--no-index", help="install only from --find-links folders, never from an index"
    ),
    installer: str = typer.Option(
        "auto",
        "--installer",
        **choice(INSTALLER),
        help="what builds the environment: auto (uv when it is installed, else pip), uv or pip",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="print what would be resolved, fetched, created and installed"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Resolve a target, fetch its sources and build an isolated environment for its lock."""
    from reef import api
    from reef.cli.progress import DownloadProgress

    def say(message: str) -> None:
        stderr.print(f"[dim]reef:[/dim] {escape(message)}", markup=True, highlight=False)

    with DownloadProgress() as downloads:
        report = api.init(
            target,
            python=python,
            find_links=find_links,
            no_index=no_index,
            installer=installer,
            dry_run=dry_run,
            progress=say,
            download_progress=downloads,
        )
    if json_out:
        emit_json(report.model_dump(mode="json"))
        return
    data = report.model_dump(mode="json")
    env = data["environment"]
    python_said = f"{env['interpreter']['implementation']} {env['interpreter']['version']}"
    if report.dry_run:
        components = ", ".join(data["components"])
        stdout.print(f"would resolve: {target} -> {components}")
        stdout.print(f"would write:   {report.lock_path}")
        wanted = [s for s in data["sources"] if s["status"] == "download"]
        stdout.print(
            f"would fetch:   {len(wanted)} of {len(data['sources'])} sources"
            + "".join(f"\n  {s['component']}  {s['location']}" for s in wanted)
        )
        if env["action"] == "reuse":
            stdout.print(f"would reuse:   {env['path']} (complete, same hash)")
        else:
            stdout.print(f"would create:  {env['path']} ({env['installer']}, {python_said})")
            stdout.print(f"would install: {len(env['requirements'])} requirements")
            for argv in env["commands"]:
                stdout.print("  " + shlex.join(argv), soft_wrap=True)
        stderr.print("dry run: nothing was changed")
        return
    provisioned = report.provisioned
    assert provisioned is not None
    stdout.print(
        f"environment {provisioned.hash[:16]} {provisioned.status} in "
        f"{provisioned.seconds:.2f} s ({provisioned.installer}, {python_said})"
    )
    stdout.print(f"  path:   {provisioned.path}")
    stdout.print(f"  python: {provisioned.python}")
    stdout.print(f"  {len(provisioned.packages)} packages pinned in {report.lock_path}")
    if report.lock_written:
        stderr.print(f"wrote {report.lock_path}")
    stderr.print(f"next: reef bench {report.lock_path}")
