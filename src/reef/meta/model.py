"""The model manifest: what a model is, how to feed it and how to read its answers.

The fields follow MLModelScope's manifest: framework constraint, inputs with pre-processing
steps, outputs with post-processing steps, sources with checksums.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from reef.meta.common import Attributes, Source, Strict, VersionConstraint
from reef.meta.component import ComponentBase
from reef.meta.ort_options import OrtOptions
from reef.meta.steps import ElementType, Step

# A dataset is named by a requirement (a name and a constraint) or a folder inside the
# model's; longer text is neither, and as a path it would fail with "file name too long".
MAX_DATASET_REF_LENGTH = 255


class Framework(Strict):
    name: str = Field(description="predictor backend, e.g. onnxruntime")
    version: VersionConstraint = Field("", description="installed version must satisfy this")
    options: OrtOptions | None = Field(
        None,
        description="onnxruntime only: provider_options, session_config, inter_op_threads, "
        "execution_mode (reef bench's options override them)",
    )

    @model_validator(mode="after")
    def _options_for_onnxruntime(self) -> Framework:
        if self.options is not None and self.name != "onnxruntime":
            raise ValueError(f"options: ONNX Runtime's options, but the framework is {self.name!r}")
        return self


class InputSpec(Strict):
    name: str
    element_type: ElementType = "float32"
    shape: list[int] = Field(description="the model's input shape; -1 for a dynamic dimension")
    layout: str | None = Field(None, pattern=r"^[A-Z]+$", examples=["NCHW", "NHWC"])
    steps: list[Step] = Field(default_factory=list, description="pre-processing, in order")

    @model_validator(mode="after")
    def _check(self) -> InputSpec:
        if any(d == 0 or d < -1 for d in self.shape):
            raise ValueError("shape dimensions must be positive or -1")
        if self.layout is not None and len(self.layout) != len(self.shape):
            raise ValueError(
                f"layout {self.layout!r} has {len(self.layout)} letters "
                f"but shape has {len(self.shape)} dimensions"
            )
        return self


OutputType = Literal["probability", "logits", "classes", "regression", "raw"]


class OutputSpec(Strict):
    name: str
    type: OutputType = "raw"
    labels: list[str] | None = Field(None, description="class names, by index")
    steps: list[Step] = Field(default_factory=list, description="post-processing, in order")
    log: Literal["raw", "argmax"] = Field(
        "raw",
        description="what accuracy mode logs per sample: the output itself, or its argmax "
        "over the last axis, for an output only ever read through one (CTC scores: "
        "[steps, classes] becomes [steps]) so that LoadGen's accuracy log stays small",
    )


class AccuracySpec(Strict):
    metric: str = Field(description="a metric from the registry: top1, top5, rmse, ...")
    reference: float = Field(description="the value the model's authors measured")
    threshold: float = Field(
        0.99,
        gt=0,
        le=1,
        description="fraction of the reference a run must reach to pass (MLPerf uses 0.99)",
    )
    output: str | list[str] | dict[str, str] | None = Field(
        None,
        description="which output to score, the first by default; a list or a mapping "
        "(key -> output) scores several together, each sample's prediction then being a "
        "mapping of their post-processed values (by output name, or by key)",
    )

    def scored_outputs(self) -> dict[str, str] | None:
        """key -> output name when several outputs are scored together; None for one."""
        if isinstance(self.output, list):
            return {name: name for name in self.output}
        if isinstance(self.output, dict):
            return dict(self.output)
        return None


class ModelManifest(ComponentBase):
    kind: Literal["model"] = "model"
    framework: Framework
    sources: list[Source] = Field(min_length=1, description="the model file comes first")
    inputs: list[InputSpec] = Field(min_length=1)
    outputs: list[OutputSpec] = Field(min_length=1)
    dataset: str | None = Field(
        None,
        max_length=MAX_DATASET_REF_LENGTH,
        description="default dataset component for accuracy",
    )
    accuracy: AccuracySpec | None = None
    attributes: Attributes = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ModelManifest:
        for kind, names in (
            ("inputs", [i.name for i in self.inputs]),
            ("outputs", [o.name for o in self.outputs]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{kind}: duplicate names {dupes}")
        output = self.accuracy.output if self.accuracy else None
        known = {o.name for o in self.outputs}
        if isinstance(output, str) and output and output not in known:
            raise ValueError(f"accuracy.output {output!r} is not an output")
        if isinstance(output, list | dict):
            if not output:
                raise ValueError("accuracy.output: name at least one output")
            chosen = output if isinstance(output, list) else list(output.values())
            unknown = [n for n in chosen if n not in known]
            if unknown:
                raise ValueError(f"accuracy.output: {unknown} are not outputs")
        return self
