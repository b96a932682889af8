"""Text-line steps: PP-OCR's resize-and-pad pre-processing and greedy CTC decoding.

``resize_pad`` scales a line image to a fixed height, keeping its aspect ratio unless the
result would be wider than the model takes, and pads it on the right; ``ctc_decode`` turns a
recogniser's ``[T, C]`` scores into a string.
"""

from __future__ import annotations

import hashlib
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reef.errors import ChecksumError
from reef.meta.common import package_folder
from reef.meta.steps import CharsetSource, CtcDecodeParams, ResizePadParams
from reef.predictors.steps.image import resize_array
from reef.predictors.steps.registry import StepError, StepFn

Array = npt.NDArray[Any]


def resize_pad(params: ResizePadParams) -> StepFn:
    height, width, pad_value = params.height, params.width, params.pad_value
    interpolation = params.interpolation

    def resize_pad_step(x: Any) -> Array:
        arr = np.asarray(x)
        if arr.ndim not in (2, 3) or 0 in arr.shape[:2]:
            raise StepError(
                f"resize_pad: expected an image of shape HxWxC or HxW, got shape {arr.shape}",
                hint="resize_pad works on one HWC sample; put it before any transpose to CHW",
            )
        if np.issubdtype(arr.dtype, np.integer):
            info = np.iinfo(arr.dtype)
            if pad_value != int(pad_value) or not info.min <= pad_value <= info.max:
                raise StepError(
                    f"resize_pad: pad_value {pad_value} is not a {arr.dtype} value",
                    hint="scale or cast the image to floating point before resize_pad",
                )
        h, w = arr.shape[:2]
        # PP-OCR: the width the aspect ratio asks for, rounded up, at most the model's width.
        new_w = min(width, math.ceil(height * w / h))
        resized = (
            arr
            if (h, w) == (height, new_w)
            else resize_array(arr, height, new_w, interpolation, "resize_pad")
        )
        out = np.full((height, width, *arr.shape[2:]), pad_value, dtype=arr.dtype)
        out[:, :new_w] = resized
        return out

    return resize_pad_step


def _charset_file(source: CharsetSource) -> Path:
    folder = package_folder(source.package)
    if folder is None:
        raise StepError(
            f"ctc_decode: {source.package} is not installed in this interpreter: "
            "run `reef init <solution>`",
            hint="its charset is read from the installed package, where the model runs",
        )
    root = folder.resolve()
    file = (root / source.path).resolve()
    if not file.is_relative_to(root):
        raise StepError(f"ctc_decode: charset path {source.path!r} leads outside {root}")
    if not file.is_file():
        raise StepError(f"ctc_decode: {source.package} has no file {source.path} ({file})")
    return file


@cache
def _read_characters(file: Path, sha256: str, metadata: str | None, stamp: int) -> list[str]:
    """The characters in ``file`` after its sha256 was checked; ``stamp`` (its mtime) keys
    the cache so that a replaced file is read again."""
    data = file.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ChecksumError(str(file), sha256, actual)
    if metadata is None:
        return data.decode("utf-8").splitlines()
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    entries: dict[str, str] = session.get_modelmeta().custom_metadata_map
    if metadata not in entries:
        raise StepError(
            f"ctc_decode: {file} has no metadata entry {metadata!r}",
            hint=f"its metadata holds: {', '.join(sorted(entries)) or 'nothing'}",
        )
    return entries[metadata].splitlines()


def _characters(source: CharsetSource) -> list[str]:
    file = _charset_file(source)
    return list(_read_characters(file, source.sha256, source.metadata, file.stat().st_mtime_ns))


def ctc_decode(params: CtcDecodeParams, labels: list[str] | None = None) -> StepFn:
    blank, strip = params.blank, params.strip
    if params.charset is not None:
        chars = [*_characters(params.charset), *params.append]
        table = [*chars[:blank], "", *chars[blank:]]
    elif labels is not None:
        table = [*labels, *params.append]
        if blank >= len(table):
            raise StepError(f"ctc_decode: blank {blank} is not a class of the {len(table)} labels")
        table[blank] = ""
    else:
        raise StepError(
            "ctc_decode: no characters to decode to",
            hint="give ctc_decode a charset, or the output labels naming every class",
        )
    lookup = np.asarray(table, dtype=object)

    def ctc_decode_step(x: Any) -> str:
        scores = np.asarray(x)
        if np.issubdtype(scores.dtype, np.integer):
            # Each step's best class already (an output logged as its argmax).
            best = scores.reshape(-1)
            if best.size and (best.min() < 0 or best.max() >= len(table)):
                raise StepError(
                    f"ctc_decode: class {int(best.max())} is outside the {len(table)} classes "
                    "the charset names"
                )
            return _collapse(best)
        while scores.ndim > 2 and scores.shape[0] == 1:
            scores = scores[0]
        if scores.ndim != 2:
            raise StepError(
                f"ctc_decode: expected scores of shape [steps, classes], got {np.shape(x)}"
            )
        if scores.shape[1] != len(table):
            raise StepError(
                f"ctc_decode: the output has {scores.shape[1]} classes but the charset names "
                f"{len(table)} (the blank included)",
                hint="the charset must list one character per class, in the model's order",
            )
        return _collapse(scores.argmax(axis=1))

    def _collapse(best: Any) -> str:
        keep = np.ones(best.shape, dtype=bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != blank
        text = "".join(lookup[best[keep]])
        return text.strip() if strip else text

    return ctc_decode_step
