"""reef sweep SPEC.yaml [--scheduler ADDR | --local N] [--submit URL] [--resume ID] /
reef sweep status|list|cancel

Dask (``reef-bench[cluster]``) is imported inside the command that runs a sweep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from reef.cli._common import emit_json, stderr, stdout
from reef.errors import EXIT_FAILED, EXIT_USAGE

if TYPE_CHECKING:
    from reef.api import SweepState


class _RunByDefault(TyperGroup):
    """``reef sweep SPEC.yaml`` is ``reef sweep run SPEC.yaml``: a first word that is not
    one of the subcommands is the spec."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "run", self.commands["run"], args
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    help="Run a sweep (targets x backends x scenarios x settings x hardware) on a Dask "
    "cluster, and show or stop one (reef-bench[cluster]).",
    no_args_is_help=True,
)


@app.command("run")
def run(
    spec: str | None = typer.Argument(None, metavar="SPEC.yaml", help="the sweep's spec"),
    scheduler: str | None = typer.Option(
        None, "--scheduler", metavar="ADDR", help="a Dask scheduler: tcp://HOST:8786"
    ),
    local: int | None = typer.Option(
        None, "--local", min=1, max=64, help="start a local cluster of N workers for it"
    ),
    submit: str | None = typer.Option(
        None, "--submit", metavar="URL", help="also submit each run to this Reef server"
    ),
    resume: str | None = typer.Option(
        None, "--resume", metavar="ID", help="run the cells of sweep ID that are not done"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the sweep as JSON"),
) -> None:
    """Run every cell of the sweep as a task on the cluster: results go to the results
    database as they finish. A cell needing a resource no agent offers fails at once."""
    from reef import api

    if scheduler and local:
        raise typer.BadParameter("give --scheduler or --local, not both")
    if (spec is None) == (resume is None):
        raise typer.BadParameter("give a spec file, or --resume ID (not both)")
    state = api.sweep_start(spec, resume=resume)
    counts = state.counts()
    total = len(state.cells)
    stderr.print(
        f"sweep {state.id}: {total} cells, {counts['done']} done already; "
        f"{'scheduler ' + scheduler if scheduler else f'a local cluster of {local or 1}'}",
        markup=False,
    )
    from reef.cluster.connect import client_for
    from reef.cluster.runner import run_sweep

    finished = counts["done"]

    def progress(key: str, status: str, line: str) -> None:
        nonlocal finished
        finished += 1
        cell = state.cells[key].cell
        stderr.print(
            f"[{finished}/{total}] {status:9} {cell.label}: {line}", markup=False, highlight=False
        )
        if status == "done" and submit:
            report = api.submit(state.cells[key].run_ids, server=submit, token=None)
            stderr.print(
                f"  submitted: {report.accepted} accepted, {report.already_stored} already "
                f"stored, {report.queued} queued, {report.refused} refused",
                markup=False,
            )

    with client_for(scheduler, local) as client:
        state = run_sweep(state, client, progress=progress)
    _finish(state, json_out)


def _finish(state: SweepState, json_out: bool) -> None:
    counts = state.counts()
    if json_out:
        emit_json(state.model_dump(mode="json"))
    else:
        stderr.print(
            f"sweep {state.id}: {counts['done']} done, {counts['failed']} failed, "
            f"{counts['cancelled']} cancelled, {counts['pending']} pending",
            markup=False,
        )
    if counts["failed"] or counts["cancelled"] or counts["pending"]:
        raise typer.Exit(EXIT_FAILED)


@app.command("status")
def status(
    sweep_id: str = typer.Argument(..., metavar="ID"),
    json_out: bool = typer.Option(False, "--json", help="print the sweep as JSON"),
) -> None:
    """A sweep's cells: done (with their runs), failed (with why), pending."""
    from reef import api

    state = api.sweep_status(sweep_id)
    if json_out:
        emit_json(state.model_dump(mode="json"))
        return
    counts = state.counts()
    stdout.print(
        f"sweep {state.id} ({state.source or 'spec'}), started {state.created_at:%Y-%m-%d %H:%M}"
        f" UTC: {counts['done']} done, {counts['failed']} failed, {counts['cancelled']} "
        f"cancelled, {counts['pending']} pending"
        + (" (cancel requested)" if state.cancel_requested else ""),
        markup=False,
    )
    for cell_state in state.cells.values():
        detail = ", ".join(cell_state.run_ids) if cell_state.run_ids else cell_state.error or ""
        stdout.print(
            f"  {cell_state.status:9} {cell_state.cell.label}  {detail}",
            markup=False,
            highlight=False,
        )


@app.command("list")
def list_sweeps(json_out: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """The sweeps of this REEF_HOME, newest first."""
    from reef import api

    states = api.sweep_list()
    if json_out:
        emit_json([s.model_dump(mode="json") for s in states])
        return
    if not states:
        stderr.print("no sweep yet: reef sweep SPEC.yaml starts one", markup=False)
        return
    for state in states:
        counts = state.counts()
        stdout.print(
            f"{state.id}  {state.created_at:%Y-%m-%d %H:%M}  {len(state.cells)} cells: "
            f"{counts['done']} done, {counts['failed']} failed, {counts['pending']} pending  "
            f"{state.spec.name or state.source or ''}",
            markup=False,
            highlight=False,
        )


@app.command("cancel")
def cancel(
    sweep_id: str = typer.Argument(..., metavar="ID"),
    json_out: bool = typer.Option(False, "--json", help="print the sweep as JSON"),
) -> None:
    """Stop a sweep: the process running it cancels its pending cells."""
    from reef import api

    state = api.sweep_cancel(sweep_id)
    if json_out:
        emit_json(state.model_dump(mode="json"))
        return
    stderr.print(f"sweep {state.id}: cancel requested", markup=False)


__all__ = ["EXIT_USAGE", "app"]
