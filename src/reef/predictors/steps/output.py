"""Steps that turn a model's raw outputs into scores, classes or ranked predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reef.meta.steps import ArgmaxParams, SoftmaxParams, TopKParams
from reef.predictors.steps.registry import StepError, StepFn

Array = npt.NDArray[Any]


def _check_axis(axis: int, arr: Array, step: str) -> None:
    if not -arr.ndim <= axis < arr.ndim:
        raise StepError(f"{step}: axis {axis} is out of range for an output of shape {arr.shape}")


def softmax(params: SoftmaxParams) -> StepFn:
    axis = params.axis

    def softmax_step(x: Any) -> Array:
        arr = np.asarray(x)
        _check_axis(axis, arr, "softmax")
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float32)
        # Subtracting the maximum keeps exp() from overflowing; the result is unchanged.
        e = np.exp(arr - arr.max(axis=axis, keepdims=True))
        result: Array = e / e.sum(axis=axis, keepdims=True)
        return result

    return softmax_step


def argmax(params: ArgmaxParams) -> StepFn:
    axis = params.axis

    def argmax_step(x: Any) -> Any:
        arr = np.asarray(x)
        _check_axis(axis, arr, "argmax")
        return np.argmax(arr, axis=axis)

    return argmax_step


def top_k(params: TopKParams, labels: list[str] | None = None) -> StepFn:
    k = params.k

    def top_k_step(x: Any) -> dict[str, Any]:
        scores = np.asarray(x)
        while scores.ndim > 1 and scores.shape[0] == 1:
            scores = scores[0]
        if scores.ndim != 1:
            raise StepError(
                f"top_k: expected a vector of scores, got an output of shape {np.shape(x)}"
            )
        if labels is not None and len(labels) < scores.size:
            raise StepError(
                f"top_k: the output has {scores.size} scores but there are only "
                f"{len(labels)} labels",
                hint="the labels must list one name per class, in the model's order",
            )
        # A stable sort of the negated scores puts equal scores in index order; float64
        # makes negation safe for unsigned integers.
        keys = scores if np.issubdtype(scores.dtype, np.floating) else scores.astype(np.float64)
        order = np.argsort(-keys, kind="stable")[:k]
        indices = [int(i) for i in order]
        return {
            "indices": indices,
            "scores": [float(scores[i]) for i in indices],
            "labels": [labels[i] for i in indices] if labels is not None else None,
        }

    return top_k_step
