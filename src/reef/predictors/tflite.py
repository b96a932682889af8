"""The LiteRT (TensorFlow Lite) backend: ``.tflite`` files, through ``ai-edge-litert``.

Inputs and outputs are named by the model's one signature (``serving_default``) when it
has exactly one, else by their tensors' names. A dynamic dimension (``shape_signature``
-1) is None in the signature; a batch of a size not seen before resizes the inputs and
reallocates the interpreter's tensors once, and that size is then kept until another comes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reef.errors import PredictorError
from reef.predictors.base import PredictorOptions, Signature, TensorSpec
from reef.predictors.registry import first_line, import_framework, load_failed


def _element_type(dtype: Any) -> str:
    import numpy as np

    return str(np.dtype(dtype))


def _spec(name: str, detail: dict[str, Any]) -> TensorSpec:
    signature = detail.get("shape_signature")
    dims = signature if signature is not None and len(signature) else detail["shape"]
    shape = tuple(int(d) if int(d) >= 0 else None for d in dims)
    return TensorSpec(name, _element_type(detail["dtype"]), shape)


def _names(interpreter: Any) -> tuple[dict[int, str], dict[int, str]]:
    """Tensor index -> name, for inputs and outputs: the single signature's names, when the
    model has exactly one."""
    try:
        signatures = interpreter._get_full_signature_list()
    except AttributeError:  # an interpreter without it: the tensors' names are used
        signatures = {}
    if len(signatures) != 1:
        return {}, {}
    (only,) = signatures.values()
    return (
        {int(i): str(n) for n, i in only.get("inputs", {}).items()},
        {int(i): str(n) for n, i in only.get("outputs", {}).items()},
    )


class TfLitePredictor:
    name = "tflite"

    def __init__(self) -> None:
        self._interpreter: Any = None
        self._threads: int | None = None
        self._inputs: list[tuple[str, int, tuple[int, ...]]] = []  # name, index, current shape
        self._outputs: list[int] = []

    def version(self) -> str:
        from importlib.metadata import version

        return version("ai-edge-litert")

    def open(self, model_path: Path, options: PredictorOptions) -> Signature:
        interpreter_type = import_framework("tflite", "ai_edge_litert.interpreter").Interpreter

        try:
            interpreter = interpreter_type(model_path=str(model_path), num_threads=options.threads)
            interpreter.allocate_tensors()
        except Exception as exc:  # ValueError for a bad flatbuffer, RuntimeError for ops
            raise load_failed(model_path, "tflite", exc) from exc
        in_names, out_names = _names(interpreter)
        in_details = interpreter.get_input_details()
        out_details = interpreter.get_output_details()
        signature = Signature(
            inputs=tuple(_spec(in_names.get(d["index"], d["name"]), d) for d in in_details),
            outputs=tuple(_spec(out_names.get(d["index"], d["name"]), d) for d in out_details),
        )
        self._interpreter = interpreter
        self._threads = options.threads
        self._inputs = [
            (spec.name, int(d["index"]), tuple(int(x) for x in d["shape"]))
            for spec, d in zip(signature.inputs, in_details, strict=True)
        ]
        self._outputs = [int(d["index"]) for d in out_details]
        return signature

    def predict(self, feeds: dict[str, Any]) -> list[Any]:
        interpreter = self._interpreter
        inputs = self._inputs
        for i, (name, index, shape) in enumerate(inputs):
            value = feeds[name]
            if value.shape != shape:
                self._resize(i, value.shape)
            interpreter.set_tensor(index, value)
        interpreter.invoke()
        # get_tensor copies: the next invoke cannot change what was returned.
        return [interpreter.get_tensor(index) for index in self._outputs]

    def _resize(self, i: int, shape: tuple[int, ...]) -> None:
        name, index, _ = self._inputs[i]
        try:
            self._interpreter.resize_tensor_input(index, list(shape), strict=True)
            self._interpreter.allocate_tensors()
        except Exception as exc:
            raise PredictorError(
                f"tflite: input {name!r} cannot take shape {list(shape)}: {first_line(exc)}"
            ) from exc
        self._inputs[i] = (name, index, tuple(shape))

    def close(self) -> None:
        self._interpreter = None

    def info(self) -> dict[str, Any]:
        return {"device": "cpu", "options": {"threads": self._threads}}
