"""reef convert MODEL --to onnx"""

from __future__ import annotations

from pathlib import Path

import typer

from reef.cli._common import emit_json, stderr, stdout
from reef.errors import EXIT_FAILED


def convert(
    model: str = typer.Argument(
        ...,
        metavar="MODEL",
        help="a TorchScript (.pt) or ExportedProgram (.pt2) file, a scikit-learn pickle "
        "(.joblib, .pkl), a SavedModel folder or .tflite (with tf2onnx), or a manifest or "
        "component naming one",
    ),
    to: str = typer.Option(..., "--to", help="the format to write: onnx"),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="the ONNX file to write (.onnx added), its reef.yaml beside it "
        "[./NAME-onnx/NAME.onnx]",
    ),
    opset: int | None = typer.Option(None, "--opset", help="ONNX opset [the converter's]"),
    shape: list[str] = typer.Option(
        [], "--shape", help="TorchScript: each input's shape, e.g. x=1x3x224x224"
    ),
    force: bool = typer.Option(False, "--force", help="replace existing output files"),
    check: bool = typer.Option(
        True, "--check/--no-check", help="compare the result's outputs with the source's"
    ),
    samples: int | None = typer.Option(None, "--samples", help="inputs for the check [32]"),
    atol: float | None = typer.Option(None, "--atol", help="the check's absolute tolerance [1e-4]"),
    rtol: float | None = typer.Option(None, "--rtol", help="the check's relative tolerance [1e-3]"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Convert a model to ONNX with the library that knows its framework (torch.onnx,
    skl2onnx, tf2onnx), write its manifest, and check its outputs against the source's; exit 1
    when they disagree (the files are kept)."""
    from rich.markup import escape

    from reef.api.conformance import convert as run_convert
    from reef.cli.bench import parse_shapes
    from reef.cli.check_outputs import conformance_table, print_verdict

    result = run_convert(
        model,
        to=to,
        out=out,
        opset=opset,
        shapes=parse_shapes(shape),
        force=force,
        check=check,
        samples=samples,
        atol=atol,
        rtol=rtol,
    )
    if json_out:
        emit_json(result.model_dump(mode="json"))
    else:
        opset_text = f", opset {result.opset}" if result.opset else ""
        stderr.print(
            f"converted {escape(result.source)} with {escape(result.converter)} "
            f"{escape(result.converter_version)}{opset_text}"
        )
        if result.conformance is not None:
            stdout.print(conformance_table(result.conformance))
            print_verdict(result.conformance)
        stdout.print(f"wrote {escape(result.output)}")
        stdout.print(f"wrote {escape(result.manifest)}")
    for note in result.notes:
        stderr.print(f"[yellow]note:[/yellow] {escape(note)}")
    if result.agree is False:
        raise typer.Exit(EXIT_FAILED)
