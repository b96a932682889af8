"""Benchmark settings: what `reef bench` was asked to do, validated before anything runs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from reef.meta.common import Strict

Scenario = Literal["SingleStream", "MultiStream", "Server", "Offline"]
SCENARIOS: tuple[Scenario, ...] = ("SingleStream", "MultiStream", "Server", "Offline")
Mode = Literal["performance", "accuracy", "both"]


class BenchSettings(Strict):
    """Settings for one scenario. ``None`` means "calibrate from the warm-up"."""

    scenario: Scenario = "SingleStream"
    mode: Mode = "both"
    duration_s: float = Field(10.0, gt=0, le=86400, description="minimum duration, seconds")
    queries: int | None = Field(None, ge=1, description="minimum query count")
    target_qps: float | None = Field(None, gt=0, description="Server: arrival rate")
    latency_bound_ms: float | None = Field(None, gt=0, description="Server: latency bound")
    samples_per_query: int = Field(8, ge=1, description="MultiStream: samples in one query")
    batch_size: int = Field(1, ge=1, description="samples per predict call")
    threads: int | None = Field(None, ge=1, description="predictor intra-op threads")
    warmup_queries: int = Field(50, ge=1, description="queries run before calibration")
    sample_count: int | None = Field(None, ge=1, description="samples loaded; all by default")
    seed: int = Field(0, ge=0, description="LoadGen's random seeds")
    raw_latencies: bool | None = Field(
        None,
        description="keep every query's latency as the SUT measured it. Reading the clock "
        "twice per query costs about 1-2 us, so by default (None) they are kept when the "
        "model takes at least 100 us per query",
    )

    @field_validator("target_qps", "latency_bound_ms")
    @classmethod
    def _server_only(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("scenario", "Server") != "Server":
            raise ValueError("applies to the Server scenario only")
        return value
