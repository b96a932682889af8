"""``reef new KIND NAME``: a component folder that ``reef check`` accepts as it is.

The model and dataset scaffolds carry a tiny real file (an ONNX softmax classifier shipped as
bytes, an npz of eight samples) with its sha256, so the folder can be checked and benchmarked
at once; the comments in ``reef.yaml`` say what to replace.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from reef.errors import ReefError
from reef.meta.common import check_name, check_semver
from reef.meta.component import KINDS

MANIFEST = "reef.yaml"
_FEATURES = 4
_CLASSES = 3


def _onnx_model() -> bytes:
    """The scaffold's model, shipped as bytes (``tools/build_scaffold_model.py`` builds them):
    writing it needs ``onnx``, which Reef does not depend on for this alone."""
    from importlib.resources import files

    return files("reef.components").joinpath("scaffold_model.onnx").read_bytes()


def _npz() -> bytes:
    import numpy as np

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(
        buf,
        features=rng.standard_normal((8, _FEATURES)).astype(np.float32),
        labels=np.arange(8, dtype=np.int64) % _CLASSES,
    )
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _common(kind: str, name: str, version: str, what: str) -> str:
    return (
        f"# A Reef {kind} component; `reef check .` validates it, `reef schema {kind}` lists\n"
        "# every field.\n"
        f"kind: {kind}\n"
        f"name: {name}\n"
        f"version: {version}\n"
        f"description: {what}\n"
        "tags: []\n"
        "# Other components this one needs, each with an optional constraint: [digits >=1,<2]\n"
        "requires: []\n"
        "# Python packages it needs (PEP 508): [onnxruntime>=1.17]\n"
        "python: []\n"
    )


def _model(name: str, version: str) -> dict[str, bytes]:
    model = _onnx_model()
    text = _common("model", name, version, "Replace model.onnx with your model and describe it.")
    text += (
        "framework: {name: onnxruntime, version: '>=1.17,<2'}\n"
        "# The model file comes first; a url source is fetched and checked against its sha256.\n"
        "sources:\n"
        f"  - path: model.onnx\n    sha256: {_sha(model)}\n"
        "inputs:\n"
        "  - name: input\n"
        "    element_type: float32\n"
        f"    shape: [-1, {_FEATURES}]\n"
        "    steps: []        # pre-processing, e.g. [{scale: {factor: 0.0625}}]\n"
        "outputs:\n"
        "  - name: probabilities\n"
        "    type: probability\n"
        "    steps: []        # post-processing, e.g. [{top_k: {k: 5}}]\n"
        "# dataset: digits   # a dataset component to measure accuracy on\n"
        "# accuracy: {metric: top1, reference: 0.95}\n"
    )
    return {MANIFEST: text.encode(), "model.onnx": model}


def _dataset(name: str, version: str) -> dict[str, bytes]:
    data = _npz()
    text = _common("dataset", name, version, "Replace data.npz with your samples.")
    text += (
        "format: npz\n"
        "sources:\n"
        f"  - path: data.npz\n    sha256: {_sha(data)}\n"
        "features: features   # the array holding one sample per row\n"
        "labels: labels       # the expected answers\n"
        "samples: 8\n"
    )
    return {MANIFEST: text.encode(), "data.npz": data}


def _program(name: str, version: str) -> dict[str, bytes]:
    text = _common("program", name, version, "A command a workflow step runs.")
    text += (
        "# argv; {dir} is this folder. It runs only from a trusted repository.\n"
        f"command: [echo, 'hello from {name}']\n"
        "env: {}\n"
    )
    return {MANIFEST: text.encode()}


def _detector(name: str, version: str) -> dict[str, bytes]:
    text = _common("detector", name, version, "Detects one piece of installed software.")
    text += (
        f"software: {name}\n"
        '# argv of a command that prints a JSON object, e.g. {"version": "1.2.3"}.\n'
        "command: [python3, -c, 'import json, platform; "
        'print(json.dumps({"version": platform.python_version()}))\']\n'
    )
    return {MANIFEST: text.encode()}


def _solution(name: str, version: str) -> dict[str, bytes]:
    text = _common("solution", name, version, "A portable workflow over other components.")
    return {MANIFEST: text.encode()}


_BUILDERS: dict[str, Callable[[str, str], dict[str, bytes]]] = {
    "model": _model,
    "dataset": _dataset,
    "program": _program,
    "detector": _detector,
    "solution": _solution,
}


def scaffold(
    kind: str,
    name: str,
    parent: Path,
    *,
    version: str = "0.1.0",
    files: Callable[[str, str], dict[str, bytes]] | None = None,
) -> Path:
    """Write ``parent/name/`` for a new component; its manifest path is returned.

    ``files(name, version)`` gives the folder's files instead of the kind's template (``reef
    new model --from FILE``).

    The folder is assembled beside its destination and renamed into place, so a failure
    leaves nothing behind.
    """
    if kind not in _BUILDERS:
        raise ReefError(f"unknown kind {kind!r}", hint=f"kinds: {', '.join(KINDS)}")
    try:
        check_name(name)
        check_semver(version)
    except ValueError as exc:
        raise ReefError(str(exc)) from exc
    if not parent.is_dir():
        raise ReefError(f"{parent}: no such folder")
    dest = parent / name
    if dest.exists():
        raise ReefError(f"{dest} already exists", hint="choose another name or folder")
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}."))
    try:
        for filename, data in (files or _BUILDERS[kind])(name, version).items():
            (staging / filename).write_bytes(data)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest / MANIFEST
