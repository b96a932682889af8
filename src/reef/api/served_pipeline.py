"""A served model's pre- and post-processing (``reef serve``'s ``{m}-pipeline`` models): the
manifest's steps, built as ``reef bench`` builds them, around the model's own tensors.

A pipeline takes raw inputs and answers post-processed outputs:

- an input whose steps begin with ``decode`` takes encoded images, one a ``BYTES`` element
  (shape ``[-1]``: a row is one image); another input with steps takes the raw tensor the
  steps take, as the model's dataset holds its rows (its npz header's datatype and row
  shape) or, without one, the model's own datatype and shape; an input without steps is the
  model's own;
- an output with steps is what they make of each row: an array (its datatype and shape
  read from the steps' answer to a row of zeros, when the model opens), text (``BYTES``), or
  a mapping (``top_k``'s), whose entries become outputs of their own, ``{output}.{key}``
  (``probabilities.indices``, ``probabilities.scores``, ``probabilities.labels``); a value
  none of these fit is ``BYTES`` JSON text; an output without steps is the model's own.

Each row goes through the steps on its own, as ``reef bench`` feeds samples, so a row's
answer does not depend on the rows it came with. ``BYTES`` tensors are numpy object arrays
of ``bytes``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reef.errors import ReefError

if TYPE_CHECKING:
    import numpy as np

    from reef.api.serving import TensorMetadata
    from reef.bench.target import ResolvedTarget

SUFFIX = "-pipeline"
# An encoded image's pixels, at most, and a request's in all: a small, highly compressed file
# (a decompression bomb) would otherwise take gigabytes and minutes of a worker to decode.
MAX_IMAGE_PIXELS = 40_000_000
MAX_REQUEST_PIXELS = 256_000_000
# The image formats a served pipeline decodes from the network. Pillow opens some forty; some
# run other programs to decode (EPS: Ghostscript) or are rarely exercised decoders.
SERVED_IMAGE_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "BMP", "WEBP", "TIFF", "PPM"})


class ProcessingError(Exception):
    """A raw input the pre-processing could not take (HTTP 400): ``input`` names it."""

    def __init__(self, input: str, message: str) -> None:
        super().__init__(f"input {input!r}: {message}")
        self.input = input


@dataclass(frozen=True)
class _RawInput:
    spec: TensorMetadata  # what the pipeline takes
    model: TensorMetadata  # what the model takes
    steps: Callable[[Any], Any] | None  # None: passed through as it is
    element_type: str  # the model's numpy dtype
    images: bool = False  # the steps decode encoded images (their size is checked first)


@dataclass(frozen=True)
class _Leaf:
    spec: TensorMetadata  # the pipeline's output
    output: str  # the model's output it comes from
    path: tuple[str, ...]  # the keys into the post-processed value; () for all of it
    json: bool = False  # BYTES JSON text of the value


class Processing:
    """The pre- and post-processing of one served model: ``inputs`` and ``outputs`` are the
    pipeline's metadata; ``preprocess`` turns raw inputs into the model's, ``postprocess``
    the model's outputs into the pipeline's."""

    def __init__(
        self, raw: list[_RawInput], posts: dict[str, Callable[[Any], Any]], leaves: list[_Leaf]
    ) -> None:
        self._raw, self._posts, self._leaves = raw, posts, leaves
        self.inputs = [r.spec for r in raw]
        self.outputs = [leaf.spec for leaf in leaves]

    def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's inputs for raw ones (checked by the protocol against ``inputs``): each
        row through its input's steps, stacked as the model takes them. A row the steps
        cannot take is a ``ProcessingError`` naming the input."""
        import numpy as np

        feeds: dict[str, np.ndarray] = {}
        for raw in self._raw:
            value = inputs[raw.spec.name]
            if raw.steps is None:
                feeds[raw.model.name] = value
                continue
            name = raw.spec.name
            given = []
            for i in range(value.shape[0]):
                row = value[i]
                if isinstance(row, np.ndarray) and row.dtype == object and row.size == 1:
                    row = row.reshape(-1)[0]  # one encoded image
                given.append(row)
            if raw.images:  # every image's size from its header, before any is decoded
                pixels = 0
                for i, row in enumerate(given):
                    pixels += _pixels(row, name, i)
                    if pixels > MAX_REQUEST_PIXELS:
                        raise ProcessingError(
                            name,
                            f"row {i}: the request's images hold more than {MAX_REQUEST_PIXELS:,} "
                            "pixels in all; send fewer a request",
                        )
            rows = []
            for i, row in enumerate(given):
                try:
                    rows.append(np.asarray(raw.steps(row), dtype=raw.element_type))
                except ReefError as exc:
                    raise ProcessingError(name, f"row {i}: {exc.message}") from None
                except Exception as exc:  # numpy or Pillow refusing what a step was given
                    raise ProcessingError(
                        name, f"row {i}: pre-processing failed: {type(exc).__name__}: {exc}"
                    ) from None
            if not rows:
                raise ProcessingError(name, "no rows")
            shapes = {r.shape for r in rows}
            if len(shapes) > 1:
                raise ProcessingError(
                    name, f"its rows' pre-processing gave different shapes {sorted(shapes)}"
                )
            stacked = np.ascontiguousarray(np.stack(rows))
            want = raw.model.shape
            if len(want) != stacked.ndim or any(
                w != -1 and g != w for g, w in zip(stacked.shape, want, strict=True)
            ):
                raise ProcessingError(
                    name,
                    f"pre-processing gave rows of shape {list(stacked.shape[1:])}, the model "
                    f"takes {want}",
                )
            feeds[raw.model.name] = stacked
        return feeds

    def postprocess(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The pipeline's outputs for the model's: each row of an output with steps through
        them; a value that does not fit its declared datatype and shape is a ``ValueError``."""
        import numpy as np

        processed: dict[str, list[Any]] = {}
        for name, post in self._posts.items():
            value = outputs[name]
            processed[name] = [post(value[i]) for i in range(value.shape[0])]
        answer: dict[str, np.ndarray] = {}
        for leaf in self._leaves:
            if leaf.output not in processed:
                answer[leaf.spec.name] = outputs[leaf.output]
                continue
            rows = [_row(_at(v, leaf.path), leaf) for v in processed[leaf.output]]
            shapes = {r.shape for r in rows}
            if len(shapes) > 1:
                raise ValueError(
                    f"output {leaf.spec.name!r}: the rows' post-processing gave different "
                    f"shapes {sorted(shapes)}"
                )
            if rows:
                answer[leaf.spec.name] = np.stack(rows)
            else:
                shape = [0, *(max(d, 0) for d in leaf.spec.shape[1:])]
                answer[leaf.spec.name] = np.empty(shape, dtype=_numpy_type(leaf.spec.datatype))
        return answer


def _pixels(data: Any, name: str, row: int) -> int:
    """The pixels of the encoded image ``data``, read from its header (nothing decoded); a
    ``ProcessingError`` past ``MAX_IMAGE_PIXELS`` or for a format outside
    ``SERVED_IMAGE_FORMATS``. Bytes Pillow cannot read count as none: the decode step says
    what is wrong with them."""
    import io

    from PIL import Image

    if not isinstance(data, bytes | bytearray):
        return 0
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            kind = image.format
    except Image.DecompressionBombError as exc:  # past twice Pillow's own bound
        raise ProcessingError(name, f"row {row}: {exc}") from None
    except Exception:  # not an image: the decode step's error names it
        return 0
    if kind not in SERVED_IMAGE_FORMATS:
        raise ProcessingError(
            name,
            f"row {row}: an image in {kind} format; a served pipeline decodes "
            f"{', '.join(sorted(SERVED_IMAGE_FORMATS))} only",
        )
    if width * height > MAX_IMAGE_PIXELS:
        raise ProcessingError(
            name,
            f"row {row}: an image of {width} x {height} pixels, more than the "
            f"{MAX_IMAGE_PIXELS:,} a served image may have",
        )
    return width * height


def _numpy_type(datatype: str) -> Any:
    from reef.api.serving import DATATYPES

    if datatype == "BYTES":
        return object
    return {v: k for k, v in DATATYPES.items()}[datatype]


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _row(value: Any, leaf: _Leaf) -> np.ndarray:
    import numpy as np

    spec = leaf.spec
    if leaf.json:
        return np.array(_json(value).encode("utf-8"), dtype=object)
    if spec.datatype == "BYTES":
        text = np.asarray(value, dtype=object)
        flat = [v.encode("utf-8") if isinstance(v, str) else v for v in text.reshape(-1)]
        if not all(isinstance(v, bytes) for v in flat):
            raise ValueError(f"output {spec.name!r}: post-processing gave a non-text value")
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(text.shape)
    array = np.asarray(value)
    if _datatype(array) != spec.datatype:
        raise ValueError(
            f"output {spec.name!r}: post-processing gave {array.dtype}, its metadata says "
            f"{spec.datatype}"
        )
    return array


def _json(value: Any) -> str:
    import numpy as np

    def plain(x: Any) -> Any:
        if isinstance(x, np.ndarray | np.generic):
            return x.tolist()
        if isinstance(x, bytes):
            return x.decode("utf-8", "replace")
        raise TypeError(f"{type(x).__name__} is not JSON")

    return json.dumps(value, default=plain, separators=(",", ":"))


def _datatype(array: np.ndarray) -> str | None:
    from reef.api.serving import DATATYPES

    if array.dtype.kind in "US":
        return "BYTES"
    return DATATYPES.get(array.dtype.name)


def _leaves(
    name: str, output: str, value: Any, path: tuple[str, ...], dynamic: bool
) -> list[_Leaf]:
    """The pipeline's outputs for one output's post-processed value of a row (a probe's)."""
    import numpy as np

    from reef.api.serving import TensorMetadata

    def leaf(datatype: str, shape: tuple[int, ...], json: bool = False) -> _Leaf:
        dims = [-1 if dynamic else d for d in shape]
        return _Leaf(
            TensorMetadata(name=name, datatype=datatype, shape=[-1, *dims]), output, path, json
        )

    if isinstance(value, dict):
        found: list[_Leaf] = []
        for key, item in value.items():
            if item is None:
                continue  # top_k's labels where the output has none
            found.extend(_leaves(f"{name}.{key}", output, item, (*path, str(key)), dynamic))
        return found
    if isinstance(value, str | bytes):
        return [leaf("BYTES", ())]
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = np.asarray(None, dtype=object)
    if (
        array.dtype == object
        and array.size
        and all(isinstance(v, str | bytes) for v in array.reshape(-1))
    ):
        return [leaf("BYTES", array.shape)]
    datatype = _datatype(array)
    if datatype is None or (datatype == "BYTES" and array.dtype.kind not in "US"):
        return [leaf("BYTES", (), json=True)]
    return [leaf(datatype, array.shape)]


def open_processing(
    resolved: ResolvedTarget, inputs: list[TensorMetadata], outputs: list[TensorMetadata]
) -> Processing | str | None:
    """The processing of a served model (``inputs`` and ``outputs``: its own metadata): None
    where its manifest declares none, or a sentence saying why it could not be built (a
    step's plugin missing, a step the probe of its outputs refuses)."""
    manifest = resolved.manifest
    if manifest is None or not (
        any(i.steps for i in manifest.inputs) or any(o.steps for o in manifest.outputs)
    ):
        return None
    try:
        return _build(resolved, inputs, outputs)
    except ReefError as exc:
        return exc.message


def _build(
    resolved: ResolvedTarget, inputs: list[TensorMetadata], outputs: list[TensorMetadata]
) -> Processing:
    import numpy as np

    from reef.meta.steps import step_name
    from reef.predictors.steps import StepError, build_pipeline

    manifest = resolved.manifest
    assert manifest is not None
    declared_in = {s.name: s for s in manifest.inputs}
    raw: list[_RawInput] = []
    for spec in inputs:
        declared = declared_in.get(spec.name)
        element_type = _numpy_type(spec.datatype)
        if declared is None or not declared.steps:
            raw.append(_RawInput(spec, spec, None, element_type))
            continue
        steps = build_pipeline(declared.steps)
        taken = _raw_spec(resolved, spec, declared.steps)
        images = step_name(declared.steps[0]) == "decode"
        raw.append(_RawInput(taken, spec, steps, element_type, images))
    declared_out = {o.name: o for o in manifest.outputs}
    posts: dict[str, Callable[[Any], Any]] = {}
    leaves: list[_Leaf] = []
    for spec in outputs:
        out = declared_out.get(spec.name)
        if out is None or not out.steps:
            leaves.append(_Leaf(spec, spec.name, ()))
            continue
        post = build_pipeline(out.steps, labels=out.labels)
        posts[spec.name] = post
        row = [max(d, 1) for d in spec.shape[1:]]
        try:
            probe = post(np.zeros(row, dtype=_numpy_type(spec.datatype)))
        except (StepError, ValueError, TypeError, IndexError) as exc:
            message = exc.message if isinstance(exc, ReefError) else str(exc)
            raise ReefError(
                f"output {spec.name!r}: its post-processing refused a row of zeros of shape "
                f"{row}: {message}"
            ) from exc
        dynamic = any(d < 0 for d in spec.shape[1:])
        leaves.extend(_leaves(spec.name, spec.name, probe, (), dynamic))
    names = [leaf.spec.name for leaf in leaves]
    if len(set(names)) != len(names):
        raise ReefError(f"the pipeline's outputs would share names: {names}")
    return Processing(raw, posts, leaves)


def _raw_spec(resolved: ResolvedTarget, spec: TensorMetadata, steps: list[Any]) -> TensorMetadata:
    """What an input with steps takes raw: encoded images where the steps decode them; else
    a row of the model's dataset (its npz header), or, without one, the model's own."""
    from reef.api.serving import DATATYPES, TensorMetadata
    from reef.meta.steps import step_name

    if step_name(steps[0]) == "decode":
        return TensorMetadata(name=spec.name, datatype="BYTES", shape=[-1])
    header = _dataset_row(resolved, spec.name)
    if header is not None:
        dtype, row = header
        datatype = DATATYPES.get(dtype)
        if datatype is not None:
            return TensorMetadata(name=spec.name, datatype=datatype, shape=[-1, *row])
    return spec


def _dataset_row(resolved: ResolvedTarget, name: str) -> tuple[str, list[int]] | None:
    """The dtype and row shape of the npz dataset's features, where they feed input
    ``name``: read from the .npy header, nothing inflated."""
    import zipfile

    import numpy as np

    from reef.bench.samples import dataset_input

    dataset, path, manifest = resolved.dataset, resolved.dataset_path, resolved.manifest
    if dataset is None or path is None or manifest is None or dataset.format != "npz":
        return None
    try:
        if dataset_input(manifest, str(resolved.manifest_path)).name != name:
            return None
        with zipfile.ZipFile(path) as archive, archive.open(f"{dataset.features}.npy") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    except (ReefError, OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if dtype.hasobject or len(shape) < 1:
        return None
    return dtype.name, [int(d) for d in shape[1:]]
