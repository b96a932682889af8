"""The benchmark job: everything one scenario run needs, typed and JSON-serialisable.

A job is complete on its own so that it can run in this process, in a worker process started
with another interpreter (``python -m reef.bench.worker < job.json``), or on another machine.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from reef.meta.dataset import DatasetManifest
from reef.meta.model import ModelManifest
from reef.meta.run import ComponentRef, Target, TraceLevel
from reef.meta.settings import BenchSettings


class PredictorSettings(BaseModel):
    graph_optimization: Literal["none", "basic", "extended", "all"] = "all"
    providers: list[str] | None = Field(None, description="None: the best available")


class TraceSettings(BaseModel):
    """What to trace and the bounds of the trace file (see docs/tracing.md)."""

    level: TraceLevel = "none"
    first_queries: int = Field(1000, ge=1, description="queries kept in full from the start")
    sampled_queries: int = Field(
        1000, ge=1, description="at most this many later queries, every k-th one"
    )
    system_interval_ms: float = Field(100.0, gt=0, description="system sampling period")
    max_system_samples: int = Field(10_000, ge=2, description="then the period is doubled")


class BenchJob(BaseModel):
    run_id: str
    run_dir: str = Field(description="where LoadGen's logs and raw samples are written")
    target: Target
    components: list[ComponentRef] = Field(default_factory=list)
    model_path: str = Field(description="the verified model file")
    manifest: ModelManifest | None = None
    manifest_path: str | None = None
    dataset: DatasetManifest | None = None
    dataset_path: str | None = Field(None, description="the verified dataset file")
    shapes: dict[str, list[int]] = Field(
        default_factory=dict, description="zero-config: input name -> shape override"
    )
    settings: BenchSettings
    predictor: PredictorSettings = Field(default_factory=PredictorSettings)
    trace: TraceSettings = Field(default_factory=TraceSettings)
