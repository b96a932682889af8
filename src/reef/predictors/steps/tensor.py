"""Steps that change an array's type, values or layout."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from reef.meta.steps import CastParams, NormalizeParams, ReshapeParams, ScaleParams, TransposeParams
from reef.predictors.steps.registry import StepError, StepFn

Array = npt.NDArray[Any]


def _float_type(x: Array) -> type[np.floating[Any]]:
    # float32 is what models take; float64 input is kept so that no precision is lost.
    return np.float64 if x.dtype == np.float64 else np.float32


def cast(params: CastParams) -> StepFn:
    dtype = np.dtype(params.dtype)

    def cast_step(x: Any) -> Array:
        return np.asarray(x).astype(dtype, copy=False)

    return cast_step


def scale(params: ScaleParams) -> StepFn:
    factor, offset = params.factor, params.offset

    def scale_step(x: Any) -> Array:
        arr = np.asarray(x)
        ftype = _float_type(arr)
        result: Array = arr.astype(ftype, copy=False) * ftype(factor) + ftype(offset)
        return result

    return scale_step


def normalize(params: NormalizeParams) -> StepFn:
    means = {t: np.asarray(params.mean, dtype=t) for t in (np.float32, np.float64)}
    stds = {t: np.asarray(params.std, dtype=t) for t in (np.float32, np.float64)}
    channels = len(params.mean)

    def normalize_step(x: Any) -> Array:
        arr = np.asarray(x)
        if not -arr.ndim <= params.channel_axis < arr.ndim:
            raise StepError(
                f"normalize: channel_axis {params.channel_axis} is out of range for a sample "
                f"of shape {arr.shape}"
            )
        axis = params.channel_axis % arr.ndim
        if arr.shape[axis] != channels:
            raise StepError(
                f"normalize: mean and std have {channels} values but axis {axis} of the "
                f"sample (shape {arr.shape}) has {arr.shape[axis]} channels",
                hint="set channel_axis to the axis that holds the channels (-1 for HWC, 0 for CHW)",
            )
        ftype = _float_type(arr)
        shape = [1] * arr.ndim
        shape[axis] = channels
        mean, std = means[ftype].reshape(shape), stds[ftype].reshape(shape)
        result: Array = (arr.astype(ftype, copy=False) - mean) / std
        return result

    return normalize_step


def reshape(params: ReshapeParams) -> StepFn:
    shape = tuple(params.shape)

    def reshape_step(x: Any) -> Array:
        arr = np.asarray(x)
        try:
            return arr.reshape(shape)
        except ValueError as exc:
            raise StepError(
                f"reshape: a sample of shape {arr.shape} ({arr.size} values) cannot be "
                f"reshaped to {list(shape)}",
                hint="steps work on one sample; leave the batch dimension out of the shape",
            ) from exc

    return reshape_step


def transpose(params: TransposeParams) -> StepFn:
    axes = tuple(params.axes())

    def transpose_step(x: Any) -> Array:
        arr = np.asarray(x)
        if arr.ndim != len(axes):
            raise StepError(
                f"transpose: {list(axes)} rearranges {len(axes)} axes but the sample has "
                f"{arr.ndim} (shape {arr.shape})",
                hint="steps work on one sample; leave the batch dimension out",
            )
        return arr.transpose(axes)

    return transpose_step
