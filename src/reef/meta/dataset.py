"""The dataset manifest: where the samples are and which arrays are features and labels."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from reef.meta.common import Source, Strict
from reef.meta.component import ComponentBase


class CocoSpec(Strict):
    """Where a COCO-style detection dataset's files are among the dataset's sources.

    A source that is a zip archive is looked into by member name; any other source is known
    by the last part of its path or url. Each sample is one image, its features the encoded
    file's bytes (decode them with the ``decode`` step) and its label the image's size and
    boxes, laid out as ``reef.bench.detection`` describes.
    """

    annotations: str = Field(
        description="the instances JSON file, e.g. annotations/instances_val2017.json"
    )
    images: str = Field("", description="the folder the images' file_name values are in")
    image_ids: list[int] | None = Field(
        None,
        min_length=1,
        description="the images to use, in order; by default the first 'samples' by id",
    )


class DatasetManifest(ComponentBase):
    kind: Literal["dataset"] = "dataset"
    format: Literal["npz", "coco"] = Field(
        "npz",
        description="npz: a NumPy archive (never pickled); coco: images and a COCO "
        "instances annotation file (see 'coco')",
    )
    sources: list[Source] = Field(min_length=1)
    features: str | None = Field(
        None, description="npz: the array holding one sample per row (required)"
    )
    labels: str | None = Field(None, description="npz: the array holding the expected answers")
    coco: CocoSpec | None = Field(None, description="coco: where the annotations and images are")
    samples: int = Field(gt=0, description="how many samples the features array holds")
    allow_pickle: bool = Field(
        False,
        description="the archive holds object arrays, which NumPy can only read by unpickling; "
        "Reef loads them only from a trusted repository",
    )

    @model_validator(mode="after")
    def _check_format(self) -> DatasetManifest:
        if self.format == "npz" and not self.features:
            raise ValueError("features: required for format npz")
        if self.format == "coco":
            if self.coco is None:
                raise ValueError("coco: required for format coco")
            ids = self.coco.image_ids
            if ids is not None and len(ids) != self.samples:
                raise ValueError(f"samples is {self.samples} but coco.image_ids lists {len(ids)}")
        elif self.coco is not None:
            raise ValueError(f"coco: only for format coco (this is {self.format})")
        return self
