"""Reading manifests from YAML, with every problem reported by file and field path."""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from reef.errors import ManifestError, Problem

if TYPE_CHECKING:
    from reef.meta.component import DetectorManifest, ProgramManifest
    from reef.meta.dataset import DatasetManifest
    from reef.meta.model import ModelManifest
    from reef.meta.solution import SolutionManifest

    AnyManifest = (
        ModelManifest | DatasetManifest | SolutionManifest | ProgramManifest | DetectorManifest
    )

M = TypeVar("M", bound=BaseModel)

# Each kind's schema is imported when a manifest of that kind is read: building the model
# manifest's schema (every processing step) costs more than a command that reads only a
# solution or a lock should pay.
_KIND_CLASSES = {
    "model": "reef.meta.model:ModelManifest",
    "dataset": "reef.meta.dataset:DatasetManifest",
    "solution": "reef.meta.solution:SolutionManifest",
    "program": "reef.meta.component:ProgramManifest",
    "detector": "reef.meta.component:DetectorManifest",
}


@cache
def kind_class(kind: str) -> type[BaseModel]:
    module, name = _KIND_CLASSES[kind].split(":")
    cls: type[BaseModel] = getattr(importlib.import_module(module), name)
    return cls


def kinds() -> dict[str, type[BaseModel]]:
    """Every kind's schema, by kind."""
    return {kind: kind_class(kind) for kind in _KIND_CLASSES}


def any_manifest() -> Any:
    """The union of every kind's schema (for a JSON Schema discriminated on ``kind``)."""
    import functools
    import operator

    return functools.reduce(operator.or_, kinds().values())


# Pydantic names the member of a union that failed ('int', 'list[int]', 'function-after[...]');
# those are not fields a user wrote.
_TYPE_LABELS = {"int", "float", "str", "bool", "none", "dict", "list", "plugin"}


def _is_tag(part: str, previous: int | str | None) -> bool:
    from reef.meta.steps import BUILTIN_STEPS

    if part == previous and part in BUILTIN_STEPS:
        return True
    return part in _TYPE_LABELS or "[" in part


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a field path: ``inputs[0].steps[1].resize.size``.

    Pydantic puts a tagged union's tag in the location; for a step the tag equals the step's
    own key, so the repeated name is dropped.
    """
    out = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_tag(part, previous):
            continue
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


# A model-level validator names the field it is about as "steps[1].uses: message".
_NAMED_FIELD = re.compile(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): (.+)$", re.S)


def problems_from(exc: ValidationError, file: str) -> list[Problem]:
    """One problem per field path; a union's failed alternatives are joined with 'or'."""
    by_path: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "required field is missing"
        path = field_path(tuple(err["loc"]))
        named = _NAMED_FIELD.match(message) if err["type"] == "value_error" else None
        if named:
            path = f"{path}.{named.group(1)}" if path else named.group(1)
            message = named.group(2)
        messages = by_path.setdefault(path, [])
        if message not in messages:
            messages.append(message)
    return [Problem(file, path, " or ".join(msgs)) for path, msgs in by_path.items()]


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error names the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError([Problem(str(path), "", "file not found")]) from None
    except IsADirectoryError:
        raise ManifestError([Problem(str(path), "", "is a directory, not a manifest")]) from None
    except UnicodeDecodeError:
        raise ManifestError([Problem(str(path), "", "is not UTF-8 text")]) from None
    try:
        # libyaml's loader when PyYAML was built with it: several times faster on big indexes.
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError([Problem(str(path), where, f"malformed YAML: {problem}")]) from None


def validate(data: Any, model: type[M], file: str) -> M:
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "an empty document"
        raise ManifestError([Problem(file, "", f"expected a mapping at the top level, got {kind}")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(problems_from(exc, file)) from None


def load_manifest(path: Path) -> AnyManifest:
    """Load a manifest of any known kind, chosen by its ``kind`` field."""
    data = read_yaml(path)
    if isinstance(data, dict):
        kind = data.get("kind")
        if kind not in _KIND_CLASSES:
            known = ", ".join(sorted(_KIND_CLASSES))
            found = "missing" if kind is None else repr(kind)
            raise ManifestError([Problem(str(path), "kind", f"{found}; expected one of {known}")])
        return validate(data, kind_class(kind), str(path))  # type: ignore[return-value]
    return validate(data, kind_class("model"), str(path))  # type: ignore[return-value]


def load_model_manifest(path: Path) -> ModelManifest:
    from reef.meta.model import ModelManifest

    return validate(read_yaml(path), ModelManifest, str(path))


def load_dataset_manifest(path: Path) -> DatasetManifest:
    from reef.meta.dataset import DatasetManifest

    return validate(read_yaml(path), DatasetManifest, str(path))
