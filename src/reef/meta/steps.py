"""Processing steps as they are declared in a manifest.

A step is a mapping with one key, the step's name, whose value holds its parameters:
``{resize: {size: [224, 224]}}``. Built-in steps are the rows of ``BUILTIN_STEPS`` (name,
parameters' model, the function that builds it) and are validated here, so that ``reef check``
names the exact field that is wrong; a step from a plugin (entry-point group ``reef.steps``)
keeps its parameters as a mapping and is checked by the step registry when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationError,
    create_model,
    model_validator,
)

from reef.meta.common import Sha256, Strict

ElementType = Literal[
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
]

Interpolation = Literal["nearest", "bilinear", "bicubic", "lanczos", "box", "hamming"]


class CastParams(Strict):
    dtype: ElementType


class ScaleParams(Strict):
    factor: float = 1.0
    offset: float = 0.0


class NormalizeParams(Strict):
    mean: list[float] = Field(min_length=1)
    std: list[float] = Field(min_length=1)
    channel_axis: int = -1

    @model_validator(mode="after")
    def _check(self) -> NormalizeParams:
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean has {len(self.mean)} values but std has {len(self.std)}")
        if any(s == 0 for s in self.std):
            raise ValueError("std values must be non-zero")
        return self


class ReshapeParams(Strict):
    shape: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ReshapeParams:
        if sum(1 for d in self.shape if d == -1) > 1:
            raise ValueError("at most one dimension may be -1")
        if any(d == 0 or d < -1 for d in self.shape):
            raise ValueError("dimensions must be positive or -1")
        return self


class TransposeParams(Strict):
    perm: list[int] | None = None
    layout: str | None = Field(None, pattern=r"^[A-Z]+->[A-Z]+$", examples=["HWC->CHW"])

    @model_validator(mode="after")
    def _check(self) -> TransposeParams:
        if (self.perm is None) == (self.layout is None):
            raise ValueError("give exactly one of 'perm' or 'layout'")
        if self.perm is not None and sorted(self.perm) != list(range(len(self.perm))):
            raise ValueError(f"perm {self.perm} is not a permutation of 0..{len(self.perm) - 1}")
        if self.layout is not None:
            src, dst = self.layout.split("->")
            if sorted(src) != sorted(dst) or len(set(src)) != len(src):
                raise ValueError(f"layout {self.layout!r} must rearrange the same letters")
        return self

    def axes(self) -> list[int]:
        if self.perm is not None:
            return list(self.perm)
        assert self.layout is not None
        src, dst = self.layout.split("->")
        return [src.index(c) for c in dst]


class DecodeParams(Strict):
    mode: Literal["RGB", "L", "RGBA", "BGR"] = "RGB"


def _image_size(value: int | list[int]) -> int | list[int]:
    dims = [value] if isinstance(value, int) else value
    if len(dims) not in (1, 2) or any(d <= 0 for d in dims):
        raise ValueError("expected one positive integer or [height, width]")
    return value


ImageSize = Annotated[int | list[int], AfterValidator(_image_size)]


class ResizeParams(Strict):
    size: ImageSize = Field(
        description="[height, width], or one integer: the length of the shorter side"
    )
    interpolation: Interpolation = "bilinear"


class CenterCropParams(Strict):
    size: ImageSize


class SoftmaxParams(Strict):
    axis: int = -1


class ArgmaxParams(Strict):
    axis: int = -1


class TopKParams(Strict):
    k: int = Field(5, ge=1)


class ResizePadParams(Strict):
    """Scale a text line to ``height`` keeping its aspect ratio (capped at ``width``), then
    pad it on the right to ``width`` with ``pad_value``: PP-OCR's text-line pre-processing."""

    height: int = Field(gt=0)
    width: int = Field(gt=0)
    pad_value: float = 0.0
    interpolation: Interpolation = "bilinear"


class CharsetSource(Strict):
    """Characters kept in a file of an installed Python package (one per line): a text file,
    or, with ``metadata``, an entry of an ONNX model's metadata."""

    package: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    path: str = Field(description="the file inside the package")
    sha256: Sha256
    metadata: str | None = Field(None, description="the ONNX metadata key holding the characters")


class CtcDecodeParams(Strict):
    """Greedy CTC decoding of ``[T, C]`` scores: best class per step, repeats collapsed,
    blanks dropped, classes mapped to characters."""

    blank: int = Field(0, ge=0, description="the class index of the CTC blank")
    charset: CharsetSource | None = Field(
        None,
        description="the characters of the classes other than the blank, in order; without "
        "it the output's labels name every class, the blank's included",
    )
    append: list[str] = Field(
        default_factory=list, description="characters after the charset's (PP-OCR adds ' ')"
    )
    strip: bool = Field(
        False, description="drop whitespace at either end of the text (a line's margins)"
    )


def _plugin_schema(schema: dict[str, Any]) -> None:
    # A plugin step is any one-key mapping but a built-in step's: without saying so, a
    # built-in step would match both its own schema and this one, which the schema's oneOf
    # (the steps are told apart by name) forbids.
    schema["minProperties"] = schema["maxProperties"] = 1
    schema["propertyNames"] = {"not": {"enum": sorted(BUILTIN_STEPS)}}


class PluginStep(RootModel[dict[str, dict[str, Any]]]):
    """A step that a plugin provides; its parameters are validated by the plugin."""

    model_config = {"frozen": True, "json_schema_extra": _plugin_schema}

    @model_validator(mode="after")
    def _one_key(self) -> PluginStep:
        if len(self.root) != 1:
            raise ValueError("a step is a mapping with exactly one key, the step's name")
        # The plugin checks its own parameters, but a NaN or an infinity is never a setting:
        # refused here as the built-in steps refuse them, so that reef check finds it too.
        name, params = next(iter(self.root.items()))
        where = _non_finite(params)
        if where is not None:
            at = f".{where}" if where else ""
            raise ValueError(f"{name}{at}: Input should be a finite number")
        return self


def _non_finite(value: Any, path: str = "") -> str | None:
    """The path of the first NaN or infinity in a parameter tree, or None."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        items = [(f"[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for key, item in items:
        joined = f"{path}{key}" if key.startswith("[") else f"{path}.{key}" if path else key
        found = _non_finite(item, joined)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class BuiltinStep:
    """One built-in step: its name in manifests, the model of its parameters, and the function
    that builds it, as ``module:function`` (this layer may not import the predictors that
    implement it; the step registry imports it when a manifest first uses the step). The
    function takes the validated parameters, and the output's class labels too when
    ``labels`` is set, and returns the callable applied to each sample."""

    name: str
    params: type[Strict]
    build: str
    labels: bool = False

    @property
    def model(self) -> type[Strict]:
        """The step as a manifest writes it: ``{name: params}``."""
        return _MODELS[self.name]


# The built-in steps: adding one is writing its parameters' model above, its function in
# reef.predictors.steps, and one row here. The manifest schema, `reef schema`, the step
# registry and `reef plugins` all read this table.
_TENSOR = "reef.predictors.steps.tensor"
_IMAGE = "reef.predictors.steps.image"
_OUTPUT = "reef.predictors.steps.output"
_TEXT = "reef.predictors.steps.text"
BUILTIN_STEPS: dict[str, BuiltinStep] = {
    step.name: step
    for step in (
        BuiltinStep("cast", CastParams, f"{_TENSOR}:cast"),
        BuiltinStep("scale", ScaleParams, f"{_TENSOR}:scale"),
        BuiltinStep("normalize", NormalizeParams, f"{_TENSOR}:normalize"),
        BuiltinStep("reshape", ReshapeParams, f"{_TENSOR}:reshape"),
        BuiltinStep("transpose", TransposeParams, f"{_TENSOR}:transpose"),
        BuiltinStep("decode", DecodeParams, f"{_IMAGE}:decode"),
        BuiltinStep("resize", ResizeParams, f"{_IMAGE}:resize"),
        BuiltinStep("center_crop", CenterCropParams, f"{_IMAGE}:center_crop"),
        BuiltinStep("softmax", SoftmaxParams, f"{_OUTPUT}:softmax"),
        BuiltinStep("argmax", ArgmaxParams, f"{_OUTPUT}:argmax"),
        BuiltinStep("top_k", TopKParams, f"{_OUTPUT}:top_k", labels=True),
        BuiltinStep("resize_pad", ResizePadParams, f"{_TEXT}:resize_pad"),
        BuiltinStep("ctc_decode", CtcDecodeParams, f"{_TEXT}:ctc_decode", labels=True),
    )
}


def _step_model(name: str, params: type[Strict]) -> type[Strict]:
    """The model of ``{name: params}``, named as the schema has always named it (``top_k`` ->
    ``TopKStep``). Where every parameter has a default, so has the step (``SoftmaxStep()``)."""
    title = "".join(part.capitalize() for part in name.split("_")) + "Step"
    try:
        default: Any = params()
    except ValidationError:
        default = ...  # required: some parameter has no default
    fields: dict[str, Any] = {name: (params, default)}
    return create_model(title, __base__=Strict, **fields)


_MODELS: dict[str, type[Strict]] = {
    name: _step_model(name, step.params) for name, step in BUILTIN_STEPS.items()
}


def _step_tag(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        name = next(iter(value))
        return name if name in BUILTIN_STEPS else "plugin"
    if isinstance(value, Strict):
        return step_name(value)
    return "plugin"


def _bare_name(value: Any) -> Any:
    # `- softmax` is shorthand for `- softmax: {}`
    if isinstance(value, str):
        return {value: {}}
    if isinstance(value, dict) and len(value) == 1:
        name, params = next(iter(value.items()))
        if params is None:
            return {name: {}}
    return value


if TYPE_CHECKING:
    Step = Strict | PluginStep
else:
    # One member per row of the table, told apart by the step's name (``_step_tag``).
    _MEMBERS = (
        *(Annotated[model, Tag(name)] for name, model in _MODELS.items()),
        Annotated[PluginStep, Tag("plugin")],
    )
    Step = Annotated[
        Union[_MEMBERS],  # noqa: UP007 (the members are only known at run time)
        Discriminator(_step_tag),
        BeforeValidator(_bare_name),
    ]


def step_name(step: Any) -> str:
    """The name of a validated step (its single key)."""
    if isinstance(step, PluginStep):
        return str(next(iter(step.root)))
    return str(next(iter(type(step).model_fields)))


def step_params(step: Any) -> Any:
    """The parameters of a validated step: a params model, or a dict for plugin steps."""
    if isinstance(step, PluginStep):
        return next(iter(step.root.values()))
    return getattr(step, step_name(step))
