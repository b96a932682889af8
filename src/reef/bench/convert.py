"""``reef convert MODEL --to onnx``: conversion where a library already does it.

Reef converts nothing itself: it hands the model to the library that knows its framework,

- PyTorch: an ExportedProgram (``.pt2``, ``torch.export.save``) goes to ``torch.onnx.export``'s
  default exporter (torch.export-based, which needs ``onnxscript``), keeping the program's
  dynamic dimensions; a TorchScript file (``.pt``, ``.pth``, ``.ts``) goes to its TorchScript
  exporter, the one that reads TorchScript, with a dynamic batch dimension (a TorchScript file
  records no input shapes: ``--shape`` gives them);
- scikit-learn: a joblib or pickle file goes to ``skl2onnx`` (probabilities as a tensor, not
  a list of maps); a pickle runs code as it loads, so only the user's own file or one from a
  trusted repository is loaded;
- TensorFlow: a SavedModel folder or a ``.tflite`` file goes to ``tf2onnx``, when installed.

The result is written beside its manifest (``reef.yaml``: inputs and outputs from the converted
model's signature, sources with sha256), assembled in a temporary folder and moved into place,
so a failure leaves nothing behind. Then the conformance check runs the source's backend and
ONNX Runtime on the same samples: the files are kept when they disagree, and the result says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from reef.bench.conformance import (
    DEFAULT_SAMPLES,
    Conformance,
    SampleSource,
    Side,
    Tolerance,
    check_request,
    compare_backends,
)
from reef.errors import EXIT_ENVIRONMENT, BenchError

if TYPE_CHECKING:
    from reef.bench.samples import SampleSet
    from reef.bench.target import ResolvedTarget
    from reef.meta.model import ModelManifest
    from reef.predictors.base import Signature

MANIFEST = "reef.yaml"
TARGETS = ("onnx",)
# The earliest and latest opsets a converter is asked for; each converter has its own default.
MIN_OPSET, MAX_OPSET = 7, 30

SourceKind = Literal["torchscript", "exported-program", "sklearn", "savedmodel", "tflite"]
SUFFIXES: dict[str, SourceKind] = {
    ".pt": "torchscript",
    ".pth": "torchscript",
    ".ts": "torchscript",
    ".pt2": "exported-program",
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".tflite": "tflite",
}
# The backend that runs each kind of source, for the conformance check.
BACKENDS: dict[SourceKind, str | None] = {
    "torchscript": "torch",
    "exported-program": "torch",
    "sklearn": "sklearn",
    "savedmodel": None,  # no backend reads a SavedModel: the check is skipped
    "tflite": "tflite",
}
_PICKLES = ("sklearn",)


class ConvertError(BenchError):
    """The conversion cannot be made as asked (exit 2): nothing was written."""


class ConverterMissing(BenchError):
    """The library that converts this framework is not installed (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


class Converted(BaseModel):
    """What ``reef convert`` wrote, and whether the result answers as its source does
    (``conformance``: None when no backend of this Reef runs the source)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    source: str
    source_sha256: str
    source_kind: SourceKind
    source_backend: str | None
    converter: str
    converter_version: str
    output: str
    manifest: str
    name: str
    opset: int | None
    dynamic_batch: bool
    conformance: Conformance | None
    notes: list[str]
    agree: bool | None  # None: not checked


@dataclass
class Source:
    """The model to convert: its file, kind, and manifest when it has one."""

    path: Path
    kind: SourceKind
    name: str
    sha256: str
    resolved: ResolvedTarget | None = None  # a manifest or component

    @property
    def manifest(self) -> ModelManifest | None:
        return self.resolved.manifest if self.resolved else None


@dataclass
class Written:
    converter: str
    version: str
    opset: int | None = None
    notes: list[str] = field(default_factory=list)
    output_types: dict[str, str] = field(default_factory=dict)  # what the converter knows


def source_of(spec: str) -> Source:
    """The model ``spec`` names: a model file or SavedModel folder (the user's own), or a
    manifest or component (``reef bench``'s targets), whose file is converted."""
    from reef.components.checksums import sha256_file

    path = Path(spec).expanduser()
    if path.is_dir() and (path / "saved_model.pb").is_file():
        digest = sha256_file(path / "saved_model.pb")
        return Source(path.resolve(), "savedmodel", path.resolve().name, digest)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        raise ConvertError(f"{spec}: already an ONNX model", hint="reef bench runs it as it is")
    if suffix in SUFFIXES and path.is_file():
        path = path.resolve()
        kind = SUFFIXES[suffix]
        if kind in _PICKLES:
            _ensure_pickle_trusted(path, f"file {path.name!r}", path)
        return Source(path, kind, path.stem, sha256_file(path))
    if suffix in SUFFIXES:
        from reef.files import check_regular

        check_regular(path)
        raise ConvertError(f"{spec}: file not found")
    from reef.bench.target import resolve

    resolved = resolve(spec)
    model = resolved.model_path
    found = SUFFIXES.get(model.suffix.lower())
    if found is None:
        if model.suffix.lower() == ".onnx":
            raise ConvertError(
                f"{spec}: its model {model.name} is already ONNX",
                hint="reef bench runs it as it is",
            )
        raise ConvertError(
            f"{spec}: reef convert does not know a converter for {model.name}",
            hint=f"it converts {', '.join(sorted(SUFFIXES))} files and SavedModel folders",
        )
    if found in _PICKLES and resolved.manifest_path is not None:
        _ensure_pickle_trusted(model, f"model {resolved.target.name!r}", resolved.manifest_path)
    return Source(model, found, resolved.target.name, sha256_file(model), resolved)


def _ensure_pickle_trusted(path: Path, what: str, manifest_path: Path) -> None:
    """A pickle runs code as it loads: the user's own file, or a trusted repository's."""
    from reef.components.trust import trust_of

    trusted, where = trust_of(manifest_path)
    if trusted:
        return
    place = "Reef's own folders" if where == "REEF_HOME" else f"repository {where!r}"
    raise ConvertError(
        f"{what} ({path}) is a pickle from {place}, which is not trusted: loading it to "
        "convert it would run code it names",
        hint=f"if you trust its authors: reef repo trust {where}"
        if where != "REEF_HOME"
        else "convert a copy of a file you trust",
    )


def output_paths(source: Source, out: Path | None, name: str) -> tuple[Path, Path]:
    """The ONNX file and its manifest: ``OUT`` (``.onnx`` added unless given) and
    ``reef.yaml`` beside it; by default ``./NAME-onnx/NAME.onnx``."""
    if out is None:
        target = Path.cwd() / f"{name}-onnx" / f"{name}.onnx"
    else:
        target = out.expanduser()
        if target.is_dir():
            target = target / f"{name}.onnx"
        elif target.suffix.lower() != ".onnx":
            target = target.with_name(target.name + ".onnx")
    target = target.absolute()
    return target, target.parent / MANIFEST


def _manifest_shapes(source: Source) -> dict[str, list[int]]:
    """A TorchScript source's input shapes, from its manifest where every dimension but the
    batch is fixed: --shape need not repeat them."""
    manifest = source.manifest
    if manifest is None or source.kind != "torchscript":
        return {}
    return {
        spec.name: [1, *spec.shape[1:]]
        for spec in manifest.inputs
        if spec.shape and all(d > 0 for d in spec.shape[1:])
    }


def manifest_name(source: Source) -> str:
    """A component name from the source's: lower case, other characters as ``-``."""
    base = source.name if source.manifest else source.name.lower()
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-._") or "model"
    return cleaned[:90]


def convert(
    spec: str,
    *,
    to: str = "onnx",
    out: Path | None = None,
    opset: int | None = None,
    shapes: dict[str, list[int]] | None = None,
    force: bool = False,
    check: bool = True,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    tolerance: Tolerance | None = None,
) -> Converted:
    """Convert ``spec`` to ONNX, write its manifest, and check its outputs against the
    source's (``check``): see the module's description."""
    if to.lower() not in TARGETS:
        raise ConvertError(f"--to {to}: reef convert writes {', '.join(TARGETS)}")
    if opset is not None and not MIN_OPSET <= opset <= MAX_OPSET:
        raise ConvertError(f"--opset must be from {MIN_OPSET} to {MAX_OPSET}, got {opset}")
    tolerance = tolerance or Tolerance()
    source = source_of(spec)
    backend = BACKENDS[source.kind]
    if check and backend is not None:
        check_request([backend, "onnxruntime"], samples, tolerance)
    shapes = {**_manifest_shapes(source), **(shapes or {})}
    name = manifest_name(source)
    onnx_path, manifest_path = output_paths(source, out, name)
    existing = [p for p in (onnx_path, manifest_path) if p.exists() or p.is_symlink()]
    if existing and not force:
        raise ConvertError(
            f"{', '.join(str(p) for p in existing)} already exist(s)",
            hint="--force replaces them; -o OUT writes elsewhere",
        )
    _check_converter(source.kind)
    written = _write(source, onnx_path, manifest_path, name, opset, shapes)
    notes = list(written.notes)
    conformance = None
    if check and backend is not None:
        types = _types_for(source, written)
        conformance = _check(
            source, backend, onnx_path, shapes, samples, seed, tolerance, notes, types
        )
    elif check:
        notes.append(f"outputs not checked: no backend of Reef runs a {source.kind} model")
    if conformance is not None and not conformance.agree:
        notes.append(
            f"the converted model's outputs differ from the source's; {onnx_path.name} and "
            f"{MANIFEST} are kept for inspection"
        )
    return Converted(
        source=str(source.path),
        source_sha256=source.sha256,
        source_kind=source.kind,
        source_backend=backend,
        converter=written.converter,
        converter_version=written.version,
        output=str(onnx_path),
        manifest=str(manifest_path),
        name=name,
        opset=written.opset,
        dynamic_batch=_dynamic_batch(onnx_path),
        conformance=conformance,
        notes=notes,
        agree=None if conformance is None else conformance.agree,
    )


# --- converters ---------------------------------------------------------------------------


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


_NEEDS: dict[SourceKind, list[tuple[str, str]]] = {
    "torchscript": [("torch", "pip install 'reef-bench[torch]'"), ("onnx", "pip install onnx")],
    "exported-program": [
        ("torch", "pip install 'reef-bench[torch]'"),
        (
            "onnxscript",
            "pip install 'reef-bench[convert]' (torch.onnx's exporter needs onnxscript)",
        ),
    ],
    "sklearn": [
        ("sklearn", "pip install 'reef-bench[sklearn]'"),
        ("joblib", "pip install 'reef-bench[sklearn]'"),
        ("skl2onnx", "pip install 'reef-bench[convert]' (or pip install skl2onnx)"),
    ],
    "savedmodel": [("tf2onnx", "pip install tf2onnx"), ("tensorflow", "pip install tensorflow")],
    "tflite": [("tf2onnx", "pip install tf2onnx")],
}


def _check_converter(kind: SourceKind) -> None:
    for module, install in _NEEDS[kind]:
        if _missing(module):
            raise ConverterMissing(
                f"converting a {kind} model needs {module}, which is not installed: {install}",
                hint="nothing was written",
            )
    if _missing("onnxruntime"):
        raise ConverterMissing(
            "reef convert reads the converted model with ONNX Runtime, which is not "
            "installed: pip install 'reef-bench[cpu]'"
        )


def _write(
    source: Source,
    onnx_path: Path,
    manifest_path: Path,
    name: str,
    opset: int | None,
    shapes: dict[str, list[int]],
) -> Written:
    """Convert into a temporary folder beside the destination, write the manifest, validate
    both, and move them into place; a failure leaves nothing behind."""
    created = _make_parents(onnx_path.parent)
    staging = Path(tempfile.mkdtemp(prefix=".reef-convert-", dir=onnx_path.parent))
    try:
        staged = staging / onnx_path.name
        with _quiet():
            written = _CONVERTERS[source.kind](source, staged, opset, shapes)
        signature = _signature(staged)
        staged_manifest = staging / MANIFEST
        staged_manifest.write_text(
            manifest_text(source, staged, name, signature, written), encoding="utf-8"
        )
        from reef.meta.load import load_model_manifest

        load_model_manifest(staged_manifest)  # what reef check would refuse is refused here
        os.replace(staged, onnx_path)
        os.replace(staged_manifest, manifest_path)
        return written
    except BaseException:
        for folder in created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the topmost created is returned first, to
    be removed again on failure."""
    missing = []
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        missing.append(parent)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConvertError(f"{folder}: cannot create the output folder: {exc.strerror}") from exc
    return missing[-1:]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Converters print progress on stdout, which is --json's: it goes to stderr; their
    warnings (deprecations, optional operators they skip) are not Reef's to show."""
    import logging

    torch_onnx = logging.getLogger("torch.onnx")
    level = torch_onnx.level
    torch_onnx.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore")
            yield
    finally:
        torch_onnx.setLevel(level)


def _failed(what: str, exc: Exception) -> ConvertError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ConvertError(f"{what} failed: {first}", hint="nothing was written")


def _torchscript(
    source: Source, out: Path, opset: int | None, shapes: dict[str, list[int]]
) -> Written:
    import torch

    try:
        module = torch.jit.load(str(source.path), map_location="cpu")  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise ConvertError(
            f"{source.path}: not a TorchScript file ({type(exc).__name__})",
            hint="reef convert reads TorchScript (torch.jit.save) and ExportedPrograms "
            "(.pt2, torch.export.save); a state_dict or a pickled module cannot be converted "
            "without the code that defines it",
        ) from exc
    module.eval()
    names = _forward_inputs(module)
    shapes = {**_declared_shapes(source.path, names), **shapes}
    missing = [n for n in names if n not in shapes]
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise ConvertError(f"--shape names unknown input(s) {unknown}; the model has {names}")
    if missing:
        example = " ".join(f"--shape {n}=1x3x224x224" for n in missing)
        raise ConvertError(
            f"--shape: a TorchScript file records no input shapes; give each input's "
            f"({', '.join(missing)})",
            hint=f"e.g. {example}",
        )
    # A batch of 2: the exporter would take a dimension of 1 for a constant.
    examples = tuple(torch.zeros([2, *shapes[n][1:]], dtype=torch.float32) for n in names)
    try:
        with torch.no_grad():
            result = module(*examples)
        count = len(result) if isinstance(result, tuple | list) else 1
    except Exception as exc:
        raise _failed(f"running {source.path.name} on inputs of shapes {shapes}", exc) from exc
    # As the torch backend names a TorchScript module's outputs.
    outputs = [f"output_{i}" for i in range(count)]
    dynamic = {n: {0: "batch"} for n in [*names, *outputs]}
    try:
        torch.onnx.export(
            module,
            examples,
            str(out),
            input_names=names,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
    except Exception as exc:
        raise _failed("torch.onnx.export (TorchScript exporter)", exc) from exc
    return Written(
        "torch.onnx.export (TorchScript exporter)",
        str(torch.__version__),
        _opset_of(out),
        [f"inputs taken as float32 [batch, ...] with a dynamic batch: {shapes}"],
    )


def _declared_shapes(path: Path, names: list[str]) -> dict[str, list[int]]:
    """The input shapes a TorchScript file declares in the signature the torch backend reads
    (its extra file ``reef_signature.json``), where every dimension but the batch is known."""
    import json

    import torch

    extra = {"reef_signature.json": ""}
    try:
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)  # type: ignore[no-untyped-call]
        declared = json.loads(extra["reef_signature.json"] or "{}").get("inputs", [])
    except Exception:  # no signature, or not one Reef can read: --shape says
        return {}
    shapes: dict[str, list[int]] = {}
    for item in declared if isinstance(declared, list) else []:
        if not isinstance(item, dict) or item.get("name") not in names:
            continue
        dims = item.get("shape")
        if isinstance(dims, list) and dims and all(isinstance(d, int) and d > 0 for d in dims[1:]):
            shapes[str(item["name"])] = [1, *dims[1:]]
    return shapes


def _forward_inputs(module: Any) -> list[str]:
    try:
        arguments = module.forward.schema.arguments[1:]  # the first is self
    except AttributeError:
        raise ConvertError("the TorchScript module has no forward method") from None
    return [str(a.name) for a in arguments]


def _exported_program(
    source: Source, out: Path, opset: int | None, shapes: dict[str, list[int]]
) -> Written:
    import torch

    if shapes:
        raise ConvertError(
            "--shape applies to TorchScript: an ExportedProgram records its input shapes"
        )
    try:
        program = torch.export.load(str(source.path))
    except Exception as exc:
        raise ConvertError(
            f"{source.path}: not an ExportedProgram ({type(exc).__name__}: {exc})",
            hint="torch.export.save writes one",
        ) from exc
    try:
        onnx_program = torch.onnx.export(
            program, (), None, dynamo=True, opset_version=opset, verbose=False
        )
        assert onnx_program is not None
        onnx_program.save(str(out), external_data=False)
    except Exception as exc:
        raise _failed("torch.onnx.export", exc) from exc
    return Written("torch.onnx.export (torch.export-based)", str(torch.__version__), _opset_of(out))


def _sklearn(source: Source, out: Path, opset: int | None, shapes: dict[str, list[int]]) -> Written:
    # Through importlib: neither ships type information.
    joblib = importlib.import_module("joblib")
    skl2onnx = importlib.import_module("skl2onnx")
    convert_sklearn = skl2onnx.convert_sklearn
    FloatTensorType = importlib.import_module("skl2onnx.common.data_types").FloatTensorType

    try:
        estimator = joblib.load(source.path)  # trusted: source_of checked where it came from
    except Exception as exc:
        raise ConvertError(
            f"{source.path}: joblib could not load it ({type(exc).__name__}: {exc})"
        ) from exc
    features = getattr(estimator, "n_features_in_", None)
    if not isinstance(features, int):
        raise ConvertError(
            f"{source.path}: a {type(estimator).__name__}, not a fitted scikit-learn estimator "
            "(it has no n_features_in_)"
        )
    if shapes and set(shapes) != {"input"}:
        raise ConvertError(f"--shape: the converted model's one input is 'input' [-1, {features}]")
    options: dict[str, Any] = {}
    if hasattr(estimator, "predict_proba"):
        options = {"zipmap": False}  # probabilities as a [batch, classes] tensor
    try:
        model = convert_sklearn(
            estimator,
            initial_types=[("input", FloatTensorType([None, features]))],
            options=options or None,
            target_opset=opset,
        )
    except Exception as exc:
        raise _failed(f"skl2onnx on a {type(estimator).__name__}", exc) from exc
    types = {"label": "classes", "probabilities": "probability"}
    if not options and _one_dimensional(estimator, features):
        # A regressor: skl2onnx answers [batch, 1] where predict answers [batch], and the
        # sklearn backend calls it label; the model is made to answer as its source does.
        _squeeze_output(model, "label")
        types = {"label": "regression"}
    out.write_bytes(model.SerializeToString())
    return Written("skl2onnx", str(skl2onnx.__version__), _opset_of(out), output_types=types)


def _one_dimensional(estimator: Any, features: int) -> bool:
    """Whether ``predict`` answers one value per sample, [batch] rather than [batch, k]."""
    import numpy as np

    try:
        return bool(np.asarray(estimator.predict(np.zeros((1, features)))).ndim == 1)
    except Exception:  # it cannot predict zeros: leave its outputs as skl2onnx wrote them
        return False


def _squeeze_output(model: Any, name: str) -> None:
    """Make the model's one [batch, 1] output a [batch] output called ``name``."""
    from onnx import TensorProto, helper

    graph = model.graph
    if len(graph.output) != 1:
        return
    old = graph.output[0]
    dims = old.type.tensor_type.shape.dim
    if len(dims) != 2 or dims[1].dim_value != 1:
        return
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    if opset >= 13:
        axes = helper.make_tensor("reef_squeeze_axes", TensorProto.INT64, [1], [1])
        graph.initializer.append(axes)
        node = helper.make_node("Squeeze", [old.name, axes.name], [name])
    else:
        node = helper.make_node("Squeeze", [old.name], [name], axes=[1])
    graph.node.append(node)
    batch = dims[0].dim_param or (dims[0].dim_value if dims[0].dim_value else None)
    new = helper.make_tensor_value_info(name, old.type.tensor_type.elem_type, [batch])
    graph.output.remove(old)
    graph.output.append(new)


def _tf2onnx(source: Source, out: Path, opset: int | None, shapes: dict[str, list[int]]) -> Written:
    import subprocess

    if shapes:
        raise ConvertError("--shape applies to TorchScript; tf2onnx reads the model's shapes")
    flag = "--saved-model" if source.kind == "savedmodel" else "--tflite"
    argv = [sys.executable, "-m", "tf2onnx.convert", flag, str(source.path), "--output", str(out)]
    if opset is not None:
        argv += ["--opset", str(opset)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.is_file():
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise ConvertError(
            f"tf2onnx failed (exit {proc.returncode}): {lines[-1] if lines else 'no message'}",
            hint="nothing was written",
        )
    from importlib.metadata import version

    return Written("tf2onnx", version("tf2onnx"), _opset_of(out))


_CONVERTERS = {
    "torchscript": _torchscript,
    "exported-program": _exported_program,
    "sklearn": _sklearn,
    "savedmodel": _tf2onnx,
    "tflite": _tf2onnx,
}


def _opset_of(path: Path) -> int | None:
    """The default-domain opset of an ONNX file, read without onnx installed where it is."""
    if _missing("onnx"):
        return None
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def _signature(path: Path) -> Signature:
    from reef.predictors.base import PredictorOptions
    from reef.predictors.registry import create

    predictor = create("onnxruntime")
    try:
        return predictor.open(path, PredictorOptions(graph_optimization="none"))
    finally:
        predictor.close()


def _dynamic_batch(path: Path) -> bool:
    signature = _signature(path)
    return all(t.shape and not isinstance(t.shape[0], int) for t in signature.inputs)


# --- the manifest -------------------------------------------------------------------------


def manifest_text(
    source: Source, onnx_path: Path, name: str, signature: Signature, written: Written
) -> str:
    """The converted model's manifest: its signature, the source's pre- and post-processing
    (matched by position) when the source had a manifest."""
    import yaml

    from reef.components.checksums import sha256_file
    from reef.meta.steps import ElementType

    element_types = set(ElementType.__args__)  # type: ignore[attr-defined]
    manifest = source.manifest
    inputs: list[dict[str, Any]] = []
    for i, spec in enumerate(signature.inputs):
        if spec.element_type not in element_types:
            raise ConvertError(
                f"the converted model's input {spec.name!r} is {spec.element_type}, which a "
                "manifest cannot declare"
            )
        entry: dict[str, Any] = {
            "name": spec.name,
            "element_type": spec.element_type,
            "shape": [d if isinstance(d, int) and d > 0 else -1 for d in spec.shape],
        }
        if (
            manifest is not None
            and i < len(manifest.inputs)
            and len(manifest.inputs) == len(signature.inputs)
        ):
            before = manifest.inputs[i]
            if before.layout and len(before.layout) == len(spec.shape):
                entry["layout"] = before.layout
            if before.steps:
                entry["steps"] = [
                    s.model_dump(mode="json", exclude_none=True) for s in before.steps
                ]
        inputs.append(entry)
    outputs: list[dict[str, Any]] = []
    for i, out_spec in enumerate(signature.outputs):
        out: dict[str, Any] = {
            "name": out_spec.name,
            "type": _output_type(source, i, out_spec.name, written),
        }
        if manifest is not None and len(manifest.outputs) == len(signature.outputs):
            before_out = manifest.outputs[i]
            if before_out.labels:
                out["labels"] = list(before_out.labels)
            if before_out.steps:
                out["steps"] = [
                    s.model_dump(mode="json", exclude_none=True) for s in before_out.steps
                ]
        outputs.append(out)
    import onnxruntime

    major, minor = (int(p) for p in onnxruntime.__version__.split(".")[:2])
    description = f"{source.name} converted to ONNX by {written.converter} {written.version}" + (
        f" (opset {written.opset})" if written.opset else ""
    )
    data: dict[str, Any] = {
        "kind": "model",
        "name": name,
        "version": "0.1.0",
        "description": description,
        "framework": {"name": "onnxruntime", "version": f">={major}.{minor},<{major + 1}"},
        "sources": [{"path": onnx_path.name, "sha256": sha256_file(onnx_path)}],
        "inputs": inputs,
        "outputs": outputs,
        "attributes": {
            "converted_from": {
                "file": source.path.name,
                "sha256": source.sha256,
                "kind": source.kind,
            },
            "converter": f"{written.converter} {written.version}",
            **({"opset": written.opset} if written.opset else {}),
        },
        "tags": ["converted", "onnx"],
    }
    header = (
        f"# Written by `reef convert` from {source.path.name}; `reef check .` validates it,\n"
        "# `reef bench .` runs it. Describe pre-processing (inputs[].steps) and the outputs'\n"
        "# types and labels if the source's manifest did not.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _output_type(source: Source, index: int, name: str, written: Written) -> str:
    manifest = source.manifest
    if manifest is not None and index < len(manifest.outputs):
        return manifest.outputs[index].type
    return written.output_types.get(name, "raw")


# --- the check ------------------------------------------------------------------------------


def _check(
    source: Source,
    backend: str,
    onnx_path: Path,
    shapes: dict[str, list[int]],
    count: int,
    seed: int,
    tolerance: Tolerance,
    notes: list[str],
    types: dict[str, str] | None,
) -> Conformance | None:
    """The source's backend against ONNX Runtime on the converted file."""
    from reef.errors import PredictorError
    from reef.predictors.registry import available

    if backend not in available():
        notes.append(f"outputs not checked: this Reef has no {backend} backend")
        return None
    resolved = source.resolved
    samples: SampleSource
    if resolved is not None and resolved.dataset is not None:
        from reef.bench.conformance import samples_source

        samples = samples_source(resolved, count, seed, {})
    else:
        samples = _synthetic_from(onnx_path, shapes, count, seed)
    try:
        return compare_backends(
            [Side(backend, source.path), Side("onnxruntime", onnx_path)],
            samples,
            model=source.name,
            output_types=types,
            tolerance=tolerance,
            seed=seed,
            dataset=resolved.dataset.name if resolved and resolved.dataset else None,
        )
    except PredictorError as exc:
        if getattr(exc, "exit_code", None) == EXIT_ENVIRONMENT:
            notes.append(f"outputs not checked: {exc.message}")
            return None
        raise


def _synthetic_from(
    onnx_path: Path, shapes: dict[str, list[int]], count: int, seed: int
) -> SampleSource:
    """Synthetic samples for the converted model's inputs (which say every shape and type,
    where a TorchScript source says none), whatever the reference's signature says."""

    def load(_reference: Signature) -> SampleSet:
        from reef.bench.conformance import index_bounds_of
        from reef.bench.samples import synthetic

        signature = _signature(onnx_path)
        known = {t.name for t in signature.inputs}
        given = {k: [1, *v[1:]] for k, v in shapes.items() if k in known}
        bounds = index_bounds_of(onnx_path, signature)
        return synthetic(signature, given, count, seed, file=str(onnx_path), index_bounds=bounds)

    return load


def _types_for(source: Source, written: Written) -> dict[str, str] | None:
    """The outputs' types by the reference's (the source backend's) names, where known: the
    source's manifest, else what the converter knows (scikit-learn's label and
    probabilities); None leaves the argmax rule to the outputs' shapes."""
    manifest = source.manifest
    if manifest is not None:
        return {o.name: o.type for o in manifest.outputs}
    return dict(written.output_types) or None
