"""Command-line values converted without pydantic, where the answer is certain.

Typer converts each parameter's value through a pydantic ``TypeAdapter`` that it builds the
first time the parameter is processed, and click processes every parameter of a command, given
or not. Importing pydantic and building one adapter per parameter costs about 100 ms, more than
the rest of ``reef runs list``. Here each parameter gets a converter that answers the cases
whose result cannot differ from Typer's: no value, a default already of its type, a string for a
``str``, a plain decimal for a number within its bounds, a path, a parser's result. Anything
else (a bad value, an exotic type) goes to Typer's own converter, so every error message and
edge case stays Typer's.

This reaches into Typer's private ``_coercion`` module and replaces the method of Typer's parameter
class that builds a converter. When Typer is not what this expects (another version), ``install``
changes nothing and commands are only slower; a test says when that happens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

try:
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # pragma: no cover - another Typer: leave its converters alone
    RuntimeParam = None  # type: ignore[assignment,misc]

_INTEGER = re.compile(r"[0-9]{1,18}\Z")
_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?\Z")


class _Unsure:
    """Returned when only Typer's converter can say what a value becomes."""


_UNSURE = _Unsure()


def _in_bounds(number: float, info: Any) -> bool:
    if info.min is not None and number < info.min:
        return False
    return not (info.max is not None and number > info.max)


def _leaf(annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
    """``value`` converted for one non-list annotation, or ``_UNSURE``."""
    if info.parser is not None:
        try:
            return info.parser(value)
        except Exception:  # Typer's converter calls the parser again and words the error
            return _UNSURE
    if annotation is str:
        return value if type(value) is str else _UNSURE
    if annotation is bool:
        return value if type(value) is bool else _UNSURE
    if annotation is int or annotation is float:
        if type(value) is annotation:
            number = value
        elif type(value) is str and (_INTEGER if annotation is int else _DECIMAL).match(value):
            number = annotation(value)
        else:
            return _UNSURE
        return number if _in_bounds(number, info) else _UNSURE
    if annotation is Path and info.path_type is None:
        if type(value) is str and value:
            value = Path(value)
        if not isinstance(value, Path):
            return _UNSURE
        # Typer's own checks (exists, file_okay, ...), which need no pydantic for a Path.
        return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
    return _UNSURE


def convert(annotation: Any, info: Any, value: Any, param: Any, ctx: Any) -> Any:
    """``value`` converted as Typer would, or ``_UNSURE`` (module-level for the tests)."""
    if get_origin(annotation) is list:
        (item_type,) = get_args(annotation)
        if not isinstance(value, (list, tuple)):
            return _UNSURE
        items = [_leaf(item_type, info, item, param, ctx) for item in value]
        return _UNSURE if any(item is _UNSURE for item in items) else items
    if get_origin(annotation) is not None:
        return _UNSURE
    return _leaf(annotation, info, value, param, ctx)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _Converter(RuntimeParam):
        descriptor: TypeDescriptor
        _typer: list[Any] = field(default_factory=list, compare=False)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            result = convert(self.annotation, self.parameter_info, value, param, ctx)
            if result is not _UNSURE:
                return result
            if not self._typer:
                self._typer.append(build_runtime_param(self.descriptor))
            return self._typer[0]._coerce_value(value, param=param, ctx=ctx)


def install() -> bool:
    """Make every Typer parameter start with a converter from here; whether it could."""
    try:
        from typer.core import _TyperParameter
    except ImportError:  # pragma: no cover - another Typer
        return False
    if RuntimeParam is None or not callable(getattr(_TyperParameter, "get_runtime_param", None)):
        return False  # pragma: no cover - another Typer

    def get_runtime_param(param: Any) -> Any:
        # Typer's own method, with Typer's converter replaced by one that defers to it.
        if param._runtime_param is None:
            descriptor = param.type_descriptor
            if descriptor.file_annotation is not None:
                param._runtime_param = build_runtime_param(descriptor)
            else:
                param._runtime_param = _Converter(
                    annotation=descriptor.annotation,
                    parameter_info=descriptor.parameter_info,
                    descriptor=descriptor,
                )
        return param._runtime_param

    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign,assignment]
    return True
