"""The OpenVINO backend, on the CPU: OpenVINO IR (``.xml`` with its ``.bin`` beside it) and
ONNX files, read by ``openvino.Core().read_model`` and compiled once.

Inputs and outputs are named by their tensors' names; a dynamic dimension is None. Threads
are OpenVINO's ``INFERENCE_NUM_THREADS``. One infer request is made in ``open`` and reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reef.errors import PredictorError
from reef.predictors.base import PredictorOptions, Signature, TensorSpec
from reef.predictors.registry import import_framework, load_failed

DEVICE = "CPU"
PRECISION = "f32"  # INFERENCE_PRECISION_HINT: see open()


def _spec(port: Any, i: int, kind: str) -> TensorSpec:
    names = sorted(port.get_names())
    name = port.get_any_name() if names else f"{kind}_{i}"
    shape = port.get_partial_shape()
    dims: tuple[int | str | None, ...] = (
        tuple(d.get_length() if d.is_static else None for d in shape)
        if shape.rank.is_static
        else (None,)
    )
    try:
        element = str(port.get_element_type().to_dtype())
    except Exception:  # a type numpy has no name for (bf16, u4, ...)
        element = str(port.get_element_type().get_type_name())
    return TensorSpec(name, element, dims)


class OpenVinoPredictor:
    name = "openvino"

    def __init__(self) -> None:
        self._compiled: Any = None
        self._request: Any = None
        self._threads: int | None = None
        self._input_names: tuple[str, ...] = ()

    def version(self) -> str:
        from importlib.metadata import version

        return version("openvino")

    def open(self, model_path: Path, options: PredictorOptions) -> Signature:
        ov = import_framework("openvino", "openvino")  # untyped: Any

        if model_path.suffix.lower() == ".xml" and not model_path.with_suffix(".bin").is_file():
            raise PredictorError(
                f"{model_path}: openvino could not load the model: its weights "
                f"{model_path.with_suffix('.bin').name} are not beside it",
                hint="an OpenVINO IR is two files: keep the .bin next to the .xml",
            )
        # The model's own precision: on a CPU with AMX or AVX-512 BF16, OpenVINO's CPU plugin
        # would run it in bf16, a different computation from every other backend's (outputs
        # off by ~1e-2), chosen by the machine and not by the user.
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": PRECISION}
        if options.threads:
            config["INFERENCE_NUM_THREADS"] = options.threads
        try:
            core = ov.Core()
            model = core.read_model(str(model_path))
            compiled = core.compile_model(model, DEVICE, config)
        except Exception as exc:  # RuntimeError with the C++ file and line in front
            raise load_failed(model_path, "openvino", exc) from exc
        signature = Signature(
            inputs=tuple(_spec(p, i, "input") for i, p in enumerate(compiled.inputs)),
            outputs=tuple(_spec(p, i, "output") for i, p in enumerate(compiled.outputs)),
        )
        self._compiled = compiled
        self._request = compiled.create_infer_request()
        self._threads = options.threads
        self._input_names = tuple(t.name for t in signature.inputs)
        names = self._input_names
        infer = self._request.infer

        def predict(feeds: dict[str, Any]) -> list[Any]:
            # The inputs are read where they are (Reef does not change a feed while it runs);
            # the outputs are copies, which the next call cannot overwrite.
            result = infer([feeds[n] for n in names], share_inputs=True, share_outputs=False)
            return list(result.values())

        self.predict = predict  # type: ignore[method-assign]
        return signature

    def predict(self, feeds: dict[str, Any]) -> list[Any]:
        raise PredictorError("the openvino predictor was not opened")

    def close(self) -> None:
        self._request = None
        self._compiled = None

    def info(self) -> dict[str, Any]:
        threads = None
        if self._compiled is not None:
            try:
                threads = int(self._compiled.get_property("INFERENCE_NUM_THREADS"))
            except Exception:  # a plugin that does not report it
                threads = self._threads
        precision = None
        if self._compiled is not None:
            try:
                hint = self._compiled.get_property("INFERENCE_PRECISION_HINT")
                precision = str(getattr(hint, "get_type_name", lambda: hint)())
            except Exception:  # a plugin that does not report it
                precision = None
        return {
            "device": DEVICE,
            "options": {"threads": threads, "inference_precision": precision},
        }
