"""The options that select recorded runs, shared by `reef runs list` and the analyses."""

from __future__ import annotations

from typing import Annotated

import typer

Model = Annotated[str | None, typer.Option(help="only runs of this model (target name)")]
Version = Annotated[
    str | None,
    typer.Option(help="only these target versions: 1.2.0, or a PEP 440 specifier like '>=1.2,<2'"),
]
Scenario = Annotated[str | None, typer.Option(help="SingleStream, MultiStream, Server or Offline")]
Backend = Annotated[str | None, typer.Option(help="only runs on this predictor backend")]
Status = Annotated[str | None, typer.Option(help="valid, invalid, interrupted or failed")]
Tag = Annotated[
    str | None,
    typer.Option(help="only runs with this tag (target kind, solution name, target tags)"),
]
Since = Annotated[
    str | None,
    typer.Option(help="created at or after: 2025-03-01, an ISO time, or an age (7d, 12h)"),
]
Until = Annotated[
    str | None,
    typer.Option(help="created before: a time or age; a bare date includes that day"),
]
Text = Annotated[
    str | None,
    typer.Option(
        "--text",
        "-q",
        help="words found (any case) in model, version, scenario, backend, status, reasons, "
        "solution or tags",
    ),
]
