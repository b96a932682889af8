"""Reading manifests from YAML, with every problem reported by file and field path."""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from reef.errors import FileRefused, ManifestError, Problem
from reef.files import MANIFEST_MAX_BYTES, read_regular

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


# A manifest's expanded size: the nodes a reader would visit with every alias followed. A
# "billion laughs" document is a few hundred bytes whose aliases expand to 10^9 nodes; PyYAML
# builds it cheaply (aliases share objects), and then validating or printing it never ends.
MAX_NODES = 1_000_000
MAX_DEPTH = 100


def parse_yaml(text: str | bytes, file: str) -> Any:
    """Parse one YAML document, refusing (``ManifestError``) malformed YAML, a document whose
    aliases expand past ``MAX_NODES`` nodes, one nested deeper than ``MAX_DEPTH``, and an alias
    that contains itself. The expansion is counted on the node graph before anything is built,
    so a bomb costs its size in bytes, not its expanded size."""
    # libyaml's loader when PyYAML was built with it: several times faster on big indexes.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, file)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError([Problem(file, where, f"malformed YAML: {problem}")]) from exc
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Count the expanded tree iteratively, each shared node once (memoised by identity)."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    # (node, depth, children expanded yet?)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        key = id(node)
        if expanded:
            on_path.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > MAX_NODES:
                raise _too_big(
                    file, f"its aliases expand to more than {MAX_NODES:,} nodes (an alias bomb?)"
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise _too_big(file, "an alias refers to a node that contains it")
        if depth > MAX_DEPTH:
            raise _too_big(file, f"it is nested more than {MAX_DEPTH} levels deep")
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in size)


def _too_big(file: str, why: str) -> ManifestError:
    return ManifestError(
        [Problem(file, "", f"refused: {why}")],
        hint="write the values out, or use fewer aliases",
    )


def read_yaml(path: Path) -> Any:
    """Parse a YAML file: a regular file of at most 32 MiB (a FIFO, a device or a symlink loop
    is refused without waiting), UTF-8, checked by ``parse_yaml``."""
    try:
        data = read_regular(path, "manifest", MANIFEST_MAX_BYTES)
    except FileRefused as exc:
        raise ManifestError([Problem(str(path), "", exc.reason)]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(str(path), "", "is not UTF-8 text")]) from exc
    return parse_yaml(text, str(path))


def validate(data: Any, model: type[M], file: str) -> M:
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "an empty document"
        raise ManifestError([Problem(file, "", f"expected a mapping at the top level, got {kind}")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(problems_from(exc, file)) from exc


def load_manifest(path: Path) -> AnyManifest:
    """Load a manifest of any known kind, chosen by its ``kind`` field."""
    data = read_yaml(path)
    if isinstance(data, dict):
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in _KIND_CLASSES:
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
