"""``reef.cli._coerce``: command-line values converted without pydantic must come out exactly as
Typer's own converter gives them, for every parameter of every command, or be left to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_support import InProcessReef
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from reef.cli import COMMANDS, _build, _coerce


def _parameters() -> list[tuple[str, Any, Any]]:
    found = []

    def walk(command: Any, path: str) -> None:
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, f"{path} {name}")
        for param in command.params:
            if getattr(param, "type_descriptor", None) is not None:
                found.append((f"{path} {param.name}", command, param))

    for name, target in COMMANDS.items():
        walk(_build(name, target), name)
    return found


PARAMETERS = _parameters()

# What a command line or a default can hand a converter: plain and tricky.
VALUES: list[Any] = [
    "20", "0", "-1", "+3", " 7", "7 ", "1.5", "1e3", ".5", "5.", "nan", "inf", "abc", "", "-",
    "١٢", "99999999999999999999", "SingleStream", "single-stream", "offline", "json", "CSV",
    "latency_p90:min", "a,b", "~", "/", ".", "no/such/path", 0, 5, 2.5, True, False,
]  # fmt: skip


def _typer(descriptor: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        return "ok", build_runtime_param(descriptor)._coerce_value(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.message


def test_the_converter_is_installed_for_this_typer() -> None:
    """When Typer changes its internals, commands keep working (Typer converts) but lose ~0.1 s
    of start-up: this says so."""
    assert _coerce.install() is True


@pytest.mark.parametrize(("where", "command", "param"), PARAMETERS, ids=[p[0] for p in PARAMETERS])
def test_every_value_converts_as_typer_converts_it(
    where: str, command: Any, param: Any, tmp_path: Path
) -> None:
    descriptor = param.type_descriptor
    ctx = Context(command)
    # A choice's own values (reef.cli._choices parsers), beside the rest.
    choices = getattr(getattr(descriptor.parameter_info.parser, "__self__", None), "values", ())
    values = [*VALUES, *choices, param.default, str(tmp_path), str(tmp_path / "missing")]
    answered: list[Any] = []
    if descriptor.is_list:
        values += [[v] for v in values if isinstance(v, str)] + [["a", "b"], (), ("1", "x")]
    for value in values:
        if value is None:
            continue
        fast = _coerce.convert(descriptor.annotation, descriptor.parameter_info, value, param, ctx)
        if fast is _coerce._UNSURE:
            continue  # Typer's converter answers it
        answered.append(value)
        expected = _typer(descriptor, value, param, ctx)
        assert expected == ("ok", fast), f"{where} given {value!r}"
        assert type(fast) is type(expected[1]), f"{where} given {value!r}"
    # Every parameter's own default, and some command-line text, is answered here.
    assert param.default is None or param.default in answered or descriptor.is_list
    if descriptor.annotation is not bool:  # a flag's text is rare: Typer converts it
        assert any(isinstance(v, (str, list)) for v in answered), where


def test_a_command_builds_no_pydantic_adapter(tmp_path: Path) -> None:
    """``reef runs list`` neither imports pydantic for its options nor reads whole records."""
    code = (
        "import sys\n"
        "from reef.__main__ import main\n"
        "sys.argv = ['reef', 'runs', 'list', '-n', '20', '--sort', '-p90', '--status', 'valid']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('loaded:', *sorted(m for m in ('typer._adapters', 'reef.meta.run') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "REEF_HOME": str(tmp_path)},
    )
    assert out.stdout.splitlines()[-1] == "loaded:", out.stderr


def test_bad_values_still_get_typers_messages(cli: InProcessReef) -> None:
    result = cli("runs", "list", "-n", "abc")
    assert result.rc == 2
    assert "Invalid value for '--limit' / '-n'" in result.stderr
    assert "valid integer" in result.stderr
    result = cli("runs", "list", "-n", "-3")
    assert result.rc == 2
    assert "greater than or equal to 0" in result.stderr
    cli.assert_nothing_written()
