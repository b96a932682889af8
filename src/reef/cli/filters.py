"""The options that select recorded runs, declared once.

``@selecting_runs()`` gives a command every option of ``reef.api.RunFilter`` in place of its
``run_filter`` parameter, and calls it with the one filter built from them: `runs list`,
`pareto`, `board`, `report` and `plot` take the same options, spelt and checked the same way.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer

from reef.cli._choices import choice
from reef.meta.choices import RUN_STATUS, SCENARIO

Model = Annotated[str | None, typer.Option(help="only runs of this model (target name)")]
Version = Annotated[
    str | None,
    typer.Option(help="only these target versions: 1.2.0, or a PEP 440 specifier like '>=1.2,<2'"),
]
Scenario = Annotated[
    str | None,
    typer.Option(**choice(SCENARIO), help="only runs of this scenario (any spelling: offline)"),
]
Backend = Annotated[str | None, typer.Option(help="only runs on this predictor backend")]
Status = Annotated[str | None, typer.Option(**choice(RUN_STATUS), help="only runs of this status")]
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

# RunFilter's fields, in its order (the order an empty selection is explained in).
OPTIONS: dict[str, Any] = {
    "model": Model,
    "version": Version,
    "scenario": Scenario,
    "backend": Backend,
    "status": Status,
    "tag": Tag,
    "since": Since,
    "until": Until,
    "text": Text,
}

Command = Callable[..., None]

# The default of a command's ``run_filter`` parameter: ``selecting_runs`` always passes one.
FROM_OPTIONS: Any = None


def selecting_runs(*, without: tuple[str, ...] = ()) -> Callable[[Command], Command]:
    """Give the command the run-filter options (all of ``OPTIONS`` but ``without``) where its
    ``run_filter: RunFilter = FROM_OPTIONS`` parameter is, and call it with ``run_filter``
    built from them. Bad values are a ``QueryError`` (exit 2) before the command runs."""
    names = [name for name in OPTIONS if name not in without]

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command)
        hints = _hints(command, [n for n in signature.parameters if n != "run_filter"])
        parameters: list[inspect.Parameter] = []
        for parameter in signature.parameters.values():
            if parameter.name != "run_filter":
                parameters.append(parameter.replace(annotation=hints[parameter.name]))
                continue
            parameters.extend(
                inspect.Parameter(name, parameter.kind, default=None, annotation=OPTIONS[name])
                for name in names
            )

        @functools.wraps(command)
        def run(**values: Any) -> None:
            from reef import api

            given = {name: values.pop(name) for name in names}
            command(**values, run_filter=api.RunFilter().merged(**given))

        # Typer reads the options from these.
        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run

    return decorate


def _hints(command: Command, names: list[str]) -> dict[str, Any]:
    """The command's annotations of ``names``, evaluated in its module (they are text under
    ``from __future__ import annotations``), Typer's ``Annotated`` options kept."""
    annotations = {n: a for n, a in command.__annotations__.items() if n in names}
    missing = [n for n in names if n not in annotations]
    if missing:
        raise TypeError(f"{command.__name__}: parameters without annotations: {missing}")
    holder = types.SimpleNamespace(__annotations__=annotations)
    return typing.get_type_hints(holder, globalns=command.__globals__, include_extras=True)
