"""reef check-outputs MODEL --backend A --backend B"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._common import emit_json, stderr, stdout
from reef.errors import EXIT_FAILED

if TYPE_CHECKING:
    from rich.table import Table

    from reef.api.conformance import Conformance


def check_outputs(
    model: str = typer.Argument(
        ...,
        metavar="MODEL",
        help="what reef bench takes: a model manifest (.yaml), a model file, a component "
        "name[@version]",
    ),
    backend: list[str] = typer.Option(
        [],
        "--backend",
        "-b",
        help="a backend to run the model on; repeat, at least two; the first is the reference",
    ),
    samples: int | None = typer.Option(
        None, "--samples", help="how many inputs to feed each backend, one at a time [32]"
    ),
    atol: float | None = typer.Option(
        None, "--atol", help="absolute tolerance: |x - ref| <= atol + rtol * |ref| [1e-4]"
    ),
    rtol: float | None = typer.Option(None, "--rtol", help="relative tolerance [1e-3]"),
    seed: int = typer.Option(0, "--seed", help="seed of the synthetic inputs"),
    shape: list[str] = typer.Option(
        [], "--shape", help="synthetic inputs: an input's shape, e.g. input=1x3x224x224"
    ),
    threads: int | None = typer.Option(None, "--threads", help="each backend's threads"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Run the same inputs through several backends and compare their outputs: max absolute
    and relative error per output, argmax agreement for classifiers. Exit 1 when they
    disagree beyond the tolerance."""
    from reef.api.conformance import check_outputs as run_check
    from reef.cli.bench import parse_shapes

    result = run_check(
        model,
        backend,
        samples=samples,
        atol=atol,
        rtol=rtol,
        seed=seed,
        shapes=parse_shapes(shape),
        threads=threads,
    )
    if json_out:
        emit_json(result.model_dump(mode="json"))
    else:
        stdout.print(conformance_table(result))
        print_verdict(result)
    if not result.agree:
        raise typer.Exit(EXIT_FAILED)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def conformance_table(result: Conformance) -> Table:
    from rich.markup import escape
    from rich.table import Table

    inputs = f"dataset {result.dataset}" if result.dataset else f"synthetic, seed {result.seed}"
    table = Table(
        title=f"{escape(result.model)}: {result.samples} samples ({escape(inputs)}), "
        f"reference {escape(result.reference)}, atol {result.atol:g}, rtol {result.rtol:g}"
    )
    for column in ("backend", "output", "max abs err", "max rel err", "argmax agree", "verdict"):
        justify = "right" if column.startswith(("max", "argmax")) else "left"
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in result.rows:
        output = row.output
        if row.backend_output and row.backend_output != row.output:
            output += f" ({row.backend_output})"
        agreement = "-" if row.argmax_agreement is None else f"{row.argmax_agreement:.1%}"
        verdict = "[green]agree[/green]" if row.agree else "[red]disagree[/red]"
        if row.comparison == "exact" and row.agree:
            verdict = "[green]agree (exact)[/green]"
        table.add_row(
            escape(row.backend),
            escape(output),
            _num(row.max_abs_error),
            _num(row.max_rel_error),
            agreement,
            verdict,
        )
    return table


def print_verdict(result: Conformance) -> None:
    from rich.markup import escape

    for info in result.backends:
        if info.failed:
            stderr.print(f"[red]{escape(info.name)} failed:[/red] {escape(info.failed)}")
    for row in result.rows:
        failure = f"{row.backend} failed: "
        for problem in row.problems:
            if problem.startswith(failure):
                continue  # said once above, for the backend
            stderr.print(
                f"[red]{escape(row.backend)} {escape(row.output)}:[/red] {escape(problem)}"
            )
        for note in row.notes:
            stderr.print(f"[dim]{escape(row.backend)} {escape(row.output)}: {escape(note)}[/dim]")
    for note in result.notes:
        stderr.print(f"[dim]note: {escape(note)}[/dim]")
    others = ", ".join(b.name for b in result.backends[1:])
    if result.agree:
        stderr.print(
            f"[green]agree[/green]: {escape(others)} match {escape(result.reference)} within "
            f"atol {result.atol:g}, rtol {result.rtol:g}"
        )
    else:
        differ = sorted({r.backend for r in result.rows if not r.agree})
        differ += [b.name for b in result.backends[1:] if b.failed and b.name not in differ]
        stderr.print(
            f"[red]disagree[/red]: {escape(', '.join(differ))} "
            f"{'does' if len(differ) == 1 else 'do'} not match {escape(result.reference)} "
            f"within atol {result.atol:g}, rtol {result.rtol:g}"
        )
