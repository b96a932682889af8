"""Image steps: decoding, resizing and cropping HWC arrays.

Sizes and rounding follow torchvision's ``Resize`` and ``CenterCrop`` on PIL images, so that
a manifest can reproduce the pre-processing a model was trained with.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt

from reef.meta.steps import CenterCropParams, DecodeParams, ResizeParams
from reef.predictors.steps.registry import StepError, StepFn

Array = npt.NDArray[Any]


def decode(params: DecodeParams) -> StepFn:
    mode = params.mode

    def decode_step(data: Any) -> Array:
        from PIL import Image, UnidentifiedImageError

        if isinstance(data, np.ndarray):
            data = data.tobytes()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StepError(f"decode: expected encoded image bytes, got {type(data).__name__}")
        try:
            with Image.open(io.BytesIO(data)) as img:
                arr = np.array(img.convert("RGB" if mode == "BGR" else mode))
        except (UnidentifiedImageError, OSError) as exc:
            raise StepError(f"decode: the input is not an image Pillow can read: {exc}") from exc
        if mode == "L":
            return arr[..., np.newaxis]
        if mode == "BGR":
            return np.ascontiguousarray(arr[..., ::-1])
        return arr

    return decode_step


def _hw(arr: Array, step: str) -> tuple[int, int]:
    if arr.ndim not in (2, 3):
        raise StepError(
            f"{step}: expected an image of shape HxWxC or HxW, got shape {arr.shape}",
            hint=f"{step} works on one HWC sample; put it before any transpose to CHW",
        )
    return arr.shape[0], arr.shape[1]


def _output_size(size: int | list[int], h: int, w: int) -> tuple[int, int]:
    if isinstance(size, list):
        return (size[0], size[0]) if len(size) == 1 else (size[0], size[1])
    # The shorter side becomes `size`; the longer is scaled and truncated, as torchvision does.
    if h <= w:
        return size, int(size * w / h)
    return int(size * h / w), size


def resize(params: ResizeParams) -> StepFn:
    size, interpolation = params.size, params.interpolation

    def resize_step(x: Any) -> Array:
        arr = np.asarray(x)
        h, w = _hw(arr, "resize")
        out_h, out_w = _output_size(size, h, w)
        if (out_h, out_w) == (h, w):
            return arr
        return resize_array(arr, out_h, out_w, interpolation, "resize")

    return resize_step


def resize_array(arr: Array, height: int, width: int, interpolation: str, step: str) -> Array:
    """``arr`` (HxW or HxWxC, uint8 or floating point) resized with Pillow; ``step`` names the
    step in errors."""
    from PIL import Image

    resample = Image.Resampling[interpolation.upper()]

    def one(plane: Array) -> Array:
        return np.asarray(Image.fromarray(plane).resize((width, height), resample))

    channels = 1 if arr.ndim == 2 else arr.shape[2]
    if arr.dtype == np.uint8 and (arr.ndim == 2 or channels == 3):
        return one(np.ascontiguousarray(arr))
    if arr.dtype == np.uint8:
        # Other channel counts go band by band in mode L; Pillow's RGBA mode would
        # premultiply alpha and so change the colour channels of transparent pixels.
        planes = [one(np.ascontiguousarray(arr[:, :, c])) for c in range(channels)]
        return np.stack(planes, axis=2)
    if not np.issubdtype(arr.dtype, np.floating):
        raise StepError(
            f"{step}: supports uint8 and floating-point images, got {arr.dtype}",
            hint=f"add a cast step before {step}",
        )
    # Pillow resamples floating-point data only as single-band float32 ("F") images.
    f32 = arr.astype(np.float32, copy=False)
    if arr.ndim == 2:
        return one(np.ascontiguousarray(f32)).astype(arr.dtype, copy=False)
    planes = [one(np.ascontiguousarray(f32[:, :, c])) for c in range(channels)]
    return np.stack(planes, axis=2).astype(arr.dtype, copy=False)


def center_crop(params: CenterCropParams) -> StepFn:
    size = params.size

    def center_crop_step(x: Any) -> Array:
        arr = np.asarray(x)
        h, w = _hw(arr, "center_crop")
        crop_h, crop_w = (size, size) if isinstance(size, int) else _output_size(size, h, w)
        if crop_h > h or crop_w > w:
            raise StepError(
                f"center_crop: the crop {crop_h}x{crop_w} is larger than the image {h}x{w}",
                hint="resize the image to at least the crop size first",
            )
        # Python's round (half to even) is what torchvision uses for the offsets.
        top = round((h - crop_h) / 2)
        left = round((w - crop_w) / 2)
        return arr[top : top + crop_h, left : left + crop_w]

    return center_crop_step
