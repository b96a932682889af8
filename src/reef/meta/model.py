"""The model manifest: what a model is, how to feed it and how to read its answers.

The fields follow MLModelScope's manifest: framework constraint, inputs with pre-processing
steps, outputs with post-processing steps, sources with checksums.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

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


# How random data is drawn for an input that has no dataset: uniform over ``range`` (the
# default when a range is given), or normal around its middle (a quarter of it per standard
# deviation, clipped to it); without a range, floats are standard normal.
Distribution = Literal["uniform", "normal"]


class InputSpec(Strict):
    name: str
    element_type: ElementType = "float32"
    shape: list[int] = Field(description="the model's input shape; -1 for a dynamic dimension")
    layout: str | None = Field(None, pattern=r"^[A-Z]+$", examples=["NCHW", "NHWC"])
    steps: list[Step] = Field(default_factory=list, description="pre-processing, in order")
    batch_axis: int | Literal["auto"] | None = Field(
        "auto",
        description="the dimension that holds the samples of a batch; null: the input has "
        "none and is fed as declared with every call; auto: inferred (a dynamic dimension "
        "shared by several inputs, else a dynamic first dimension, else none)",
    )
    # Any, checked by ``_value`` against the input's type and shape: one message that says
    # what is wrong, not one per member of a union.
    value: Any = Field(
        None,
        description="a constant fed with every query, e.g. a sampling rate: 16000; a number, "
        "a flag or nested lists of them, of the input's type and shape",
    )
    range: tuple[float, float] | None = Field(
        None, description="[low, high) of the synthetic data fed when there is no dataset"
    )
    distribution: Distribution | None = Field(
        None, description="how synthetic data is drawn: uniform over range, or normal"
    )
    state: str | None = Field(
        None,
        description="an output fed back into this input on the next query (recurrent state); "
        "the first query gets zeros",
    )

    @field_validator("shape")
    @classmethod
    def _dims(cls, shape: list[int]) -> list[int]:
        if any(d == 0 or d < -1 for d in shape):
            raise ValueError("shape dimensions must be positive or -1")
        return shape

    # The fields below are checked against ``element_type`` and ``shape``, declared (and so
    # validated) before them; a field's own validator puts its name in the error's location.

    @field_validator("batch_axis")
    @classmethod
    def _axis(cls, axis: int | str | None, info: ValidationInfo) -> int | str | None:
        shape = info.data.get("shape")
        if isinstance(axis, int) and shape is not None and not 0 <= axis < len(shape):
            rank = len(shape)
            raise ValueError(
                f"batch_axis {axis} is out of range for shape {shape} "
                + (f"(axes 0 to {rank - 1})" if rank else "(a scalar: use null)")
            )
        return axis

    @field_validator("value")
    @classmethod
    def _value(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        if isinstance(info.data.get("batch_axis"), int):
            raise ValueError("value is fed as it is with every query: batch_axis must be null")
        shape, element_type = info.data.get("shape"), info.data.get("element_type")
        if shape is not None and element_type is not None:
            _check_value(value, element_type, shape)
        return value

    @field_validator("range")
    @classmethod
    def _range(
        cls, bounds: tuple[float, float] | None, info: ValidationInfo
    ) -> tuple[float, float] | None:
        if bounds is None:
            return bounds
        low, high = bounds
        if not low < high:
            raise ValueError(f"[{low:g}, {high:g}]: low must be below high")
        element_type = info.data.get("element_type", "float32")
        if element_type == "bool":
            raise ValueError("does not apply to a bool input")
        if not element_type.startswith("float") and not (
            float(low).is_integer() and float(high).is_integer()
        ):
            raise ValueError(f"the range of an {element_type} input must be whole numbers")
        return bounds

    @model_validator(mode="after")
    def _check(self) -> InputSpec:
        if self.layout is not None and len(self.layout) != len(self.shape):
            raise ValueError(
                f"layout {self.layout!r} has {len(self.layout)} letters "
                f"but shape has {len(self.shape)} dimensions"
            )
        sources = [f for f in ("value", "state", "steps") if getattr(self, f)]
        if self.value is not None and "value" not in sources:
            sources.insert(0, "value")  # a value of 0 or false is given all the same
        if len(sources) > 1:
            raise ValueError(f"{' and '.join(sources)} cannot be given together")
        synthetic_only = [f for f in ("range", "distribution") if getattr(self, f) is not None]
        if synthetic_only and (self.value is not None or self.state):
            raise ValueError(
                f"{' and '.join(synthetic_only)} applies to synthetic data, not to "
                f"{'value' if self.value is not None else 'state'}"
            )
        return self

    def declared_batch_axis(self) -> tuple[bool, int | None]:
        """(whether the manifest says, the axis): a constant has no batch."""
        if self.batch_axis != "auto":
            return True, self.batch_axis
        if self.value is not None:
            return True, None
        return False, None


def value_shape(value: Any) -> list[int]:
    """The shape of nested lists, as numpy would read them; refuses ragged ones."""
    if not isinstance(value, list):
        return []
    if not value:
        return [0]
    inner = [value_shape(v) for v in value]
    if any(s != inner[0] for s in inner):
        raise ValueError("is ragged: its rows differ in length")
    return [len(value), *inner[0]]


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _check_value(value: Any, element_type: str, shape: list[int]) -> None:
    for leaf in _leaves(value):
        if element_type == "bool":
            ok = isinstance(leaf, bool)
        elif element_type.startswith("float"):
            ok = isinstance(leaf, int | float) and not isinstance(leaf, bool)
        else:
            ok = isinstance(leaf, int) and not isinstance(leaf, bool)
            if ok and element_type.startswith("uint") and leaf < 0:
                raise ValueError(f"{leaf} is negative but the input is {element_type}")
        if not ok:
            raise ValueError(f"{leaf!r} is not of the input's type {element_type}")
    got = value_shape(value)
    fits = len(got) == len(shape) and all(d in (-1, g) for d, g in zip(shape, got, strict=True))
    if not fits:
        raise ValueError(f"has shape {got} but the input's shape is {shape}")


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
