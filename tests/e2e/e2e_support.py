"""Helpers for the whole-CLI tests: the real ``reef`` command in a subprocess, with its own
``REEF_HOME``; a tiny ONNX model and manifests for it. Fixtures are in ``conftest.py``."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLI_TIMEOUT_S = 180
SHORT = ("--duration", "0.3")
DIGITS_CLASSIFIER = "digits-classifier"


def squash(text: str) -> str:
    """``text`` without any whitespace: Rich wraps stderr at 80 columns, mid-path if it must."""
    return re.sub(r"\s+", "", text)


@dataclass
class Result:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:  # pragma: no cover - a failure message
            raise AssertionError(
                f"reef {' '.join(self.args)}: stdout is not JSON ({exc}):\n{self.stdout}\n"
                f"stderr:\n{self.stderr}"
            ) from None

    def says(self, *fragments: str) -> bool:
        """True when stderr holds every fragment (whitespace ignored)."""
        flat = squash(self.stderr)
        return all(squash(f) in flat for f in fragments)

    def __str__(self) -> str:
        return (
            f"reef {' '.join(self.args)} -> exit {self.rc}\n--- stdout ---\n{self.stdout[-4000:]}"
            f"\n--- stderr ---\n{self.stderr[-4000:]}"
        )


class Reef:
    """The real CLI, run as ``python -m reef`` with ``REEF_HOME`` pointing at ``home``."""

    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
        self.env["REEF_HOME"] = str(home)
        self.env["PYTHONUNBUFFERED"] = "1"

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reef", *args]

    def __call__(
        self, *args: str, timeout: float = CLI_TIMEOUT_S, env: dict[str, str] | None = None
    ) -> Result:
        proc = subprocess.run(
            self.argv(*args),
            env={**self.env, **(env or {})},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """``reef`` running, to be signalled: it starts with Ctrl-C's default disposition, as in
        a terminal, even where the tests run from a background job (which ignores SIGINT, and
        a child would inherit that and never see the interrupt)."""
        return subprocess.Popen(
            self.argv(*args),
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=False,
            preexec_fn=_default_sigint,
        )

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.rc == 0, str(result)
        assert "Traceback" not in result.stderr, str(result)
        return result

    def runs(self, *filters: str) -> list[dict[str, Any]]:
        result = self.ok("runs", "list", "--json", "-n", "0", *filters)
        data = result.json()
        assert isinstance(data, list), str(result)
        return data

    def run_dirs(self) -> list[str]:
        runs = self.home / "runs"
        return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []

    def assert_nothing_written(self, *, list_runs: bool = False) -> None:
        """No run recorded and no run folder left behind.

        Runs are recorded in ``$REEF_HOME/reef.db``: when the command did not even create it,
        nothing can have been recorded, and ``reef runs list`` is only asked (it costs a
        process) when the database exists or ``list_runs`` says so.
        """
        assert self.run_dirs() == [], f"run folders left behind: {self.run_dirs()}"
        if list_runs or (self.home / "reef.db").exists():
            assert self.runs() == []


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_usage_error(result: Result, *fragments: str) -> None:
    """Exit 2, a clean one-message error on stderr (no traceback) naming ``fragments``."""
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr, str(result)
    assert "error" in result.stderr.lower(), str(result)
    assert result.says(*fragments), f"expected {fragments} in stderr\n{result}"


def assert_json_error(result: Result, *fragments: str) -> dict[str, Any]:
    """With ``--json``: stdout is one JSON object with ``error`` and ``message``."""
    data = result.json()
    assert isinstance(data, dict), str(result)
    assert data.get("error"), str(result)
    assert isinstance(data.get("message"), str) and data["message"], str(result)
    whole = squash(json.dumps(data))
    for fragment in fragments:
        assert squash(json.dumps(fragment)[1:-1]) in whole, f"{fragment!r} not in {data}"
    return data


def check_schema_structure(schema: dict[str, Any]) -> None:
    """What a JSON Schema must be, checked without the jsonschema package."""
    assert schema["type"] == "object"
    assert isinstance(schema["properties"], dict) and schema["properties"]
    for name in schema.get("required", []):
        assert name in schema["properties"], name
    defs = schema.get("$defs", {})

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.startswith("#/$defs/"), ref
                assert ref.removeprefix("#/$defs/") in defs, f"dangling {ref}"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)


def build_tiny_onnx(path: Path) -> Path:
    """x: float32 [batch, 3, 8, 8] -> ReduceMean over H, W -> Softmax -> y: [batch, 3]."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["mean"], keepdims=0),
        helper.make_node("Flatten", ["mean"], ["flat"], axis=1),
        helper.make_node("Softmax", ["flat"], ["y"], axis=1),
    ]
    graph = helper.make_graph(nodes, "reef-e2e-tiny", [x], [y], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tiny_manifest(model: Path) -> dict[str, Any]:
    """A manifest that matches ``build_tiny_onnx`` exactly (no dataset: synthetic inputs)."""
    return {
        "kind": "model",
        "name": "tiny",
        "version": "1.0.0",
        "framework": {"name": "onnxruntime", "version": ">=1.17"},
        "sources": [{"path": model.name, "sha256": sha256(model)}],
        "inputs": [{"name": "x", "element_type": "float32", "shape": [-1, 3, 8, 8]}],
        "outputs": [{"name": "y", "type": "probability"}],
    }


ManifestWriter = Callable[..., Path]


@dataclass
class Benched:
    reef: Reef
    result: Result
    records: list[dict[str, Any]]
