"""``{m}-pipeline``: a served model with its manifest's pre- and post-processing around it.

``{m}`` keeps serving the model's own tensors; ``{m}-pipeline`` takes raw inputs (encoded
images as ``BYTES``, or the raw tensors the steps take) and answers post-processed outputs
(``reef.api.served_pipeline`` says which). Its inference runs the pre-processing on a
thread, the model through ``{m}``'s own batcher (so pipeline and raw requests share batches,
and each row's answer is the same whichever batch it was in), then the post-processing on a
thread. A raw input the pre-processing cannot take is a 400 naming it; past ``--max-queue``
requests waiting for their pre-processing, a new one is a 503, as past the batcher's queue.
A model whose manifest declares no processing has no pipeline: ``{m}-pipeline`` is a 404
saying so.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from reef.api.served_pipeline import SUFFIX, Processing, ProcessingError
from reef.serving.batcher import Overloaded
from reef.serving.protocol import ProtocolError

if TYPE_CHECKING:
    import numpy as np

    from reef.api.serving import ServedModel

PLATFORM = "reef-pipeline"


class PipelineModel:
    """What the protocol sees of a pipeline: a name, version, platform, inputs and outputs,
    like a ``ServedModel``; ``served`` is the model it runs."""

    def __init__(self, served: ServedModel, processing: Processing) -> None:
        self.served, self.processing = served, processing
        self.name = served.name + SUFFIX
        self.version = served.version
        self.platform = PLATFORM
        self.inputs, self.outputs = processing.inputs, processing.outputs
        # The model's identity parameters describe its own tensors, not the pipeline's.
        self.parameters: dict[str, str] = {}
        self.preprocessing = 0  # requests in (or waiting for) their pre-processing now

    async def preprocess(
        self, inputs: dict[str, np.ndarray], max_waiting: int | None = None
    ) -> dict[str, np.ndarray]:
        """The model's inputs for the raw ones; a ``ProtocolError`` (400) naming an input the
        steps cannot take; ``Overloaded`` (503) when ``max_waiting`` requests are being
        pre-processed already (the threads' queue is bounded like the batcher's)."""
        if max_waiting is not None and self.preprocessing >= max_waiting:
            raise Overloaded(f"{self.preprocessing} requests are being pre-processed already")
        self.preprocessing += 1  # on the event loop: no lock needed
        try:
            return await asyncio.to_thread(self.processing.preprocess, inputs)
        except ProcessingError as exc:
            raise ProtocolError(str(exc)) from None
        finally:
            self.preprocessing -= 1

    async def postprocess(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The pipeline's outputs for the model's (a failure is the server's: HTTP 500)."""
        try:
            return await asyncio.to_thread(self.processing.postprocess, outputs)
        except Exception as exc:
            raise RuntimeError(f"post-processing failed: {type(exc).__name__}: {exc}") from exc


def pipelines_of(models: list[ServedModel]) -> tuple[dict[str, PipelineModel], dict[str, str]]:
    """The pipelines of ``models`` by name, and, by the name each would have, why a model
    has none (its manifest declares no processing, or the processing could not be built)."""
    pipelines: dict[str, PipelineModel] = {}
    missing: dict[str, str] = {}
    served = {m.name for m in models}
    for model in models:
        name = model.name + SUFFIX
        processing = getattr(model, "processing", None)  # a stand-in model may have none
        if name in served:
            continue  # a model of that name is served itself
        if isinstance(processing, str):
            missing[name] = (
                f"model {model.name!r} has no pipeline: its processing could not be built: "
                f"{processing}"
            )
        elif processing is None:
            missing[name] = (
                f"model {model.name!r} has no pipeline: its manifest declares no pre- or "
                f"post-processing (serve it raw as {model.name!r})"
            )
        else:
            pipelines[name] = PipelineModel(model, processing)
    return pipelines, missing
