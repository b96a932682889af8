"""Cross-backend conformance: the same inputs through several backends, their answers compared.

``reef check-outputs MODEL --backend a --backend b`` feeds the same N samples (the model's
dataset after pre-processing, or seeded synthetic data) one at a time to every backend and
compares each output of each backend with the first backend's, the reference.

How answers are measured (docs/conformance.md says the same for users):

- An element agrees when ``|x - ref| <= atol + rtol * |ref|`` (``numpy.isclose`` with the
  reference as the second argument). The defaults, atol 1e-4 and rtol 1e-3, suit float32:
  float32 resolves about 1.2e-7 relative, and backends legitimately differ far more than that
  (other summation orders, fused multiply-adds, other GEMM kernels and exp/tanh
  approximations), some 1e-6 to 1e-5 relative after a few layers; 1e-3 leaves room for deep
  models while a real conversion error (a wrong layout, a dropped bias, a different opset
  semantic) is off by far more. atol covers values near zero (softmax tails, ReLU outputs)
  whose relative error means nothing.
- The reported maximum relative error is ``|x - ref| / max(|ref|, atol)``: near zero it is
  relative to atol, so that it never divides by a tiny reference value.
- NaN is explicit: a NaN where the reference has a NaN agrees; a NaN (or an infinity) on one
  side only is a disagreement, counted apart (``nan_mismatched``), and the maximum errors are
  taken over the elements that are finite on both sides.
- Integer, bool and string outputs are compared exactly.
- A different shape, or a different kind of element type (float against integer or bool) is a
  disagreement. Floats of different widths (float32 against float64) are compared by value,
  with a note: a backend that computes in float64 gives the same answers, more precisely.
- Argmax agreement, the fraction of samples whose argmax over the last axis is the same as the
  reference's, is reported for outputs the manifest types as probability, logits or classes
  (floats of rank >= 2 whose last dimension is above 1); without a manifest, for every such
  float output. It is informative: two backends within tolerance can still pick different
  classes on a near tie, so it does not decide the verdict.

Outputs are matched by name; a backend that names them otherwise (TorchScript has no output
names) is matched by position when it has as many, with a note. Inputs likewise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from reef.errors import EXIT_ENVIRONMENT, BenchError, ReefError
from reef.results.stats import JsonFloat

if TYPE_CHECKING:
    import numpy as np

    from reef.bench.samples import SampleSet
    from reef.bench.target import ResolvedTarget
    from reef.predictors.base import Predictor, PredictorOptions, Signature

DEFAULT_SAMPLES = 32
DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3
MAX_SAMPLES = 100_000
# Manifest output types whose argmax is the answer.
CLASSIFIER_TYPES = ("probability", "logits", "classes")
NO_MANIFEST_ARGMAX = (
    "no manifest types the outputs: argmax agreement is reported for every float output of "
    "rank >= 2 whose last dimension is above 1"
)


class ConformanceError(BenchError):
    """The check cannot be made as asked (exit 2): nothing was compared."""


class BackendInfo(BaseModel):
    """One backend as it ran: its name, version and the file it opened."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    version: str
    model_path: str
    inputs_matched_by: Literal["name", "position"]
    failed: str | None = None  # why it could not answer every sample


class OutputRow(BaseModel):
    """One output of one backend against the reference's."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    backend: str
    output: str  # the reference's name for it
    backend_output: str | None  # the backend's name; None when it has no such output
    matched_by: Literal["name", "position", "missing"]
    comparison: Literal["tolerance", "exact"]
    reference_shape: list[int] | None
    shape: list[int] | None
    reference_dtype: str | None
    dtype: str | None
    samples: int  # samples compared
    elements: int  # elements compared
    mismatched: int  # elements outside the tolerance, NaN placement included
    nan_mismatched: int  # of which a NaN or infinity on one side only
    max_abs_error: JsonFloat | None  # over elements finite on both sides
    max_rel_error: JsonFloat | None  # |x - ref| / max(|ref|, atol)
    argmax_agreement: JsonFloat | None  # fraction of samples; None where not a classifier
    agree: bool
    problems: list[str]  # why it disagrees, in words
    notes: list[str]


class Conformance(BaseModel):
    """Every backend's outputs against the reference's (the first backend) on the same
    samples; ``agree`` is the verdict: every row within tolerance."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    model: str
    reference: str
    backends: list[BackendInfo]
    samples: int
    inputs: Literal["dataset", "synthetic"]
    dataset: str | None
    seed: int
    atol: float
    rtol: float
    rows: list[OutputRow]
    notes: list[str]
    agree: bool


@dataclass(frozen=True)
class Side:
    """A backend and the model file it opens (the same file for check-outputs; the source
    and the converted file for convert)."""

    backend: str
    model_path: Path


@dataclass(frozen=True)
class Tolerance:
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL


def check_request(backends: Sequence[str], count: int, tolerance: Tolerance) -> None:
    """Refuse, before anything is opened, a check that cannot be made as asked."""
    from reef.predictors.registry import available

    dupes = sorted({b for b in backends if list(backends).count(b) > 1})
    if dupes:
        raise ConformanceError(
            f"--backend: {', '.join(dupes)} named more than once",
            hint="each backend runs once; the first named is the reference",
        )
    if len(backends) < 2:
        got = ", ".join(backends) or "none"
        raise ConformanceError(
            f"--backend: name at least two backends (got {got})",
            hint="e.g. --backend onnxruntime --backend openvino; the first is the reference",
        )
    known = available()
    unknown = [b for b in backends if b not in known]
    if unknown:
        raise ConformanceError(
            f"--backend: unknown backend(s) {', '.join(unknown)}",
            hint=f"installed backends: {', '.join(known) or 'none'} (`reef plugins` lists them)",
        )
    if not 1 <= count <= MAX_SAMPLES:
        raise ConformanceError(f"--samples must be from 1 to {MAX_SAMPLES:,}, got {count}")
    for name, value in (("--atol", tolerance.atol), ("--rtol", tolerance.rtol)):
        if not value >= 0 or value == float("inf"):  # NaN fails the first test
            raise ConformanceError(f"{name} must be a finite number >= 0, got {value}")


# Samples for the reference's signature: the dataset's or synthetic ones.
SampleSource = Callable[["Signature"], "SampleSet"]


def compare_backends(
    sides: Sequence[Side],
    samples_for: SampleSource,
    *,
    model: str,
    output_types: dict[str, str] | None = None,
    check_reference: Callable[[Signature], None] | None = None,
    tolerance: Tolerance | None = None,
    options: PredictorOptions | None = None,
    seed: int = 0,
    dataset: str | None = None,
) -> Conformance:
    """Open each side (the same ``options``), feed each the same samples, and compare each
    side's outputs with the first side's.

    ``samples_for`` makes the samples from the reference's signature; their inputs are given
    to each side by name, else by position. ``output_types`` (output name -> the manifest's
    type) says which outputs are classifiers; None: every float output of rank >= 2 with more
    than one entry on its last axis. The reference failing is an error; another side failing
    (a missing operator, say) is a disagreement, reported."""
    from reef.predictors.base import PredictorOptions
    from reef.predictors.registry import create

    tolerance = tolerance or Tolerance()
    options = options or PredictorOptions()
    reference = sides[0]
    opened: list[Predictor] = []
    try:
        # Every backend is open at once and each sample goes through all of them in turn:
        # memory holds the models and one sample's outputs, never N samples' outputs.
        ref_predictor = create(reference.backend)
        opened.append(ref_predictor)
        ref_signature = ref_predictor.open(reference.model_path, options)
        if check_reference is not None:
            check_reference(ref_signature)
        samples = samples_for(ref_signature)
        feeds = samples.single_feeds()
        ref_by, ref_names = _inputs_for(reference.backend, list(feeds[0]), ref_signature)
        if samples.synthetic:
            from reef.bench.runner import probe

            # A model that refuses the synthetic data has an input problem (exit 2), as in
            # reef bench, not a disagreement.
            probe(
                lambda feed: ref_predictor.predict(_renamed(feed, ref_names)),
                samples,
                str(reference.model_path),
            )
        contenders: list[_Contender] = []
        for side in sides[1:]:
            predictor = create(side.backend)
            opened.append(predictor)
            try:
                signature = predictor.open(side.model_path, options)
            except ReefError as exc:
                if exc.exit_code == EXIT_ENVIRONMENT:
                    raise  # its framework is not installed: said as reef bench says it
                contenders.append(
                    _Contender.unopened(
                        side, predictor, ref_signature, output_types, tolerance, exc
                    )
                )
                continue
            names = list(feeds[0])
            contenders.append(
                _Contender.start(
                    side, predictor, signature, names, ref_signature, output_types, tolerance
                )
            )
        for n, feed in enumerate(feeds):
            expected = _run(ref_predictor, _renamed(feed, ref_names))
            for contender in contenders:
                contender.feed(n, feed, expected)
        infos = [_info(ref_predictor, reference, ref_by)]
        infos += [c.info() for c in contenders]
    finally:
        for predictor in reversed(opened):
            with contextlib.suppress(Exception):  # closing: what failed was said already
                predictor.close()
    notes: list[str] = []
    if output_types is None:
        notes.append(NO_MANIFEST_ARGMAX)
    rows = [row for c in contenders for row in c.rows()]
    return Conformance(
        model=model,
        reference=reference.backend,
        backends=infos,
        samples=len(feeds),
        inputs="synthetic" if samples.synthetic else "dataset",
        dataset=dataset if not samples.synthetic else None,
        seed=seed,
        atol=tolerance.atol,
        rtol=tolerance.rtol,
        rows=rows,
        notes=notes,
        agree=all(r.agree for r in rows) and all(i.failed is None for i in infos),
    )


def _run(predictor: Predictor, feed: dict[str, Any]) -> list[np.ndarray]:
    import numpy as np

    # A copy: some backends hand out views of buffers they reuse on the next call.
    return [np.array(o, copy=True) for o in predictor.predict(feed)]


def _info(
    predictor: Predictor,
    side: Side,
    matched: Literal["name", "position"],
    failed: str | None = None,
) -> BackendInfo:
    try:
        version = predictor.version()
    except Exception:  # a version is a label here: a backend without one still ran
        version = "unknown"
    return BackendInfo(
        name=side.backend,
        version=version,
        model_path=str(side.model_path),
        inputs_matched_by=matched,
        failed=failed,
    )


def _match(
    ref_names: Sequence[str], names: Sequence[str]
) -> tuple[Literal["name", "position"], list[int | None]]:
    """For each reference name, the index of the same output (input) of the other side: by
    name, or by position when none of the names match and there are as many."""
    if set(ref_names) & set(names) or len(ref_names) != len(names):
        index = {n: i for i, n in enumerate(names)}
        return "name", [index.get(n) for n in ref_names]
    return "position", list(range(len(ref_names)))


def _inputs_for(
    backend: str, sample_names: list[str], signature: Signature
) -> tuple[Literal["name", "position"], list[str]]:
    """The backend's name for each input of the samples."""
    names = [t.name for t in signature.inputs]
    by, index = _match(sample_names, names)
    if any(i is None for i in index) or len(names) != len(sample_names):
        raise ConformanceError(
            f"--backend {backend}: the model's inputs {names} do not match the samples' "
            f"{sample_names}",
            hint="every backend must take the same inputs",
        )
    return by, [names[i] for i in index if i is not None]


def _renamed(feed: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    return {new: value for new, value in zip(names, feed.values(), strict=True)}


@dataclass
class _Contender:
    """A backend compared with the reference, sample by sample."""

    side: Side
    predictor: Predictor
    signature: Signature
    inputs_by: Literal["name", "position"]
    input_names: list[str]  # the backend's name for each of the samples' inputs
    outputs_by: Literal["name", "position"]
    output_index: list[int | None]  # for each reference output, the backend's
    accumulators: list[_Accumulator]
    failed: str | None = None

    @classmethod
    def start(
        cls,
        side: Side,
        predictor: Predictor,
        signature: Signature,
        sample_names: list[str],
        ref_signature: Signature,
        types: dict[str, str] | None,
        tolerance: Tolerance,
    ) -> _Contender:
        in_by, names = _inputs_for(side.backend, sample_names, signature)
        ref_names = [t.name for t in ref_signature.outputs]
        out_by, out_index = _match(ref_names, [t.name for t in signature.outputs])
        accumulators = [_Accumulator(name, types, tolerance) for name in ref_names]
        return cls(side, predictor, signature, in_by, names, out_by, out_index, accumulators)

    @classmethod
    def unopened(
        cls,
        side: Side,
        predictor: Predictor,
        ref_signature: Signature,
        types: dict[str, str] | None,
        tolerance: Tolerance,
        exc: ReefError,
    ) -> _Contender:
        """A backend that could not open the model (an operator it lacks, a format it does
        not read): a disagreement, reported, where the reference's failure is an error."""
        from reef.predictors.base import Signature

        ref_names = [t.name for t in ref_signature.outputs]
        accumulators = [_Accumulator(name, types, tolerance) for name in ref_names]
        signature = Signature(inputs=(), outputs=())
        contender = cls(
            side, predictor, signature, "name", [], "name", [None] * len(ref_names), accumulators
        )
        contender.failed = f"opening the model: {exc.message}"
        return contender

    def feed(self, n: int, feed: dict[str, np.ndarray], expected: list[np.ndarray]) -> None:
        if self.failed is not None:
            return
        try:
            got = _run(self.predictor, _renamed(feed, self.input_names))
        except Exception as exc:  # the backend could not run this model: a disagreement
            self.failed = f"sample {n}: {type(exc).__name__}: {exc}".strip()
            return
        for acc, ref, j in zip(self.accumulators, expected, self.output_index, strict=True):
            acc.add(ref, got[j] if j is not None and j < len(got) else None)

    def info(self) -> BackendInfo:
        return _info(self.predictor, self.side, self.inputs_by, self.failed)

    def rows(self) -> list[OutputRow]:
        rows = []
        for acc, j in zip(self.accumulators, self.output_index, strict=True):
            name = self.signature.outputs[j].name if j is not None else None
            by: Literal["name", "position", "missing"] = "missing" if j is None else self.outputs_by
            rows.append(acc.row(self.side.backend, name, by, self.failed))
        return rows


@dataclass
class _Accumulator:
    """One output's comparison over every sample."""

    name: str
    types: dict[str, str] | None
    tolerance: Tolerance
    samples: int = 0
    elements: int = 0
    mismatched: int = 0
    nan_mismatched: int = 0
    max_abs: float | None = None
    max_rel: float | None = None
    argmax_checked: int = 0
    argmax_agreed: int = 0
    ref_shape: list[int] | None = None
    shape: list[int] | None = None
    ref_dtype: str | None = None
    dtype: str | None = None
    exact: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: bool = False

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def add(self, ref: np.ndarray, got: np.ndarray | None) -> None:
        import numpy as np

        if self.ref_shape is None:
            self.ref_shape, self.ref_dtype = list(ref.shape), str(ref.dtype)
        if got is None:
            self.missing = True
            return
        got = np.asarray(got)
        if self.shape is None:
            self.shape, self.dtype = list(got.shape), str(got.dtype)
        self.samples += 1
        if ref.shape != got.shape:
            self._problem(f"shape {list(got.shape)}, the reference's is {list(ref.shape)}")
            return
        kind_ref, kind_got = _kind(ref.dtype), _kind(got.dtype)
        if kind_ref != kind_got:
            self._problem(f"element type {got.dtype}, the reference's is {ref.dtype}")
            return
        if ref.dtype != got.dtype:
            self._note(f"element type {got.dtype}, the reference's {ref.dtype}: compared by value")
        self.elements += ref.size
        if kind_ref in ("int", "bool"):
            self._exact(ref, got)
        elif kind_ref == "text":
            self.exact = True
            self.mismatched += int(np.count_nonzero(_as_text(ref) != _as_text(got)))
        elif kind_ref == "float":
            self._close(ref, got)
        else:
            self._problem(f"element type {ref.dtype} cannot be compared")

    def _exact(self, ref: np.ndarray, got: np.ndarray) -> None:
        import numpy as np

        self.exact = True
        differs = int(np.count_nonzero(ref != got))
        self.mismatched += differs
        if ref.size:
            diff = np.abs(ref.astype(np.float64) - got.astype(np.float64))
            self._max_abs(float(diff.max()))
            scale = np.maximum(np.abs(ref.astype(np.float64)), 1.0)
            self._max_rel(float((diff / scale).max()))

    def _close(self, ref: np.ndarray, got: np.ndarray) -> None:
        import numpy as np

        # Compared in float64, with the reference's values as they are.
        r, g = ref.astype(np.float64), got.astype(np.float64)
        atol, rtol = self.tolerance.atol, self.tolerance.rtol
        close = np.isclose(g, r, rtol=rtol, atol=atol, equal_nan=True)
        finite = np.isfinite(r) & np.isfinite(g)
        # NaN or infinity on one side only, or infinities of opposite signs.
        placement = ~finite & ~close
        self.nan_mismatched += int(np.count_nonzero(placement))
        self.mismatched += int(np.count_nonzero(~close))
        if np.any(finite):
            diff = np.abs(g[finite] - r[finite])
            self._max_abs(float(diff.max()))
            scale = np.maximum(np.abs(r[finite]), atol if atol > 0 else np.finfo(np.float64).tiny)
            self._max_rel(float((diff / scale).max()))
        if self._classifier(ref) and ref.ndim >= 2 and ref.shape[-1] > 1:
            self.argmax_checked += 1
            if np.array_equal(np.argmax(r, axis=-1), np.argmax(g, axis=-1)):
                self.argmax_agreed += 1

    def _classifier(self, ref: np.ndarray) -> bool:
        if self.types is None:
            return True  # every float output of rank >= 2 with classes on its last axis
        return self.types.get(self.name) in CLASSIFIER_TYPES

    def _max_abs(self, value: float) -> None:
        self.max_abs = value if self.max_abs is None else max(self.max_abs, value)

    def _max_rel(self, value: float) -> None:
        self.max_rel = value if self.max_rel is None else max(self.max_rel, value)

    def row(
        self,
        backend: str,
        backend_output: str | None,
        matched_by: Literal["name", "position", "missing"],
        failed: str | None,
    ) -> OutputRow:
        problems = list(self.problems)
        notes = list(self.notes)
        opened = failed is None or not failed.startswith("opening")
        if opened and (self.missing or matched_by == "missing"):
            problems.insert(0, f"{backend} gives no output {self.name!r}")
        if failed is not None:
            problems.append(f"{backend} failed: {failed}")
        if self.mismatched:
            what = "differ" if self.exact else "are outside the tolerance"
            problems.append(f"{self.mismatched:,} of {self.elements:,} elements {what}")
        if self.nan_mismatched:
            problems.append(
                f"{self.nan_mismatched:,} elements are NaN or infinite on one side only"
            )
        if matched_by == "position" and backend_output != self.name:
            notes.append(f"matched by position: {backend} names it {backend_output!r}")
        agreement = self.argmax_agreed / self.argmax_checked if self.argmax_checked else None
        if agreement is not None and agreement < 1 and not problems:
            notes.append("argmax differs on near ties only: every value is within tolerance")
        return OutputRow(
            backend=backend,
            output=self.name,
            backend_output=backend_output,
            matched_by=matched_by,
            comparison="exact" if self.exact else "tolerance",
            reference_shape=self.ref_shape,
            shape=self.shape,
            reference_dtype=self.ref_dtype,
            dtype=self.dtype,
            samples=self.samples,
            elements=self.elements,
            mismatched=self.mismatched,
            nan_mismatched=self.nan_mismatched,
            max_abs_error=self.max_abs,
            max_rel_error=self.max_rel,
            argmax_agreement=agreement,
            agree=not problems,
            problems=problems,
            notes=notes,
        )


def _kind(dtype: np.dtype[Any]) -> str:
    if dtype.kind == "b":
        return "bool"
    if dtype.kind in "iu":
        return "int"
    if dtype.kind == "f":
        return "float"
    if dtype.kind in "USO":
        return "text"  # string labels: numpy's str, or ONNX Runtime's objects
    return dtype.kind


def check_target(
    resolved: ResolvedTarget,
    backends: Sequence[str],
    *,
    count: int = DEFAULT_SAMPLES,
    seed: int = 0,
    shapes: dict[str, list[int]] | None = None,
    tolerance: Tolerance | None = None,
    options: PredictorOptions | None = None,
) -> Conformance:
    """``reef check-outputs``: every backend opens the target's model file; the samples are
    the first ``count`` of the manifest's dataset, pre-processed, else synthetic ones."""
    tolerance = tolerance or Tolerance()
    check_request(backends, count, tolerance)
    manifest = resolved.manifest
    if shapes and manifest is not None and resolved.dataset is not None:
        raise ConformanceError(
            "--shape applies to synthetic inputs; this model's manifest names a dataset, "
            "whose samples are fed instead"
        )
    from reef.bench.target import check_backend_allowed

    for backend in backends:
        # A backend that unpickles the model only where reef bench would let it.
        check_backend_allowed(resolved, backend)
    sides = [Side(b, resolved.model_path) for b in backends]
    name = resolved.target.name
    if resolved.target.version:
        name += f"@{resolved.target.version}"
    return compare_backends(
        sides,
        samples_source(resolved, count, seed, shapes or {}),
        model=name,
        output_types={o.name: o.type for o in manifest.outputs} if manifest else None,
        check_reference=_signature_check(resolved),
        tolerance=tolerance,
        options=options,
        seed=seed,
        dataset=resolved.dataset.name if resolved.dataset else None,
    )


def _signature_check(resolved: ResolvedTarget) -> Callable[[Signature], None] | None:
    """The manifest against the reference's signature, as ``reef bench`` checks it."""
    manifest = resolved.manifest
    if manifest is None:
        return None

    def check(signature: Signature) -> None:
        from reef.predictors.signature import check_signature

        check_signature(manifest, signature, str(resolved.manifest_path or resolved.model_path))

    return check


def samples_source(
    resolved: ResolvedTarget, count: int, seed: int, shapes: dict[str, list[int]]
) -> SampleSource:
    """The samples a benchmark of ``resolved`` would load, at most ``count`` of them."""

    def load(signature: Signature) -> SampleSet:
        from reef.bench.samples import load_dataset, synthetic

        manifest = resolved.manifest
        bounds = index_bounds_of(resolved.model_path, signature)
        if manifest is not None and resolved.dataset is not None and resolved.dataset_path:
            dataset_dir = next(
                (
                    Path(c.path).parent
                    for c in resolved.components
                    if c.kind == "dataset" and c.path
                ),
                None,
            )
            return load_dataset(
                manifest,
                str(resolved.manifest_path or resolved.model_path),
                resolved.dataset,
                resolved.dataset_path,
                signature,
                count,
                sources_dir=dataset_dir,
                index_bounds=bounds,
            )
        if manifest is not None:
            return synthetic(
                signature,
                shapes,
                count,
                seed,
                specs=list(manifest.inputs),
                file=str(resolved.manifest_path or resolved.model_path),
                index_bounds=bounds,
            )
        return synthetic(
            signature, shapes, count, seed, file=str(resolved.model_path), index_bounds=bounds
        )

    return load


def index_bounds_of(model: Path, signature: Signature) -> dict[str, int]:
    """What each integer input indexes, read from an ONNX file's graph, as reef bench reads
    it, so that synthetic token ids stay in range (other formats: none)."""
    if model.suffix.lower() != ".onnx":
        return {}
    from reef.predictors.onnx_graph import index_bounds

    integers = [t.name for t in signature.inputs if t.element_type.startswith(("int", "uint"))]
    return index_bounds(model, integers)


def _as_text(values: np.ndarray) -> np.ndarray:
    """Text or bytes elements as text: bytes as UTF-8 (numpy's astype(str) reads them as
    ASCII and fails on any other byte)."""
    import numpy as np

    if values.dtype.kind == "S":
        return np.char.decode(values, "utf-8", "replace")
    return values.astype(str)
