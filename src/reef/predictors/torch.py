"""The PyTorch backend, on the CPU: TorchScript (``.pt``, ``.ts``) and ``torch.export``
programs (``.pt2``).

A ``.pt2`` file declares its inputs' and outputs' types and shapes (a dynamic dimension is
its symbol's name, ``s77``). A TorchScript file declares its inputs' names only: its inputs
are float32 of unknown shape, unless the file carries Reef's signature as the extra file
``reef_signature.json`` (see ``SIGNATURE_FILE`` and docs/backends.md).

Only TorchScript and exported programs are read: both are loaded without unpickling code.
A module saved whole with ``torch.save`` is a pickle, and is refused with the loader's error.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reef.errors import PredictorError
from reef.predictors.base import PredictorOptions, Signature, TensorSpec
from reef.predictors.registry import import_framework, load_failed

# The extra file of a TorchScript archive that holds its signature, as JSON:
# {"inputs": [{"name": "x", "element_type": "float32", "shape": [null, 4]}], "outputs": [...]}
SIGNATURE_FILE = "reef_signature.json"


def _element_type(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _dim(d: Any) -> int | str | None:
    if isinstance(d, int):
        return d
    # A SymInt: never int() it, which would specialise it to its example value.
    text = str(d)
    return int(text) if text.isdigit() else text  # a symbol: s77


def _value_spec(name: str, value: Any) -> TensorSpec:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    return TensorSpec(
        name,
        _element_type(dtype) if dtype is not None else "float32",
        tuple(_dim(d) for d in shape) if shape is not None else (None,),
    )


def exported_signature(program: Any) -> Signature:
    """An ExportedProgram's user inputs and outputs, from the placeholder and output nodes'
    example values."""
    gs = program.graph_signature
    nodes = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    inputs = tuple(_value_spec(name, nodes[name].meta.get("val")) for name in gs.user_inputs)
    output_node = next(n for n in program.graph.nodes if n.op == "output")
    values = output_node.args[0] if output_node.args else ()
    values = values if isinstance(values, list | tuple) else (values,)
    outputs = []
    for i, name in enumerate(gs.user_outputs):
        value = values[i] if i < len(values) else None
        meta = getattr(value, "meta", {}).get("val") if value is not None else None
        outputs.append(_value_spec(str(name) if name else f"output_{i}", meta))
    return Signature(inputs=inputs, outputs=tuple(outputs))


def _declared_spec(item: Any, where: str) -> TensorSpec:
    try:
        shape = tuple(d if d is None or isinstance(d, int | str) else None for d in item["shape"])
        return TensorSpec(str(item["name"]), str(item.get("element_type", "float32")), shape)
    except (KeyError, TypeError) as exc:
        raise PredictorError(f"{where}: expected name, element_type and shape: {exc}") from exc


def script_signature(module: Any, declared: str, path: Path) -> Signature:
    """A TorchScript module's signature: the one it carries in ``SIGNATURE_FILE``, else its
    forward's argument names (float32, shape unknown) and one output per returned value."""
    if declared:
        where = f"{path}: extra file {SIGNATURE_FILE}"
        try:
            data = json.loads(declared)
        except ValueError as exc:
            raise PredictorError(f"{where}: not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise PredictorError(f"{where}: expected an object with inputs and outputs")
        return Signature(
            inputs=tuple(_declared_spec(i, f"{where}: inputs") for i in data.get("inputs", [])),
            outputs=tuple(_declared_spec(o, f"{where}: outputs") for o in data.get("outputs", [])),
        )
    schema = module.forward.schema
    inputs = tuple(TensorSpec(arg.name, "float32", (None,)) for arg in schema.arguments[1:])
    returned: Any = schema.returns[0].type if schema.returns else None
    count = len(returned.elements()) if hasattr(returned, "elements") else 1
    outputs = tuple(TensorSpec(f"output_{i}", "float32", (None,)) for i in range(count))
    return Signature(inputs=inputs, outputs=outputs)


def _flatten(value: Any, out: list[Any]) -> list[Any]:
    if isinstance(value, list | tuple):
        for item in value:
            _flatten(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            _flatten(item, out)
    else:
        out.append(value.numpy() if hasattr(value, "numpy") else value)
    return out


class TorchPredictor:
    name = "torch"

    def __init__(self) -> None:
        self._module: Any = None
        self._format = ""
        self._threads: int | None = None
        self._input_names: tuple[str, ...] = ()

    def version(self) -> str:
        return str(import_framework("torch", "torch").__version__)

    def open(self, model_path: Path, options: PredictorOptions) -> Signature:
        import_framework("torch", "torch")  # a broken install: MissingRuntime, not a traceback
        import torch

        if options.threads:
            torch.set_num_threads(options.threads)
        extra = {SIGNATURE_FILE: ""}
        try:
            if model_path.suffix.lower() == ".pt2":
                with _quiet("torch.export"):  # it logs a traceback before raising
                    program = torch.export.load(str(model_path))
                signature = exported_signature(program)
                module = _unchecked_module(program)
                self._format = "torch.export"
            else:
                jit_load: Any = torch.jit.load  # untyped
                with warnings.catch_warnings():
                    # torch 2.10+ calls TorchScript deprecated; it still reads it.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    module = jit_load(str(model_path), map_location="cpu", _extra_files=extra)
                module.eval()
                self._format = "torchscript"
        except PredictorError:
            raise
        except Exception as exc:  # torch raises RuntimeError, ValueError, zipfile's, ...
            if model_path.suffix.lower() != ".pt2" and _saved_with_torch_save(model_path):
                raise PredictorError(
                    f"{model_path}: torch could not load the model: it was saved with "
                    "torch.save (a pickle: a whole module or its weights), not as TorchScript",
                    hint="save it with torch.export.save (.pt2) or torch.jit.save (TorchScript); "
                    "Reef does not unpickle torch.save files",
                ) from exc
            raise load_failed(model_path, "torch", exc) from exc
        if self._format == "torchscript":
            signature = script_signature(module, _text(extra[SIGNATURE_FILE]), model_path)
        self._module = module
        self._threads = torch.get_num_threads()
        self._input_names = tuple(t.name for t in signature.inputs)
        # A read-only sample array is fine to read from: torch warns once that it could be
        # written through, which Reef never does.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        from_numpy, names, inference = torch.from_numpy, self._input_names, torch.inference_mode

        def predict(feeds: dict[str, Any]) -> list[Any]:
            with inference():
                result = module(*[from_numpy(feeds[n]) for n in names])
            return _flatten(result, [])

        self.predict = predict  # type: ignore[method-assign]
        return signature

    def predict(self, feeds: dict[str, Any]) -> list[Any]:
        raise PredictorError("the torch predictor was not opened")

    def close(self) -> None:
        self._module = None

    def info(self) -> dict[str, Any]:
        return {"format": self._format, "device": "cpu", "options": {"threads": self._threads}}


def _saved_with_torch_save(path: Path) -> bool:
    """A zip archive with a pickle (``data.pkl``) but no TorchScript code (``constants.pkl``):
    what ``torch.save`` writes."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = [n.rsplit("/", 1)[-1] for n in archive.namelist()]
    except (OSError, zipfile.BadZipFile):
        return False
    return "data.pkl" in names and "constants.pkl" not in names


def _unchecked_module(program: Any) -> Any:
    """The program as a callable module, without the checks of its guards and input
    constraints that ``torch.export`` adds to every call (0.15-0.25 ms a call on a laptop
    core, more than a small model's own time): Reef feeds inputs made from the signature."""
    try:
        module = program.module(check_guards=False)
    except TypeError:  # torch before 2.9 has no such switch
        module = program.module()
    hooks = getattr(module, "_forward_pre_hooks", {})
    for key, hook in list(hooks.items()):
        if getattr(hook, "__name__", "") == "_check_input_constraints_pre_hook":
            del hooks[key]
    return module


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
