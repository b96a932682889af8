"""The conformance verbs: the same model through several backends (``check_outputs``), and a
model converted to ONNX and checked against its source (``convert``).

The comparing is ``reef.bench.conformance``'s, the converting ``reef.bench.convert``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reef.bench.conformance import Conformance
    from reef.bench.convert import Converted

__all__ = ["Conformance", "Converted", "check_outputs", "convert"]


def check_outputs(
    target: str,
    backends: Sequence[str],
    *,
    samples: int | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    shapes: dict[str, list[int]] | None = None,
    threads: int | None = None,
) -> Conformance:
    """Feed the same ``samples`` inputs (the model's dataset, else synthetic data drawn with
    ``seed``) to each of ``backends`` and compare every output with the first backend's.

    ``target`` is what ``reef bench`` takes: a manifest, a model file, a component name.
    ``result.agree`` is the verdict; a request that cannot be made (fewer than two distinct
    backends, an unknown one, a bad tolerance) is a ``ReefError`` before anything is opened.
    """
    from reef.bench.conformance import (
        DEFAULT_ATOL,
        DEFAULT_RTOL,
        DEFAULT_SAMPLES,
        Tolerance,
        check_request,
        check_target,
    )
    from reef.bench.target import resolve
    from reef.predictors.base import PredictorOptions

    count = DEFAULT_SAMPLES if samples is None else samples
    tolerance = Tolerance(
        DEFAULT_ATOL if atol is None else atol, DEFAULT_RTOL if rtol is None else rtol
    )
    check_request(list(backends), count, tolerance)
    return check_target(
        resolve(target),
        list(backends),
        count=count,
        seed=seed,
        shapes=shapes,
        tolerance=tolerance,
        options=PredictorOptions(threads=threads),
    )


def convert(
    model: str,
    *,
    to: str = "onnx",
    out: Path | str | None = None,
    opset: int | None = None,
    shapes: dict[str, list[int]] | None = None,
    force: bool = False,
    check: bool = True,
    samples: int | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
) -> Converted:
    """Convert ``model`` (a TorchScript or ExportedProgram file, a scikit-learn pickle, a
    SavedModel or .tflite where tf2onnx is installed, or a manifest naming one) to ONNX with
    the library that knows its framework; write ``OUT.onnx`` and its ``reef.yaml``; and,
    unless ``check`` is False, compare its outputs with the source's (``result.agree``)."""
    from reef.bench.conformance import DEFAULT_ATOL, DEFAULT_RTOL, DEFAULT_SAMPLES, Tolerance
    from reef.bench.convert import convert as run_convert

    return run_convert(
        model,
        to=to,
        out=Path(out) if out is not None else None,
        opset=opset,
        shapes=shapes,
        force=force,
        check=check,
        samples=DEFAULT_SAMPLES if samples is None else samples,
        seed=seed,
        tolerance=Tolerance(
            DEFAULT_ATOL if atol is None else atol, DEFAULT_RTOL if rtol is None else rtol
        ),
    )
