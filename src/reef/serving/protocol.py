"""The Open Inference Protocol v2's inference request and response (the KServe / Triton REST
protocol), JSON tensors and the binary tensor data extension.

A request is JSON (``{"id", "parameters", "inputs": [{"name", "shape", "datatype", "data"}],
"outputs": [{"name", "parameters": {"binary_data": bool}}]}``), or, with the binary extension,
that JSON (its length in the ``Inference-Header-Content-Length`` header) followed by the raw
bytes of each input whose ``parameters.binary_data_size`` says how many, in the inputs' order.
An answer is JSON with each output's data as a flat row-major list, or, for the outputs asked
as binary (``binary_data`` on the output, ``binary_data_output`` on the request), its bytes
after the JSON, with ``binary_data_size`` and the same header. A ``BYTES`` tensor (a pipeline's
encoded images, its labels) is a numpy object array of ``bytes``: strings in JSON (base64
where the input's ``content_type`` says so), and as binary data each element's 4-byte
little-endian length, then its bytes. Every problem with a request is a ``ProtocolError``
(HTTP 400) saying which tensor and what.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from reef.api.serving import DATATYPES

if TYPE_CHECKING:
    import numpy as np

    from reef.api.serving import TensorMetadata

HEADER_LENGTH = "inference-header-content-length"
NUMPY_TYPES = {datatype: element for element, datatype in DATATYPES.items()}
MAX_ELEMENTS = 1 << 28  # one tensor's elements, at most (1 GiB of FP32)


class Described(Protocol):
    """What the protocol reads of a model: a served model's, or a pipeline's
    (``reef.serving.pipeline``)."""

    name: str
    version: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ProtocolError(Exception):
    """A request the protocol (or the model) does not allow: HTTP 400 with its message."""


@dataclass
class InferRequest:
    id: str | None
    inputs: dict[str, np.ndarray]
    outputs: list[str]  # the outputs to answer, in order
    binary: dict[str, bool] = field(default_factory=dict)  # output name -> as binary data

    @property
    def rows(self) -> int:
        """The request's size along the batch axis (its inputs' first dimension)."""
        first = next(iter(self.inputs.values()))
        return int(first.shape[0]) if first.ndim else 1


def parse_infer(body: bytes, header_length: str | None, model: Described) -> InferRequest:
    """The request in ``body``, checked against the model's inputs and outputs."""
    head, tail = _split(body, header_length)
    try:
        data = json.loads(head)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"the request is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("the request is not a JSON object")
    raw_inputs = data.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise ProtocolError("'inputs': a list of input tensors is required")
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError("'id' must be a string")
    expected = {t.name: t for t in model.inputs}
    inputs: dict[str, np.ndarray] = {}
    offset = 0
    for i, item in enumerate(raw_inputs):
        if not isinstance(item, dict):
            raise ProtocolError(f"inputs[{i}] is not an object")
        name = item.get("name")
        if not isinstance(name, str) or name not in expected:
            known = ", ".join(expected)
            raise ProtocolError(f"inputs[{i}]: unknown input {name!r} (the model takes {known})")
        if name in inputs:
            raise ProtocolError(f"input {name!r} given twice")
        array, offset = _tensor(item, expected[name], tail, offset)
        inputs[name] = array
    if offset != len(tail):
        raise ProtocolError(
            f"{len(tail) - offset} bytes of binary data after the last binary input's"
        )
    missing = [n for n in expected if n not in inputs]
    if missing:
        raise ProtocolError(f"missing input {missing[0]!r}")
    rows = {a.shape[0] if a.ndim else None for a in inputs.values()}
    if len(rows) > 1:
        raise ProtocolError("the inputs disagree on their first (batch) dimension")
    outputs, binary = _requested(data, model)
    return InferRequest(request_id, inputs, outputs, binary)


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    try:
        length = int(header_length)
    except ValueError:
        raise ProtocolError(f"{HEADER_LENGTH}: {header_length!r} is not a number") from None
    if not 0 <= length <= len(body):
        raise ProtocolError(f"{HEADER_LENGTH}: {length} is not within the body's {len(body)} bytes")
    return body[:length], body[length:]


def _tensor(
    item: dict[str, Any], spec: TensorMetadata, tail: bytes, offset: int
) -> tuple[np.ndarray, int]:
    import numpy as np

    name = spec.name
    datatype = item.get("datatype")
    if datatype != spec.datatype:
        raise ProtocolError(
            f"input {name!r}: datatype {datatype!r}, the model takes {spec.datatype}"
        )
    shape = item.get("shape")
    if not (
        isinstance(shape, list)
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise ProtocolError(f"input {name!r}: 'shape' must be a list of sizes")
    if len(shape) != len(spec.shape) or any(
        want != -1 and got != want for got, want in zip(shape, spec.shape, strict=True)
    ):
        raise ProtocolError(f"input {name!r}: shape {shape}, the model takes {spec.shape}")
    count = math.prod(shape)  # Python's integers: a product past 64 bits does not wrap
    if count > MAX_ELEMENTS:
        raise ProtocolError(f"input {name!r}: {count} elements, more than {MAX_ELEMENTS}")
    parameters = item.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ProtocolError(f"input {name!r}: 'parameters' must be an object")
    if spec.datatype == "BYTES":
        return _bytes_tensor(item, name, shape, count, parameters, tail, offset)
    dtype = np.dtype(NUMPY_TYPES[spec.datatype])
    size = parameters.get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size < 0:
            raise ProtocolError(f"input {name!r}: binary_data_size must be a size in bytes")
        if size != count * dtype.itemsize:
            raise ProtocolError(
                f"input {name!r}: binary_data_size {size}, the shape {shape} of "
                f"{spec.datatype} takes {count * dtype.itemsize}"
            )
        if offset + size > len(tail):
            raise ProtocolError(f"input {name!r}: the binary data ends before its {size} bytes")
        if spec.datatype == "BOOL":  # a byte each, any non-zero true (a 2 stays no bool)
            flags = np.frombuffer(tail[offset : offset + size], dtype=np.uint8) != 0
            return flags.reshape(shape), offset + size
        array = np.frombuffer(tail[offset : offset + size], dtype=dtype.newbyteorder("<"))
        return array.astype(dtype, copy=True).reshape(shape), offset + size
    if "data" not in item:
        raise ProtocolError(f"input {name!r}: no 'data' and no binary_data_size")
    array = _numbers(item["data"], name, spec.datatype, dtype)
    if array.size != count:
        raise ProtocolError(f"input {name!r}: {array.size} values, the shape {shape} holds {count}")
    return array.reshape(shape), offset


def _numbers(data: Any, name: str, datatype: str, dtype: np.dtype[Any]) -> np.ndarray:
    """JSON ``data`` as ``dtype``: JSON numbers only (no text, and booleans for ``BOOL``
    only), integers for the integer datatypes, each value within the datatype's range."""
    import numpy as np

    try:
        given = np.asarray(data)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ProtocolError(f"input {name!r}: data is not {datatype}: {exc}") from None
    kind = given.dtype.kind
    if given.size and kind != dtype.kind:
        allowed = {"b": "b", "u": "iu", "i": "iu", "f": "iuf"}[dtype.kind]
        if kind not in allowed:
            what = {"b": "booleans", "i": "integers", "u": "integers", "f": "numbers"}
            raise ProtocolError(
                f"input {name!r}: {datatype} data must be JSON {what[dtype.kind]}"
                + (" within its range" if kind == "O" and dtype.kind in "iu" else "")
            )
    if given.size and dtype.kind in "iu" and kind in "iu":
        info = np.iinfo(dtype)
        if given.min() < info.min or given.max() > info.max:
            raise ProtocolError(
                f"input {name!r}: a value outside {datatype}'s range {info.min}..{info.max}"
            )
    try:
        with np.errstate(over="raise"):
            return given.astype(dtype, copy=False)
    except FloatingPointError:
        raise ProtocolError(f"input {name!r}: a value outside {datatype}'s range") from None


def _bytes_tensor(
    item: dict[str, Any],
    name: str,
    shape: list[int],
    count: int,
    parameters: dict[str, Any],
    tail: bytes,
    offset: int,
) -> tuple[np.ndarray, int]:
    """A BYTES tensor, as a numpy object array of ``bytes``: in JSON, strings (UTF-8; base64
    with the input's ``content_type: base64``, as MLServer takes them); as binary data, each
    element's 4-byte little-endian length, then its bytes."""
    import base64
    import binascii

    import numpy as np

    size = parameters.get("binary_data_size")
    elements: list[bytes] = []
    if size is not None:
        if not isinstance(size, int) or size < 0:
            raise ProtocolError(f"input {name!r}: binary_data_size must be a size in bytes")
        if offset + size > len(tail):
            raise ProtocolError(f"input {name!r}: the binary data ends before its {size} bytes")
        data, at = tail[offset : offset + size], 0
        while at < size:
            if at + 4 > size:
                raise ProtocolError(f"input {name!r}: an element's 4-byte length is cut short")
            length = int.from_bytes(data[at : at + 4], "little")
            if at + 4 + length > size:
                raise ProtocolError(
                    f"input {name!r}: element {len(elements)} of {length} bytes runs past the "
                    f"{size} bytes of binary_data_size"
                )
            elements.append(bytes(data[at + 4 : at + 4 + length]))
            at += 4 + length
        offset += size
    else:
        if "data" not in item:
            raise ProtocolError(f"input {name!r}: no 'data' and no binary_data_size")
        encoding = parameters.get("content_type")
        if encoding not in (None, "str", "base64"):
            raise ProtocolError(
                f"input {name!r}: content_type {encoding!r}: BYTES data in JSON is text (str) "
                "or base64"
            )
        flat = _flatten(item["data"])
        if flat is None or not all(isinstance(v, str) for v in flat):
            raise ProtocolError(f"input {name!r}: BYTES data in JSON must be strings")
        for i, text in enumerate(flat):
            if encoding == "base64":
                try:
                    elements.append(base64.b64decode(text, validate=True))
                except (binascii.Error, ValueError):
                    raise ProtocolError(f"input {name!r}: element {i} is not base64") from None
            else:
                elements.append(text.encode("utf-8"))
    if len(elements) != count:
        raise ProtocolError(
            f"input {name!r}: {len(elements)} elements, the shape {shape} holds {count}"
        )
    array = np.empty(count, dtype=object)
    array[:] = elements
    return array.reshape(shape), offset


def _flatten(data: Any) -> list[Any] | None:
    """Nested lists' leaves in row-major order; None where a leaf is a dict."""
    if isinstance(data, list):
        found: list[Any] = []
        for item in data:
            inner = _flatten(item)
            if inner is None:
                return None
            found.extend(inner)
        return found
    return None if isinstance(data, dict) else [data]


def _requested(data: dict[str, Any], model: Described) -> tuple[list[str], dict[str, bool]]:
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ProtocolError("'parameters' must be an object")
    default = parameters.get("binary_data_output", False)
    if not isinstance(default, bool):
        raise ProtocolError("parameters.binary_data_output must be true or false")
    known = [t.name for t in model.outputs]
    asked = data.get("outputs")
    if asked is None:
        return known, dict.fromkeys(known, default)
    if not isinstance(asked, list):
        raise ProtocolError("'outputs' must be a list")
    names: list[str] = []
    binary: dict[str, bool] = {}
    for i, item in enumerate(asked):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or name not in known:
            raise ProtocolError(
                f"outputs[{i}]: unknown output {name!r} (the model has {', '.join(known)})"
            )
        own = item.get("parameters") or {}
        if not isinstance(own, dict):
            raise ProtocolError(f"outputs[{i}]: 'parameters' must be an object")
        wanted = own.get("binary_data", default)
        if not isinstance(wanted, bool):
            raise ProtocolError(f"outputs[{i}]: parameters.binary_data must be true or false")
        names.append(name)
        binary[name] = wanted
    return names, binary


def response(
    model: Described, request: InferRequest, outputs: dict[str, np.ndarray]
) -> tuple[bytes, dict[str, str]]:
    """The answer's body and headers: JSON, with the binary outputs' bytes after it."""
    import numpy as np

    types = {t.name: t.datatype for t in model.outputs}
    listed: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name in request.outputs:
        value = np.asarray(outputs[name])
        entry: dict[str, Any] = {
            "name": name,
            "datatype": types[name],
            "shape": list(value.shape),
        }
        if types[name] == "BYTES":
            elements = [_bytes_of(v) for v in value.reshape(-1)]
            if request.binary.get(name):
                raw = b"".join(len(e).to_bytes(4, "little") + e for e in elements)
                entry["parameters"] = {"binary_data_size": len(raw)}
                blobs.append(raw)
            else:
                entry["data"] = [e.decode("utf-8", "replace") for e in elements]
        elif request.binary.get(name):
            raw = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            entry["data"] = value.reshape(-1).tolist()
        listed.append(entry)
    answer: dict[str, Any] = {"model_name": model.name, "model_version": model.version}
    if request.id is not None:
        answer["id"] = request.id
    answer["outputs"] = listed
    head = json.dumps(answer, separators=(",", ":"), allow_nan=True).encode("utf-8")
    if not blobs:
        return head, {"content-type": "application/json"}
    headers = {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(head))}
    return head + b"".join(blobs), headers


def _bytes_of(value: Any) -> bytes:
    """One BYTES element's bytes: text is UTF-8."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")
