"""What an ONNX graph says about its integer inputs: the size of the tensors they index.

Random token ids or class ids out of range make Gather fail at run time, so zero-config
feeds an integer input values in ``[0, n)``, n the smallest fixed size it indexes. Reading
that needs the graph, and the ``onnx`` package (22 MB) is not one of Reef's requirements: this
module reads the few fields it needs straight from the protobuf wire format (ModelProto ->
GraphProto -> nodes, initializers and value infos), memory-mapped, skipping the weights'
bytes. Anything it does not understand yields no bound, never an error.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Field numbers of onnx.proto (ONNX IR version 3 onwards).
_MODEL_GRAPH = 7
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_VALUE_INFO = 1, 5, 11, 13
_NODE_INPUT, _NODE_OUTPUT, _NODE_OP_TYPE, _NODE_ATTRIBUTE = 1, 2, 4, 5
_ATTR_NAME, _ATTR_I, _ATTR_T = 1, 3, 5
_TENSOR_DIMS = 1
_VALUE_NAME, _VALUE_TYPE = 1, 2
_TYPE_TENSOR, _TENSOR_TYPE_SHAPE, _SHAPE_DIM, _DIM_VALUE = 1, 2, 1, 1

# Operators whose indices input (the second) selects along the data input's axis.
_GATHERS = frozenset({"Gather", "GatherElements", "GatherND"})
# Operators that pass their first input's values on unchanged (only their layout or type).
_PASS_THROUGH = frozenset(
    {"Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Expand", "Transpose"}
)

Span = tuple[int, int]


@dataclass
class _Node:
    op: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    axis: int = 0
    constant_dims: list[int] | None = None  # a Constant node's tensor's shape


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int | Span]]:
    """(field number, wire type, value): an int for varints, a span for length-delimited."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield number, wire, (pos, pos + length)
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"wire type {wire}")
    if pos != end:
        raise ValueError("truncated message")


def _text(buf: memoryview, span: int | Span) -> str:
    assert isinstance(span, tuple)
    return bytes(buf[span[0] : span[1]]).decode("utf-8", "replace")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _dims(buf: memoryview, tensor: Span) -> list[int]:
    dims: list[int] = []
    for number, wire, value in _fields(buf, *tensor):
        if number != _TENSOR_DIMS:
            continue
        if wire == 0:
            assert isinstance(value, int)
            dims.append(_signed(value))
        elif isinstance(value, tuple):  # packed
            pos = value[0]
            while pos < value[1]:
                dim, pos = _varint(buf, pos)
                dims.append(_signed(dim))
    return dims


def _tensor_name(buf: memoryview, tensor: Span) -> str:
    return next((_text(buf, v) for n, w, v in _fields(buf, *tensor) if n == 8 and w == 2), "")


def _value_info(buf: memoryview, span: Span) -> tuple[str, list[int | None]]:
    name, dims = "", []
    for number, _, value in _fields(buf, *span):
        if number == _VALUE_NAME:
            name = _text(buf, value)
        elif number == _VALUE_TYPE and isinstance(value, tuple):
            dims = _type_dims(buf, value)
    return name, dims


def _type_dims(buf: memoryview, span: Span) -> list[int | None]:
    for number, _, tensor in _fields(buf, *span):
        if number != _TYPE_TENSOR or not isinstance(tensor, tuple):
            continue
        for n2, _, shape in _fields(buf, *tensor):
            if n2 != _TENSOR_TYPE_SHAPE or not isinstance(shape, tuple):
                continue
            dims: list[int | None] = []
            for n3, _, dim in _fields(buf, *shape):
                if n3 == _SHAPE_DIM and isinstance(dim, tuple):
                    fixed = [v for n4, w, v in _fields(buf, *dim) if n4 == _DIM_VALUE and w == 0]
                    dims.append(int(fixed[0]) if fixed else None)  # type: ignore[arg-type]
            return dims
    return []


def _node(buf: memoryview, span: Span) -> _Node:
    node = _Node()
    for number, _, value in _fields(buf, *span):
        if number == _NODE_INPUT:
            node.inputs.append(_text(buf, value))
        elif number == _NODE_OUTPUT:
            node.outputs.append(_text(buf, value))
        elif number == _NODE_OP_TYPE:
            node.op = _text(buf, value)
        elif number == _NODE_ATTRIBUTE and isinstance(value, tuple):
            name, integer, tensor = "", None, None
            for n2, w2, v2 in _fields(buf, *value):
                if n2 == _ATTR_NAME:
                    name = _text(buf, v2)
                elif n2 == _ATTR_I and w2 == 0:
                    integer = _signed(int(v2))  # type: ignore[arg-type]
                elif n2 == _ATTR_T and isinstance(v2, tuple):
                    tensor = v2
            if name == "axis" and integer is not None:
                node.axis = integer
            elif name == "value" and tensor is not None:
                node.constant_dims = _dims(buf, tensor)
    return node


def _graph(buf: memoryview) -> tuple[list[_Node], dict[str, list[int | None]]]:
    """The graph's nodes, and the shape of every tensor whose shape it records."""
    graph = next((v for n, w, v in _fields(buf, 0, len(buf)) if n == _MODEL_GRAPH and w == 2), None)
    if not isinstance(graph, tuple):
        return [], {}
    nodes: list[_Node] = []
    shapes: dict[str, list[int | None]] = {}
    for number, _, value in _fields(buf, *graph):
        if not isinstance(value, tuple):
            continue
        if number == _GRAPH_NODE:
            nodes.append(_node(buf, value))
        elif number == _GRAPH_INITIALIZER:
            shapes[_tensor_name(buf, value)] = list(_dims(buf, value))
        elif number in (_GRAPH_INPUT, _GRAPH_VALUE_INFO):
            name, dims = _value_info(buf, value)
            shapes.setdefault(name, dims)
    for node in nodes:
        if node.op == "Constant" and node.constant_dims is not None and node.outputs:
            shapes[node.outputs[0]] = list(node.constant_dims)
    return nodes, shapes


def _bound(node: _Node, shapes: dict[str, list[int | None]]) -> int | None:
    """The size along which ``node`` (a gather) indexes its data, when fixed."""
    dims = shapes.get(node.inputs[0]) if node.inputs else None
    if not dims:
        return None
    axis = 0 if node.op == "GatherND" else node.axis
    if axis < 0:
        axis += len(dims)
    if not 0 <= axis < len(dims):
        return None
    dim = dims[axis]
    return dim if isinstance(dim, int) and dim > 0 else None


def index_bounds(model: Path, names: list[str]) -> dict[str, int]:
    """input name -> the smallest fixed size a gather indexes with it (directly or through
    casts and reshapes); inputs that index nothing known are left out."""
    if not names:
        return {}
    try:
        with model.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            buf = memoryview(mm)
            try:
                nodes, shapes = _graph(buf)
            finally:
                buf.release()
    except (OSError, ValueError, IndexError):
        return {}
    consumers: dict[str, list[_Node]] = {}
    for node in nodes:
        for i, name in enumerate(node.inputs):
            if (node.op in _GATHERS and i == 1) or (node.op in _PASS_THROUGH and i == 0):
                consumers.setdefault(name, []).append(node)
    found: dict[str, int] = {}
    for name in names:
        bounds: list[int] = []
        seen, todo = {name}, [name]
        while todo:
            tensor = todo.pop()
            for node in consumers.get(tensor, []):
                if node.op in _GATHERS:
                    bound = _bound(node, shapes)
                    if bound is not None:
                        bounds.append(bound)
                else:
                    for out in node.outputs:
                        if out not in seen:
                            seen.add(out)
                            todo.append(out)
        if bounds:
            found[name] = min(bounds)
    return found
