"""The dataset manifest: where the samples are and which arrays are features and labels."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reef.meta.common import Source
from reef.meta.component import ComponentBase


class DatasetManifest(ComponentBase):
    kind: Literal["dataset"] = "dataset"
    format: Literal["npz"] = Field("npz", description="npz: a NumPy archive (never pickled)")
    sources: list[Source] = Field(min_length=1)
    features: str = Field(description="the array holding one sample per row")
    labels: str | None = Field(None, description="the array holding the expected answers")
    samples: int = Field(gt=0, description="how many samples the features array holds")
    allow_pickle: bool = Field(
        False,
        description="the archive holds object arrays, which NumPy can only read by unpickling; "
        "Reef loads them only from a trusted repository",
    )
