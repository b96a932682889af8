"""What ``reef serve`` serves: a model opened with the predictor Reef benchmarks it with
(``open_served``), as the Open Inference Protocol describes a model: its name, version,
platform, and each input and output with its datatype and shape.

A served model takes a batch of requests at once when its inputs have a batch axis: the
first dimension of every input is symbolic (``-1`` in the protocol's metadata), as in Reef's
zero-config batching (``docs/inputs.md``). ``batchable`` says whether it has one; the server
then stacks requests along it and splits the answers back.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

# Reef's element types as the protocol names them (OIP v2 "datatype"): one table, the OIP
# client's, for the server and the client alike.
from reef.predictors.oip import DATATYPES as DATATYPES

if TYPE_CHECKING:
    import numpy as np

    from reef.api.served_pipeline import Processing


class TensorMetadata(BaseModel):
    """One input or output as the protocol's model metadata lists it."""

    name: str
    datatype: str
    shape: list[int]  # -1: any size


class ServedModel:
    """A model open for serving. ``predict`` is safe to call from several threads: calls take
    turns on the one predictor (a batch is what makes it parallel)."""

    def __init__(
        self,
        name: str,
        version: str,
        platform: str,
        inputs: list[TensorMetadata],
        outputs: list[TensorMetadata],
        predictor: Any,
        processing: Processing | str | None = None,
    ) -> None:
        """``processing``: the manifest's pre- and post-processing (``reef.api.served_pipeline``,
        served as ``{name}-pipeline``); None where it declares none; a sentence where it
        could not be built."""
        self.name, self.version, self.platform = name, version, platform
        self.inputs, self.outputs = inputs, outputs
        self.processing = processing
        self._predictor = predictor
        self._lock = threading.Lock()
        # The metadata's "parameters": which file Reef serves (``open_served``), so that
        # ``reef bench URL`` can say the served model is the one measured in process.
        self.parameters: dict[str, str] = {}

    @property
    def batchable(self) -> bool:
        """Whether requests can be stacked along a first, symbolic dimension of every input
        and output."""
        tensors = [*self.inputs, *self.outputs]
        return bool(tensors) and all(t.shape and t.shape[0] == -1 for t in tensors)

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The outputs, by name, for inputs by name (each as the model takes it)."""
        with self._lock:
            found = self._predictor.predict(feeds)
        return {spec.name: value for spec, value in zip(self.outputs, found, strict=True)}

    def close(self) -> None:
        with self._lock:
            self._predictor.close()


def open_served(
    target: str, *, backend: str | None = None, threads: int | None = None
) -> ServedModel:
    """Open ``target`` (what ``reef bench`` takes: a component, a manifest, a model file) for
    serving, with the backend ``reef bench`` would use (or ``backend``). Its signature is
    checked against its manifest, as a benchmark checks it."""
    from reef.api.served_pipeline import open_processing
    from reef.bench.backends import default_backend
    from reef.bench.target import check_backend_allowed, resolve
    from reef.predictors import registry
    from reef.predictors.base import PredictorOptions
    from reef.predictors.signature import check_signature

    resolved = resolve(target)
    if resolved.target.kind == "endpoint":
        from reef.errors import ReefError

        raise ReefError(
            f"{target}: a model another server serves; reef serve serves models it opens",
            hint="give the model itself: a component, a manifest or a model file",
        )
    framework = backend or default_backend(resolved)
    check_backend_allowed(resolved, framework)
    predictor = registry.create(framework)
    signature = predictor.open(Path(resolved.model_path), PredictorOptions(threads=threads))
    try:
        if resolved.manifest is not None:
            file = str(resolved.manifest_path or resolved.model_path)
            check_signature(resolved.manifest, signature, file)
        inputs = [_metadata(t) for t in signature.inputs]
        outputs = [_metadata(t) for t in signature.outputs]
        processing = open_processing(resolved, inputs, outputs)
    except BaseException:
        predictor.close()
        raise
    served = ServedModel(
        name=resolved.target.name,
        version=resolved.target.version or "1",
        platform=framework,
        inputs=inputs,
        outputs=outputs,
        predictor=predictor,
        processing=processing,
    )
    ran = resolved.target
    served.parameters = {
        "reef_model": f"{ran.name}@{ran.version}" if ran.version else ran.name,
        "reef_sha256": ran.sha256,
    }
    return served


def _metadata(spec: Any) -> TensorMetadata:
    from reef.errors import PredictorError

    datatype = DATATYPES.get(spec.element_type)
    if datatype is None:
        raise PredictorError(
            f"{spec.name}: element type {spec.element_type} has no Open Inference Protocol "
            "datatype Reef serves",
            hint="serve a model whose inputs and outputs are numbers or booleans",
        )
    shape = [d if isinstance(d, int) and d >= 0 else -1 for d in spec.shape]
    return TensorMetadata(name=spec.name, datatype=datatype, shape=shape)
