"""reef drift REFERENCE CURRENT [--json] [-o report.html] [--drift-share 0.5] [--test auto]
[--detector NAME]"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._common import emit_json, fmt, stderr, stdout
from reef.errors import EXIT_FAILED

if TYPE_CHECKING:
    from reef.api.drift import DriftReport


def drift(
    reference: str = typer.Argument(
        ...,
        metavar="REFERENCE",
        help="the reference rows: an .npz (its first array), .npy or .csv file, or a dataset "
        "component (digits)",
    ),
    current: str = typer.Argument(
        ..., metavar="CURRENT", help="the rows to check: an .npz, .npy or .csv file"
    ),
    test: str = typer.Option(
        "auto", "--test", help="auto, ks, chi2, psi, wasserstein or js (see docs/drift.md)"
    ),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="the dataset drifts when at least this share of features do"
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="a p-value below this is drift"),
    key: str | None = typer.Option(
        None, "--key", help="the array to read from .npz files [their first]"
    ),
    reconstruction: str = typer.Option(
        "pca",
        "--reconstruction",
        metavar="METHODS",
        help="multivariate checks, comma-separated: pca, autoencoder (torch), or none",
    ),
    output: str | None = typer.Option(
        None, "--output", "-o", metavar="FILE.html", help="write an HTML report"
    ),
    detector: str | None = typer.Option(
        None,
        "--detector",
        metavar="NAME",
        help="a drift checker of the reef.drift group (auto, ks, chi2, psi, js, wasserstein, "
        "pca, autoencoder, or a plugin's) gives the verdict, a false alarm with probability "
        "--alpha at most",
    ),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Check whether CURRENT drifted from REFERENCE, feature by feature and as a whole.

    Exit 0 when no drift is detected, 1 when drift is detected, 2 on bad input (nothing
    written).
    """
    from reef import api

    methods = [m.strip() for m in reconstruction.split(",") if m.strip()]
    if methods == ["none"]:
        methods = []
    report = api.drift_check(
        reference,
        current,
        key=key,
        test=test,
        drift_share=drift_share,
        alpha=alpha,
        reconstruction=methods,
        output=output,
        detector=detector,
    )
    if json_out:
        emit_json(report.model_dump(mode="json"))
    else:
        show(report)
    if report.report:
        stderr.print(f"report written to {report.report}", markup=False)
    if report.result.drifted:
        raise typer.Exit(EXIT_FAILED)


def show(report: DriftReport) -> None:
    from rich.table import Table

    r = report.result
    table = Table(
        title=f"{report.current} ({r.rows:,} rows) against {report.reference} "
        f"({report.reference_rows:,} rows)",
        title_justify="left",
    )
    for name in ("feature", "test", "statistic", "p-value", "drift"):
        table.add_column(name, justify="right" if name in ("statistic", "p-value") else "left")
    for f in r.features:
        table.add_row(
            _escape(f.name), f.test, fmt(f.statistic), fmt(f.p_value), "yes" if f.drift else "no"
        )
    stdout.print(table)
    if r.reconstruction:
        recon = Table(title="reconstruction error", title_justify="left")
        for name in ("method", "mean error", "reference", "threshold", "p-value", "drift"):
            recon.add_column(name, justify="left" if name in ("method", "drift") else "right")
        for x in r.reconstruction:
            recon.add_row(
                x.method,
                fmt(x.error),
                fmt(x.reference_error),
                fmt(x.threshold),
                fmt(x.p_value),
                "yes" if x.drift else "no",
            )
        stdout.print(recon)
    for note in report.notes:
        stderr.print(f"note: {note}", markup=False)
    stdout.print(report.verdict, markup=False)


def _escape(text: object) -> str:
    from rich.markup import escape

    return escape(str(text))
