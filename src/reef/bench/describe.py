"""``reef new model NAME --from FILE``: a manifest that says what zero-config would infer.

The model is opened with the backend its suffix names, its inputs are planned as
``reef bench FILE`` would plan them (``reef.bench.inputs``), and every inference becomes an
explicit manifest field the user can read and correct: ``batch_axis`` where it is not the
first axis or there is none, a scalar's ``value``, an integer input's ``range``, a recurrent
input's ``state``. The comments say which lines were inferred.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from reef.bench.inputs import InputPlan, plan_inputs
from reef.errors import ReefError
from reef.predictors import registry
from reef.predictors.base import PredictorOptions, Signature

MANIFEST = "reef.yaml"


def model_files(model: Path, name: str, version: str) -> dict[str, bytes]:
    """The new component's files: its manifest and the model file, copied."""
    if not model.is_file():
        raise ReefError(f"{model}: no such file", hint="--from takes a model file")
    backend = registry.backend_for_file(model)
    predictor = registry.create(backend)
    try:
        signature = predictor.open(model, PredictorOptions())
        version_of_backend = predictor.version()
    finally:
        predictor.close()
    plans = plan_inputs(signature, None, {}, str(model), index_bounds=_bounds(model, signature))
    data = model.read_bytes()
    text = manifest_text(name, version, model.name, data, backend, version_of_backend, signature)
    text += _inputs(plans) + _outputs(signature)
    return {MANIFEST: text.encode(), model.name: data}


def _bounds(model: Path, signature: Signature) -> dict[str, int]:
    if model.suffix.lower() != ".onnx":
        return {}
    from reef.predictors.onnx_graph import index_bounds

    ints = [t.name for t in signature.inputs if t.element_type.startswith(("int", "uint"))]
    return index_bounds(model, ints)


def manifest_text(
    name: str,
    version: str,
    filename: str,
    data: bytes,
    backend: str,
    backend_version: str,
    signature: Signature,
) -> str:
    # The release it was described with, up to the next major one.
    parts = backend_version.split("+")[0].split(".")
    known = len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit()
    constraint = f">={parts[0]}.{parts[1]},<{int(parts[0]) + 1}" if known else ""
    framework = f"{{name: {backend}" + (f", version: '{constraint}'" if constraint else "") + "}"
    return (
        f"# A Reef model component written from {filename} by `reef new model --from`.\n"
        "# Lines marked `inferred` say what zero-config assumed: check them against the model.\n"
        "kind: model\n"
        f"name: {name}\n"
        f"version: {version}\n"
        f"description: {filename}, described from its signature.\n"
        "tags: []\n"
        "requires: []\n"
        "python: []\n"
        f"framework: {framework}\n"
        "sources:\n"
        f"  - path: {filename}\n    sha256: {hashlib.sha256(data).hexdigest()}\n"
    )


def _dims(shape: tuple[int, ...] | tuple[int | str | None, ...]) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) and d > 0 else "-1" for d in shape) + "]"


def _inputs(plans: list[InputPlan]) -> str:
    lines = ["inputs:"]
    for plan in plans:
        lines += [
            f"  - name: {_quote(plan.name)}",
            f"    element_type: {plan.element_type}",
            f"    shape: {_dims(plan.declared)}",
        ]
        why = "; ".join(plan.assumed)
        note = f"   # inferred: {why}" if why else ""
        if plan.source == "value":
            value = plan.value.tolist()
            lines.append(
                f"    value: {str(value).lower() if isinstance(value, bool) else value}{note}"
            )
            continue
        if plan.batch_axis != 0:
            axis = "null" if plan.batch_axis is None else str(plan.batch_axis)
            lines.append(f"    batch_axis: {axis}{note if not plan.state else ''}")
        if plan.state:
            lines.append(f"    state: {_quote(plan.state)}{note}")
        elif plan.low is not None and plan.element_type != "bool":
            low, high = plan.low, plan.high
            lines.append(f"    range: [{low:g}, {high:g}]{note if plan.batch_axis == 0 else ''}")
        lines.append("    steps: []")
    return "\n".join(lines) + "\n"


def _outputs(signature: Signature) -> str:
    lines = ["outputs:"]
    for out in signature.outputs:
        lines += [f"  - name: {_quote(out.name)}", "    type: raw"]
    return "\n".join(lines) + "\n"


def _quote(name: str) -> str:
    """A tensor name as YAML reads it back unchanged."""
    plain = name.replace("_", "").replace("-", "").replace(".", "").replace("/", "").isalnum()
    return name if plain and not name[0].isdigit() else json.dumps(name)
