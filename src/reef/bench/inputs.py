"""How each of a model's inputs is fed: its batch axis, and where its data comes from.

A manifest may say it for each input (``batch_axis``, ``value``, ``range``, ``distribution``,
``state``); what it leaves out, and everything for a bare model file, is inferred from the
model's own signature:

- a symbolic dimension that several inputs share is the batch, wherever it stands in each;
  an input without it has no batch and is fed as declared;
- with no shared one, an input whose first dimension is dynamic is batched along it;
- a model whose shapes are all fixed takes one sample per call, fed exactly as declared;
- a scalar gets a typed constant: 1, or false for a flag;
- an integer input gets values in ``[0, n)``, n the smallest fixed dimension of a tensor it
  indexes (``reef.predictors.onnx_graph``), or zeros when that is unknown;
- an input with an output of the same type and rank named after it (``state`` and
  ``stateN``, ``h_in`` and ``h_out``) is fed that output of the previous query.

Every inference is kept in the plan's ``assumed`` notes, which the run record holds. What
cannot be fed is refused before anything runs, naming the input, its declared type and shape
and the manifest field that would fix it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from reef.errors import ManifestError, Problem, ReefError, SettingsError
from reef.meta.model import InputSpec
from reef.predictors.base import Signature, TensorSpec

Source = Literal["dataset", "synthetic", "value", "state"]

# Element types numpy can hold, so that Reef can make data of them.
SYNTHESISABLE = frozenset(
    {
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
    }
)


@dataclass(frozen=True)
class InputPlan:
    """One input: the tensor one sample gives a call (``shape``, its batch dimension 1 or
    the model's fixed size), along which axis samples are stacked, and its data."""

    name: str
    element_type: str
    declared: tuple[int | str | None, ...]
    shape: tuple[int, ...]
    batch_axis: int | None
    source: Source
    low: float | None = None
    high: float | None = None
    distribution: str | None = None  # "normal" | "uniform" | "constant" (integers: uniform)
    value: Any = None  # a numpy array: a constant input's value
    state: str | None = None  # the output fed back into it
    assumed: tuple[str, ...] = ()

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """What one sample holds: ``shape`` without its batch axis."""
        if self.batch_axis is None:
            return self.shape
        return self.shape[: self.batch_axis] + self.shape[self.batch_axis + 1 :]

    @property
    def fixed_batch(self) -> int | None:
        """The model's fixed batch size on this input's batch axis, if it has one."""
        if self.batch_axis is None:
            return None
        dim = self.declared[self.batch_axis]
        return dim if isinstance(dim, int) and dim > 0 else None

    def describe(self) -> dict[str, Any]:
        """What the run record says about this input."""
        out: dict[str, Any] = {
            "element_type": self.element_type,
            "shape": list(self.shape),
            "batch_axis": self.batch_axis,
            "source": self.source,
        }
        if self.source == "synthetic":
            out["distribution"] = self.distribution
            if self.low is not None:
                out["range"] = [self.low, self.high]
        if self.source == "value":
            out["value"] = np.asarray(self.value).tolist()
        if self.state:
            out["state"] = self.state
        if self.assumed:
            out["assumed"] = list(self.assumed)
        return out


@dataclass
class _Context:
    """Where a refusal points: the manifest (with each input's index) or the bare file."""

    file: str
    manifest: bool
    index: dict[str, int] = field(default_factory=dict)

    def refuse(self, name: str, fix: str, message: str, hint: str) -> ReefError:
        if self.manifest:
            where = f"inputs[{self.index[name]}].{fix}" if name in self.index else "inputs"
            return ManifestError([Problem(self.file, where, message)], hint=hint)
        return SettingsError(
            f"{self.file}: {message}",
            hint=f"{hint} (a model manifest's inputs[].{fix}; `reef new model NAME --from FILE` "
            "writes one)",
        )


def _dynamic(dim: int | str | None) -> bool:
    return not (isinstance(dim, int) and dim > 0)


def _declared(spec: TensorSpec, manifest: InputSpec | None) -> tuple[int | str | None, ...]:
    """The model's shape, with the manifest's fixed sizes where the model leaves it open."""
    shape = spec.shape
    if manifest is None or len(manifest.shape) != len(shape):
        return shape
    return tuple(
        m if _dynamic(d) and m > 0 else d for d, m in zip(shape, manifest.shape, strict=True)
    )


def infer_batch_axes(
    inputs: tuple[TensorSpec, ...], declared: dict[str, tuple[bool, int | None]]
) -> dict[str, tuple[int | None, str | None]]:
    """name -> (batch axis, what was assumed: None when the manifest said it)."""
    names: Counter[str] = Counter()
    for spec in inputs:
        if not declared.get(spec.name, (False, None))[0]:
            names.update({d for d in spec.shape if isinstance(d, str) and d})
    shared = [(n, c) for n, c in names.items() if c >= 2]
    batch_name = None
    if shared:
        # The name the most inputs share; between equals, the one standing earliest.
        def rank(item: tuple[str, int]) -> tuple[int, int, str]:
            name, count = item
            first = min(s.shape.index(name) for s in inputs if name in s.shape)
            return (-count, first, name)

        batch_name = min(shared, key=rank)[0]
    out: dict[str, tuple[int | None, str | None]] = {}
    for spec in inputs:
        said, axis = declared.get(spec.name, (False, None))
        if said:
            out[spec.name] = (axis, None)
        elif not spec.shape:
            out[spec.name] = (None, "a scalar: no batch")
        elif batch_name is not None:
            if batch_name in spec.shape:
                axis = spec.shape.index(batch_name)
                out[spec.name] = (axis, f"batch axis {axis}, the dimension {batch_name!r}")
            elif spec.shape[0] is None or spec.shape[0] == -1:
                # An unnamed dynamic first dimension is most likely the same batch.
                out[spec.name] = (0, f"batch axis 0, taken to be {batch_name!r}")
            else:
                out[spec.name] = (None, f"no batch: it lacks the shared dimension {batch_name!r}")
        elif _dynamic(spec.shape[0]):
            out[spec.name] = (0, None)  # the common case says nothing
        else:
            out[spec.name] = (None, "no batch: its shape is fixed")
    return out


def plan_inputs(
    signature: Signature,
    specs: list[InputSpec] | None,
    shapes: dict[str, list[int]],
    file: str,
    *,
    dataset_input: str | None = None,
    index_bounds: dict[str, int] | None = None,
) -> list[InputPlan]:
    """How to feed each of the model's inputs, in the model's order; a ReefError (exit 2)
    for what cannot be fed."""
    by_name = {s.name: s for s in specs or []}
    ctx = _Context(file, specs is not None, {s.name: i for i, s in enumerate(specs or [])})
    unknown = sorted(set(shapes) - {t.name for t in signature.inputs})
    if unknown:
        names = ", ".join(t.name for t in signature.inputs)
        raise SettingsError(f"--shape names unknown input(s) {unknown}; the model has: {names}")
    declared = {name: spec.declared_batch_axis() for name, spec in by_name.items()}
    if dataset_input is not None and not declared.get(dataset_input, (False, None))[0]:
        declared[dataset_input] = (True, 0)  # a dataset's samples are stacked along axis 0
    axes = infer_batch_axes(signature.inputs, declared)
    outputs = {o.name: o for o in signature.outputs}
    plans = []
    for spec in signature.inputs:
        manifest = by_name.get(spec.name)
        axis, why = axes[spec.name]
        plans.append(
            _plan_one(
                spec,
                manifest,
                axis,
                why,
                shapes.get(spec.name),
                ctx,
                dataset_input == spec.name,
                (index_bounds or {}).get(spec.name),
                outputs,
            )
        )
    _check_batches(plans, ctx)
    return plans


def _plan_one(
    spec: TensorSpec,
    manifest: InputSpec | None,
    axis: int | None,
    why: str | None,
    override: list[int] | None,
    ctx: _Context,
    from_dataset: bool,
    bound: int | None,
    outputs: dict[str, TensorSpec],
) -> InputPlan:
    declared = _declared(spec, manifest)
    described = f"input {spec.name!r} ({spec.element_type} {_show(declared)})"
    if axis is not None and not 0 <= axis < len(declared):
        raise ctx.refuse(
            spec.name,
            "batch_axis",
            f"{described}: batch_axis {axis} is out of range",
            f"give an axis from 0 to {len(declared) - 1}, or null for no batch",
        )
    shape = _concrete(spec, declared, override)
    assumed = [why] if why else []
    common: dict[str, Any] = {
        "name": spec.name,
        "element_type": spec.element_type,
        "declared": declared,
        "shape": shape,
        "batch_axis": axis,
    }
    if from_dataset:
        return InputPlan(**common, source="dataset", assumed=tuple(assumed))
    if manifest is not None and manifest.value is not None:
        value = _value(manifest, spec, declared, ctx, described)
        return InputPlan(**{**common, "shape": tuple(value.shape)}, source="value", value=value)
    state = manifest.state if manifest is not None else None
    if state is None and manifest is None:
        state = _inferred_state(spec, outputs)
        if state is not None:
            assumed.append(f"fed back from output {state!r}, zeros at first")
    if state is not None:
        _check_state(spec, state, outputs, ctx, described)
        return InputPlan(**common, source="state", state=state, assumed=tuple(assumed))
    if spec.element_type not in SYNTHESISABLE:
        raise ctx.refuse(
            spec.name,
            "value",
            f"{described}: Reef cannot make data of type {spec.element_type}",
            "feed it from a dataset, give it a constant value, or export the model with a "
            "float32 or int64 input",
        )
    if not shape:
        return _scalar(spec, common, assumed, bound)
    return _synthetic(spec, manifest, common, assumed, bound)


def _show(shape: tuple[int | str | None, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _concrete(
    spec: TensorSpec, declared: tuple[int | str | None, ...], override: list[int] | None
) -> tuple[int, ...]:
    if override is not None:
        if len(override) != len(declared):
            raise SettingsError(
                f"--shape {spec.name}: {len(override)} dimensions given, the model's input has "
                f"{len(declared)} ({_show(declared)})"
            )
        for given, fixed in zip(override, declared, strict=True):
            if not _dynamic(fixed) and given != fixed:
                raise SettingsError(
                    f"--shape {spec.name}: {override} does not fit the model's {_show(declared)}"
                )
        return tuple(override)
    # Symbolic or unknown dimensions become 1, as the zero-config contract says.
    return tuple(1 if _dynamic(d) else int(d) for d in declared)  # type: ignore[arg-type]


def _value(
    manifest: InputSpec,
    spec: TensorSpec,
    declared: tuple[int | str | None, ...],
    ctx: _Context,
    described: str,
) -> np.ndarray:
    value = np.asarray(manifest.value, dtype=spec.element_type)
    fits = value.ndim == len(declared) and all(
        _dynamic(d) or d == g for d, g in zip(declared, value.shape, strict=True)
    )
    if not fits:
        raise ctx.refuse(
            spec.name,
            "value",
            f"{described}: value has shape {list(value.shape)}",
            f"give a value of the model's shape {_show(declared)}",
        )
    return np.array(value, order="C")  # ascontiguousarray would make a scalar 1-d


# An output named after an input, as recurrent models name their state: h -> hn, state ->
# stateN, h_in -> h_out, state_in -> state_out, c -> c_next.
_STATE_SUFFIXES = ("n", "N", "_out", "out", "_next", "_new")


def _inferred_state(spec: TensorSpec, outputs: dict[str, TensorSpec]) -> str | None:
    name = spec.name
    candidates = [name + s for s in _STATE_SUFFIXES] + [f"next_{name}", f"new_{name}"]
    # Only a suffix marks a state: "input" and "output" are every model's generic names.
    for a, b in (("_in", "_out"), ("In", "Out"), ("_input", "_output")):
        if name.endswith(a):
            candidates.append(name[: -len(a)] + b)
    for candidate in candidates:
        out = outputs.get(candidate)
        if (
            out is not None
            and out.element_type == spec.element_type
            and len(out.shape) == len(spec.shape)
        ):
            return candidate
    return None


def _check_state(
    spec: TensorSpec, state: str, outputs: dict[str, TensorSpec], ctx: _Context, described: str
) -> None:
    out = outputs.get(state)
    if out is None:
        names = ", ".join(repr(o) for o in outputs) or "none"
        raise ctx.refuse(
            spec.name,
            "state",
            f"{described}: state names {state!r}, which is not an output of the model",
            f"name one of its outputs: {names}",
        )
    if out.element_type != spec.element_type or len(out.shape) != len(spec.shape):
        raise ctx.refuse(
            spec.name,
            "state",
            f"{described}: state {state!r} is {out.element_type} {_show(out.shape)}, which "
            "cannot be fed back into it",
            "name an output of the input's type and rank",
        )


def _scalar(
    spec: TensorSpec, common: dict[str, Any], assumed: list[str], bound: int | None
) -> InputPlan:
    if spec.element_type == "bool":
        value, text = np.asarray(False), "false (a flag)"
    else:
        one = 1 if bound is None else min(1, bound - 1)
        value, text = np.asarray(one, dtype=spec.element_type), str(one)
    assumed = [a for a in assumed if not a.startswith("a scalar")]
    assumed.append(f"a scalar: the constant {text}")
    return InputPlan(**common, source="value", value=value, assumed=tuple(assumed))


def _synthetic(
    spec: TensorSpec,
    manifest: InputSpec | None,
    common: dict[str, Any],
    assumed: list[str],
    bound: int | None,
) -> InputPlan:
    rng = manifest.range if manifest is not None else None
    dist = manifest.distribution if manifest is not None else None
    kind = spec.element_type
    if kind == "bool":
        return InputPlan(**common, source="synthetic", distribution="uniform", low=0, high=2)
    if kind.startswith("float"):
        if rng is None:
            return InputPlan(
                **common, source="synthetic", distribution=dist or "normal", assumed=tuple(assumed)
            )
        return InputPlan(
            **common,
            source="synthetic",
            distribution=dist or "uniform",
            low=rng[0],
            high=rng[1],
            assumed=tuple(assumed),
        )
    if rng is not None:
        low, high = int(rng[0]), int(rng[1])
    elif bound is not None:
        low, high = 0, bound
        assumed.append(f"values in [0, {bound}), the size of what it indexes")
    else:
        low, high = 0, 1
        assumed.append("values in [0, 1): what it indexes is unknown")
    return InputPlan(
        **common,
        source="synthetic",
        distribution=dist or "uniform",
        low=low,
        high=high,
        assumed=tuple(assumed),
    )


def _check_batches(plans: list[InputPlan], ctx: _Context) -> None:
    """Inputs batched along a fixed dimension must agree on its size."""
    fixed = {p.name: p.fixed_batch for p in plans if p.fixed_batch is not None}
    if len(set(fixed.values())) > 1:
        shown = ", ".join(f"{n!r} {b}" for n, b in fixed.items())
        name = next(iter(fixed))
        raise ctx.refuse(
            name,
            "batch_axis",
            f"the inputs' batch dimensions are fixed at different sizes ({shown})",
            "say which axis of each input holds the batch, or null for none",
        )


def fixed_batch(plans: list[InputPlan]) -> int | None:
    """The samples each call takes: the model's fixed batch size, 1 for a model without a
    batch, None when it is free."""
    if not any(p.batch_axis is not None for p in plans):
        return 1
    return next((p.fixed_batch for p in plans if p.fixed_batch is not None), None)


def batchable(plans: list[InputPlan]) -> bool:
    return any(p.batch_axis is not None for p in plans)


def assumptions(plans: list[InputPlan]) -> list[str]:
    """One line per input whose feeding was inferred, for the user and the record."""
    return [f"{p.name!r}: {'; '.join(p.assumed)}" for p in plans if p.assumed]


def synthesise(plan: InputPlan, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` samples of random data for ``plan``: ``[count, *plan.sample_shape]``."""
    shape = (count, *plan.sample_shape)
    dtype = np.dtype(plan.element_type)
    if plan.source == "state":
        return np.zeros(shape, dtype=dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if np.issubdtype(dtype, np.integer):
        first = int(plan.low if plan.low is not None else 0)
        end = int(plan.high if plan.high is not None else 1)
        return rng.integers(first, end, size=shape).astype(dtype)
    if plan.low is None or plan.high is None:
        return rng.standard_normal(size=shape).astype(dtype)
    low, high = plan.low, plan.high
    if plan.distribution == "normal":
        drawn = rng.normal((low + high) / 2, (high - low) / 4, size=shape)
    else:
        drawn = rng.uniform(low, high, size=shape)
    # Clipped in the input's own type: rounding to float32 can reach ``high`` otherwise.
    top = np.nextafter(dtype.type(high), dtype.type(low))
    clipped: np.ndarray = np.clip(drawn.astype(dtype), dtype.type(low), top)
    return clipped


def describe_plans(plans: list[InputPlan]) -> str:
    """How each input was fed, in a phrase each: for a hint."""
    parts = []
    for p in plans:
        batch = "no batch" if p.batch_axis is None else f"batch axis {p.batch_axis}"
        if p.source == "value":
            what = f"the constant {np.asarray(p.value).tolist()!r}"
        elif p.source == "state":
            what = f"output {p.state!r} fed back"
        elif p.source == "dataset":
            what = "the dataset"
        elif p.low is not None:
            what = f"{p.distribution} values in [{p.low:g}, {p.high:g})"
        else:
            what = f"{p.distribution} values"
        parts.append(f"{p.name!r} {p.element_type} {list(p.shape)} ({batch}): {what}")
    return "; ".join(parts)
