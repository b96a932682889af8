"""The predictor protocol every framework backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class TensorSpec:
    """One input or output as the model itself declares it."""

    name: str
    element_type: str
    shape: tuple[int | str | None, ...]  # an int, a symbolic name, or None when unknown


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass
class PredictorOptions:
    threads: int | None = None
    graph_optimization: str = "all"  # none | basic | extended | all
    providers: list[str] | None = None  # None: the best that is available
    profile_dir: str | None = None  # a backend with a profiler profiles into this folder
    # ONNX Runtime's own (docs/benchmarking.md): options per execution provider name, session
    # config entries, inter-op threads (None: 1 when ``threads`` is set, else ORT's default)
    # and the execution mode, "sequential" or "parallel" (None: ORT's default, sequential).
    provider_options: dict[str, dict[str, str]] = field(default_factory=dict)
    session_config: dict[str, str] = field(default_factory=dict)
    inter_op_threads: int | None = None
    execution_mode: str | None = None


@dataclass(frozen=True)
class FrameworkProfile:
    """What a backend's own profiler wrote: a file in its ``format``, whose times count from
    ``start_epoch_ns`` (nanoseconds since the Unix epoch, the wall clock)."""

    path: Path
    format: str  # e.g. "onnxruntime"
    start_epoch_ns: int


@runtime_checkable
class Predictor(Protocol):
    """Opens a model, runs batches through it, and closes it.

    ``predict`` takes a mapping of input name to a batched array and returns the outputs in
    the order of ``signature.outputs``. It is on the benchmark's hot path: implementations do
    their per-call work ahead of time in ``open``.
    """

    name: str

    def open(self, model_path: Path, options: PredictorOptions) -> Signature: ...

    def predict(self, feeds: dict[str, Any]) -> list[Any]: ...

    def close(self) -> None: ...

    def version(self) -> str: ...

    def info(self) -> dict[str, Any]: ...


@runtime_checkable
class ProfilingPredictor(Protocol):
    """A predictor with a profiler of its own: opened with ``options.profile_dir`` it
    profiles every call until ``end_profiling``, which writes the profile and returns it
    (None when profiling was not enabled). The predictor keeps working afterwards."""

    def end_profiling(self) -> FrameworkProfile | None: ...
