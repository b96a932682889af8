"""The samples a benchmark feeds the model: a dataset after pre-processing, or synthetic data.

Pre-processing runs once, when the samples are loaded, as an MLPerf query sample library
does, so that the timed path holds only what the system under test does per query.
"""

from __future__ import annotations

import math
import pickle
import time
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from reef.bench.inputs import InputPlan, batchable, fixed_batch, plan_inputs, synthesise
from reef.bench.job import SYNTHETIC_SAMPLES, footprint_problem, raise_footprint, too_big
from reef.errors import ManifestError, Problem, ReefError, SettingsError
from reef.meta.dataset import DatasetManifest
from reef.meta.model import InputSpec, ModelManifest
from reef.predictors.base import Signature

Predict = Callable[[dict[str, Any]], list[Any]]

# An archive member that inflates more than this many times its compressed size, to more than
# BOMB_MIN_BYTES, is a zip bomb rather than data: deflate cannot do better than about 1,030
# to 1, real features (images, text, measurements) compress a few times at most, and only
# near-constant filler comes close to the limit.
MAX_INFLATION = 100
BOMB_MIN_BYTES = 256 << 20


@dataclass
class SampleSet:
    inputs: dict[str, np.ndarray]  # name -> [count, *sample_shape], C-contiguous
    labels: np.ndarray | None
    count: int
    synthetic: bool
    fixed_batch: int | None  # the samples each call takes when the model fixes it (1: no batch)
    load_seconds: float
    # Where an input's samples are stacked in a call (absent: axis 0); None: the input has no
    # batch, and a call gets the first sample's tensor as it is.
    axes: dict[str, int | None] = field(default_factory=dict)
    constants: dict[str, np.ndarray] = field(default_factory=dict)  # fed as-is every call
    state: dict[str, str] = field(default_factory=dict)  # input -> the output fed back to it
    batchable: bool = True  # False: the model has no batch; each call takes one sample
    plans: list[InputPlan] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The common case, every input batched along axis 0 and no constants, stays the
        # plain indexing it always was.
        self._plain = not self.constants and all(a == 0 for a in self.axes.values())

    def feed(self, indices: list[int]) -> dict[str, np.ndarray]:
        if self._plain:
            if len(indices) == 1:
                i = indices[0]
                return {name: arr[i : i + 1] for name, arr in self.inputs.items()}
            return {name: arr[indices] for name, arr in self.inputs.items()}
        feed: dict[str, np.ndarray] = {}
        for name, arr in self.inputs.items():
            axis = self.axes.get(name, 0)
            if axis is None:
                feed[name] = arr[indices[0]]
            elif len(indices) == 1:
                i = indices[0]
                feed[name] = np.expand_dims(arr[i], axis) if axis else arr[i : i + 1]
            elif axis == 0:
                feed[name] = arr[indices]
            else:
                feed[name] = np.ascontiguousarray(np.moveaxis(arr[indices], 0, axis))
        feed.update(self.constants)
        return feed

    def single_feeds(self) -> list[dict[str, np.ndarray]]:
        """One ready feed per sample, so SingleStream's hot path only looks one up.

        A model whose batch dimension is fixed above 1 gets the sample repeated to fill it.
        """
        fill = self.fixed_batch or 1
        return [self.feed([i] * fill) for i in range(self.count)]


def with_state(predict: Predict, samples: SampleSet, outputs: list[str]) -> Predict:
    """``predict`` feeding each state input the output named for it by the previous call.

    The first call, and any whose batch differs from the previous one's (the state's shape
    with it), gets the zeros the samples hold."""
    if not samples.state:
        return predict
    pairs = [(name, outputs.index(out)) for name, out in samples.state.items()]
    last: dict[str, Any] = {}

    def stateful(feed: dict[str, Any]) -> list[Any]:
        if last:
            feed = dict(feed)
            for name, _ in pairs:
                previous = last.get(name)
                if previous is not None and previous.shape == feed[name].shape:
                    feed[name] = previous
        result = predict(feed)
        for name, position in pairs:
            last[name] = result[position]
        return result

    return stateful


def dataset_input(manifest: ModelManifest, manifest_path: str) -> InputSpec:
    """The one input a dataset feeds: the manifest's only input without a value or state."""
    fed = [i for i in manifest.inputs if i.value is None and i.state is None]
    if len(fed) != 1:
        names = ", ".join(repr(i.name) for i in fed)
        raise ManifestError(
            [
                Problem(
                    manifest_path,
                    "inputs",
                    f"a dataset feeds one input; this model has {len(fed)} without a value "
                    f"or state ({names})",
                )
            ],
            hint="give the others a constant value or a state",
        )
    return fed[0]


def load_dataset(
    manifest: ModelManifest,
    manifest_path: str,
    dataset: DatasetManifest,
    dataset_path: Path,
    signature: Signature,
    limit: int | None,
    sources_dir: Path | None = None,
    index_bounds: dict[str, int] | None = None,
    rows: Sequence[int] | None = None,
) -> SampleSet:
    """``dataset_path`` is the dataset's first source, verified; ``sources_dir`` the folder
    of its manifest, where a format that reads further sources finds their paths. ``rows``:
    the dataset rows to take, in this order (in place of the first ``limit``)."""
    from reef.predictors.steps import build_pipeline

    started = time.perf_counter()
    spec = dataset_input(manifest, manifest_path)
    plans = plan_inputs(
        signature,
        manifest.inputs,
        {},
        manifest_path,
        dataset_input=spec.name,
        index_bounds=index_bounds,
    )
    plan = next(p for p in plans if p.name == spec.name)
    if dataset.format == "coco":
        from reef.bench.coco import load_coco

        features, labels = load_coco(dataset, dataset_path, sources_dir)
    else:
        features, labels = _load_npz(dataset, dataset_path)
    _check_lengths(dataset, dataset_path, len(features), None if labels is None else len(labels))
    if rows is not None:
        taken = np.asarray(rows, dtype=np.int64)
        if taken.size and (taken.min() < 0 or taken.max() >= len(features)):
            raise ValueError(f"rows outside the dataset's {len(features)}")
    else:
        taken = np.arange(min(limit, len(features)) if limit else len(features))
    count = len(taken)
    pipeline = build_pipeline(spec.steps)
    where = f"inputs[{manifest.inputs.index(spec)}].steps"
    try:
        processed = []
        for n, i in enumerate(taken.tolist()):
            processed.append(np.asarray(pipeline(features[i]), dtype=spec.element_type))
            if n == 0:
                _check_processed(processed[0], count, spec.name, str(dataset_path))
        stacked = np.ascontiguousarray(np.stack(processed))
    except ReefError:
        raise
    except Exception as exc:  # numpy or Pillow refusing what a step was given
        raise ManifestError(
            [Problem(manifest_path, where, f"pre-processing failed: {exc}")],
            hint=f"the steps must turn each row of {dataset.features or 'the images'!r} "
            "into one sample",
        ) from exc
    _check_sample_shape(stacked.shape[1:], plan, manifest_path, where)
    others = _generated([p for p in plans if p is not plan], count, 0)
    others[spec.name] = stacked
    return _sample_set(
        plans, others, labels[taken] if labels is not None else None, count, False, started
    )


def _sample_set(
    plans: list[InputPlan],
    data: dict[str, np.ndarray],
    labels: np.ndarray | None,
    count: int,
    synthetic: bool,
    started: float,
) -> SampleSet:
    return SampleSet(
        inputs={p.name: data[p.name] for p in plans if p.source != "value"},
        labels=labels,
        count=count,
        synthetic=synthetic,
        fixed_batch=fixed_batch(plans),
        load_seconds=time.perf_counter() - started,
        axes={p.name: p.batch_axis for p in plans if p.source != "value"},
        constants={p.name: p.value for p in plans if p.source == "value"},
        state={p.name: p.state for p in plans if p.state},
        batchable=batchable(plans),
        plans=plans,
    )


def _generated(plans: list[InputPlan], count: int, seed: int) -> dict[str, np.ndarray]:
    """Random data (or a state's zeros) for each plan that is neither a dataset nor a value."""
    rng = np.random.default_rng(seed)
    return {p.name: synthesise(p, rng, count) for p in plans if p.source in ("synthetic", "state")}


def _check_lengths(
    dataset: DatasetManifest, dataset_path: Path, features: int, labels: int | None
) -> None:
    """The manifest's sample count, the features and the labels must agree: a label missing
    for a sample would only show as an IndexError when the answers are scored."""
    if features != dataset.samples:
        raise ManifestError(
            [
                Problem(
                    str(dataset_path),
                    "samples",
                    f"the manifest says {dataset.samples} "
                    f"samples but {dataset.features or 'the dataset'!r} holds {features}",
                )
            ]
        )
    if labels is not None and labels != features:
        raise ManifestError(
            [
                Problem(
                    str(dataset_path),
                    "labels",
                    f"{dataset.labels or 'the dataset'!r} holds {labels} labels but "
                    f"{dataset.features or 'the dataset'!r} holds {features} samples: each "
                    "sample needs exactly one label",
                )
            ]
        )


def _check_processed(first: np.ndarray, count: int, name: str, file: str) -> None:
    """Pre-processing holds every sample and then a stacked copy of them: refuse, after the
    first sample, what could never fit."""
    from reef.files import human_size

    problem = too_big(2 * count * first.nbytes)
    if problem:
        raise ManifestError(
            [
                Problem(
                    file,
                    "",
                    f"{count:,} pre-processed samples for input {name!r} of "
                    f"{human_size(first.nbytes)} each, held twice while stacked, are {problem}",
                )
            ],
            hint="--samples N loads fewer samples",
        )


# --- npz archives -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    """One array of an npz archive as its .npy header and the zip directory describe it."""

    name: str
    member: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    offset: int  # bytes of the .npy header, before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _load_npz(dataset: DatasetManifest, dataset_path: Path) -> tuple[Any, Any]:
    """The features and labels arrays, read only after their headers said they are what the
    manifest declares and fit in memory; never unpickled unless the manifest allows it."""
    file = str(dataset_path)
    with _open_npz(dataset_path) as archive:
        features, labels = _npz_headers(dataset, archive, file)
        return (
            _read(archive, features, dataset.allow_pickle, file),
            _read(archive, labels, dataset.allow_pickle, file) if labels else None,
        )


def check_npz(dataset: DatasetManifest, dataset_path: Path) -> None:
    """Refuse an npz dataset that could not be loaded, from its zip directory and .npy headers
    alone, nothing inflated: what ``load_dataset`` would refuse, found before a worker starts."""
    with _open_npz(dataset_path) as archive:
        _npz_headers(dataset, archive, str(dataset_path))


def _open_npz(dataset_path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(dataset_path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ManifestError(
            [
                Problem(
                    str(dataset_path),
                    "",
                    f"not a readable npz archive (truncated, or not a zip file): {exc}",
                )
            ],
            hint="restore the file; np.savez writes npz archives",
        ) from exc


def _npz_headers(
    dataset: DatasetManifest, archive: zipfile.ZipFile, file: str
) -> tuple[_Header, _Header | None]:
    """The features' and labels' headers, checked against the manifest and this machine."""
    assert dataset.features is not None  # the schema requires it for npz
    wanted = [a for a in (dataset.features, dataset.labels) if a]
    members = _members(archive)
    missing = [a for a in wanted if a not in members]
    if missing:
        raise ManifestError(
            [
                Problem(
                    file,
                    "",
                    f"has no array named {', '.join(missing)} "
                    f"(it has {', '.join(members) or 'none'})",
                )
            ]
        )
    headers = {a: _header(archive, a, members[a], file) for a in wanted}
    features = headers[dataset.features]
    labels = headers[dataset.labels] if dataset.labels else None
    _check_headers(dataset, file, features, labels)
    return features, labels


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Array name -> member, named as numpy.load names them (``x.npy`` is ``x``)."""
    return {info.filename.removesuffix(".npy"): info for info in archive.infolist()}


# What reading a damaged archive raises: zipfile's own errors, zlib's, a short read, or numpy
# refusing a header.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    SyntaxError,
    pickle.UnpicklingError,
)


def _header(archive: zipfile.ZipFile, name: str, member: zipfile.ZipInfo, file: str) -> _Header:
    fmt = np.lib.format
    try:
        with archive.open(member) as stream:
            version = fmt.read_magic(stream)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _fortran, dtype = read(stream)
            offset = stream.tell()
    except _DAMAGED as exc:
        raise ManifestError(
            [Problem(file, "", f"array {name!r} is not a readable .npy array: {exc}")],
            hint="the archive is truncated or damaged; restore it",
        ) from exc
    return _Header(name, member, tuple(shape), dtype, offset)


def _check_headers(
    dataset: DatasetManifest, file: str, features: _Header, labels: _Header | None
) -> None:
    """Everything the headers can tell before a byte is inflated, in the order that names the
    cause best: pickles, rows against the manifest's sample count, sizes against what the zip
    directory records, memory, and the inflation ratio."""
    arrays = [features] if labels is None else [features, labels]
    for header in arrays:
        _check_kind(header, dataset.allow_pickle, file)
    rows = None if labels is None else labels.shape[0]
    _check_lengths(dataset, Path(file), features.shape[0], rows)
    for header in arrays:
        _check_held(header, file)
    plain = [h for h in arrays if not h.dtype.hasobject]
    problem = too_big(sum(h.nbytes for h in plain))
    if problem:
        arrays_text = " and ".join(f"{h.name!r} {list(h.shape)} {h.dtype}" for h in plain)
        raise ManifestError([Problem(file, "", f"arrays {arrays_text} are {problem}")])
    for header in arrays:
        _check_inflation(header, file)


def _check_kind(header: _Header, allow_pickle: bool, file: str) -> None:
    if header.dtype.hasobject and not allow_pickle:
        raise ManifestError(
            [
                Problem(
                    file,
                    "",
                    f"array {header.name!r} holds Python objects (dtype object), which "
                    "NumPy can only read by unpickling, and the manifest does not set "
                    "allow_pickle",
                )
            ],
            hint="store plain arrays; or set allow_pickle: true in the dataset manifest, "
            "which Reef honours only for a dataset and model from trusted repositories "
            "(reef repo trust NAME)",
        )
    if not header.shape:
        raise ManifestError(
            [Problem(file, "", f"array {header.name!r} is a scalar, not one row per sample")]
        )


def _check_held(header: _Header, file: str) -> None:
    """A header that declares more (or less) data than its member holds is damaged or lies.
    (zipfile never inflates a member past the size the zip directory records for it.)"""
    from reef.files import human_size

    if header.dtype.hasobject:
        return  # pickled: its size is not in the header
    held = header.member.file_size - header.offset
    if held != header.nbytes:
        raise ManifestError(
            [
                Problem(
                    file,
                    "",
                    f"array {header.name!r}: its header declares {list(header.shape)} "
                    f"{header.dtype} ({human_size(header.nbytes)}) but the archive holds "
                    f"{human_size(max(held, 0))} of data for it",
                )
            ],
            hint="the archive is truncated or damaged; restore it",
        )


def _check_inflation(header: _Header, file: str) -> None:
    """A member that inflates a hundredfold to hundreds of megabytes is a zip bomb."""
    from reef.files import human_size

    inflated, compressed = header.member.file_size, max(header.member.compress_size, 1)
    if inflated > BOMB_MIN_BYTES and inflated > MAX_INFLATION * compressed:
        raise ManifestError(
            [
                Problem(
                    file,
                    "",
                    f"array {header.name!r} inflates {human_size(compressed)} into "
                    f"{human_size(inflated)} ({inflated // compressed:,} to 1): refused as a "
                    "zip bomb",
                )
            ],
            hint=f"real data compresses less than {MAX_INFLATION} to 1; store the array "
            "uncompressed (numpy.savez) if it really is this regular",
        )


def _read(archive: zipfile.ZipFile, header: _Header, allow_pickle: bool, file: str) -> Any:
    try:
        with archive.open(header.member) as stream:
            return _read_array(stream, allow_pickle)
    except _DAMAGED as exc:
        raise ManifestError(
            [Problem(file, "", f"array {header.name!r} cannot be read: {exc}")],
            hint="the archive is truncated or damaged; restore it",
        ) from exc


def _read_array(stream: IO[bytes], allow_pickle: bool) -> Any:
    # Object arrays need unpickling; bench.target lets only trusted datasets ask for it.
    return np.lib.format.read_array(stream, allow_pickle=allow_pickle)


def _check_sample_shape(got: tuple[int, ...], plan: InputPlan, file: str, where: str) -> None:
    expected = list(plan.declared)
    if plan.batch_axis is not None:
        del expected[plan.batch_axis]
    ok = len(got) == len(expected) and all(
        not isinstance(e, int) or e <= 0 or e == g for g, e in zip(got, expected, strict=True)
    )
    if not ok:
        batch = (
            "no batch"
            if plan.batch_axis is None
            else "batch first"
            if plan.batch_axis == 0
            else f"batch on axis {plan.batch_axis}"
        )
        raise ManifestError(
            [
                Problem(
                    file,
                    where,
                    f"pre-processing gives samples of shape {list(got)} but the model's input "
                    f"{plan.name!r} takes {_shown(plan.declared)} ({batch})",
                )
            ]
        )


def _shown(shape: tuple[int | str | None, ...]) -> list[int | str | None]:
    return list(shape)


def synthetic(
    signature: Signature,
    shapes: dict[str, list[int]],
    count: int | None,
    seed: int,
    *,
    specs: list[InputSpec] | None = None,
    file: str = "the model",
    index_bounds: dict[str, int] | None = None,
) -> SampleSet:
    """Random data for each input as ``reef.bench.inputs`` plans it: ``specs`` are the
    manifest's inputs (None: a bare model file, everything inferred)."""
    started = time.perf_counter()
    plans = plan_inputs(signature, specs, shapes, file, index_bounds=index_bounds)
    n = count or SYNTHETIC_SAMPLES
    _check_synthetic(plans, shapes, n, fixed_batch(plans))
    return _sample_set(plans, _generated(plans, n, seed), None, n, True, started)


def _check_synthetic(
    plans: list[InputPlan],
    shapes: dict[str, list[int]],
    count: int,
    fixed: int | None,
) -> None:
    """Refuse, before allocating, random inputs that would not fit in memory: each input on
    its own (named with the --shape that made it, if any), then all of them together."""
    total = 0
    generated = [p for p in plans if p.source in ("synthetic", "state")]
    for plan in generated:
        sample_bytes = math.prod(plan.sample_shape) * np.dtype(plan.element_type).itemsize
        total += sample_bytes
        given = shapes.get(plan.name)
        origin = f" (--shape {plan.name}={'x'.join(map(str, given))})" if given else ""
        what = f"input {plan.name!r} {list(plan.shape)} {plan.element_type}{origin}"
        found = footprint_problem(sample_bytes, count, fixed, None, what)
        if found and found[0] == "sample" and given:
            raise SettingsError(found[1], hint="give --shape smaller dimensions")
        raise_footprint(found)
    names = ", ".join(repr(p.name) for p in generated)
    raise_footprint(footprint_problem(total, count, fixed, None, f"inputs {names}"))


def describe(samples: SampleSet) -> dict[str, Any]:
    described: dict[str, Any] = {
        "count": samples.count,
        "synthetic": samples.synthetic,
        "shapes": {k: list(v.shape[1:]) for k, v in samples.inputs.items()},
        "load_seconds": round(samples.load_seconds, 4),
    }
    if samples.plans:
        described["inputs"] = {p.name: p.describe() for p in samples.plans}
    return described
