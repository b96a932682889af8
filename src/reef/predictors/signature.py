"""Checks a manifest's declared inputs and outputs against the model's real signature."""

from __future__ import annotations

from reef.errors import ManifestError, Problem
from reef.meta.model import ModelManifest
from reef.predictors.base import Signature, TensorSpec


def _shape_problem(declared: list[int], actual: tuple[int | str | None, ...]) -> str | None:
    if len(declared) != len(actual):
        return (
            f"shape {declared} has rank {len(declared)}, "
            f"the model's {list(actual)} has {len(actual)}"
        )
    for i, (d, a) in enumerate(zip(declared, actual, strict=True)):
        if d != -1 and isinstance(a, int) and a > 0 and d != a:
            return f"dimension {i} is {d} but the model expects {a} (shape {list(actual)})"
    return None


def check_signature(manifest: ModelManifest, signature: Signature, file: str) -> None:
    """Raise a ManifestError listing every mismatch between manifest and model."""
    problems: list[Problem] = []
    model_inputs = {t.name: t for t in signature.inputs}
    model_outputs = {t.name: t for t in signature.outputs}
    for i, spec in enumerate(manifest.inputs):
        actual = model_inputs.get(spec.name)
        if actual is None:
            problems.append(_missing(file, f"inputs[{i}].name", spec.name, signature.inputs))
            continue
        if actual.element_type != spec.element_type:
            problems.append(
                Problem(
                    file,
                    f"inputs[{i}].element_type",
                    f"{spec.element_type} but the model's input {spec.name!r} "
                    f"is {actual.element_type}",
                )
            )
        shape_problem = _shape_problem(spec.shape, actual.shape)
        if shape_problem:
            problems.append(Problem(file, f"inputs[{i}].shape", shape_problem))
    for i, spec in enumerate(manifest.inputs):
        if spec.state and spec.state not in model_outputs:
            names = ", ".join(repr(t.name) for t in signature.outputs)
            problems.append(
                Problem(
                    file,
                    f"inputs[{i}].state",
                    f"{spec.state!r} is not an output of the model (it has {names}): a state "
                    "feeds an output back into its input",
                )
            )
    declared = {s.name for s in manifest.inputs}
    for name in model_inputs:
        if name not in declared:
            problems.append(Problem(file, "inputs", f"the model's input {name!r} is not declared"))
    for i, out in enumerate(manifest.outputs):
        if out.name not in model_outputs:
            problems.append(_missing(file, f"outputs[{i}].name", out.name, signature.outputs))
    if problems:
        raise ManifestError(problems, hint="the manifest must describe the model it names")


def _missing(file: str, where: str, name: str, actual: tuple[TensorSpec, ...]) -> Problem:
    names = ", ".join(repr(t.name) for t in actual)
    return Problem(file, where, f"{name!r} is not in the model (it has {names})")
