"""Reef installed without any ONNX Runtime (core ``reef-bench``, no ``[cpu]`` or ``[gpu]``):
every command that does not run a model works, and benchmarking an ONNX model is one clean
error naming the extra to install, exit 3, with nothing recorded.

The real CLI runs in a subprocess with a ``sitecustomize`` on ``PYTHONPATH`` that makes this
interpreter look as if onnxruntime (and onnx) had never been installed: importing them raises
``ModuleNotFoundError``, ``importlib.util.find_spec`` finds nothing, and their package metadata
is not listed. The benchmark worker inherits it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from e2e_support import SHORT, Reef

HIDDEN = ("onnxruntime", "onnx")

SITECUSTOMIZE = f"""
import importlib.metadata as _metadata
import re
import sys

HIDDEN = {set(HIDDEN)!r}
for _name in HIDDEN:
    sys.modules[_name] = None  # import: ModuleNotFoundError; importlib.util.find_spec: None

_discover = _metadata.Distribution.discover.__func__


def _shown(dist):
    name = dist.metadata["Name"] or ""
    return re.sub(r"[-_.]+", "-", name).lower() not in HIDDEN


def _without_hidden(cls, **kwargs):
    return (dist for dist in _discover(cls, **kwargs) if _shown(dist))


_metadata.Distribution.discover = classmethod(_without_hidden)
"""


@pytest.fixture
def without_runtime(reef: Reef, tmp_path: Path) -> Reef:
    """``reef`` with onnxruntime and onnx hidden from its interpreter."""
    folder = tmp_path / "no-runtime"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    reef.env["PYTHONPATH"] = str(folder)
    return reef


def test_the_runtime_is_really_hidden(without_runtime: Reef) -> None:
    probe = """
        import importlib.metadata, importlib.util
        for name in ("onnxruntime", "onnx"):
            assert importlib.util.find_spec(name) is None, name
            try:
                importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                pass
            else:
                raise AssertionError(name + " metadata is visible")
        try:
            import onnxruntime
        except ModuleNotFoundError:
            print("hidden")
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(probe)],
        env=without_runtime.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "hidden", proc.stderr


def test_commands_that_run_no_model_work_without_a_runtime(without_runtime: Reef) -> None:
    reef = without_runtime
    assert reef.ok("--version").stdout.startswith("reef ")

    fingerprint = reef.ok("detect", "--json").json()
    frameworks = fingerprint["software"].get("frameworks", {})
    assert "onnxruntime" not in frameworks  # not installed: left out, not a problem
    assert not [p for p in fingerprint["problems"] if "onnxruntime" in p["message"]]

    assert reef.ok("runs", "list", "--json").json() == []
    reef.ok("new", "model", "my-model")
    assert (reef.cwd / "my-model" / "reef.yaml").is_file()
    assert "Usage" in reef.ok("demo", "--help").stdout
    reef.ok("schema", "model")
    reef.ok("show", "digits-classifier", "--json")
    reef.ok("init", "digits-classifier", "--dry-run")


def test_bench_without_a_runtime_names_the_extra(without_runtime: Reef, tiny_onnx: Path) -> None:
    reef = without_runtime
    reef.ok("new", "model", "my-model")
    result = reef("bench", "my-model", *SHORT, "--json")
    assert result.rc == 3, str(result)  # Reef's environment lacks what the model needs
    assert "Traceback" not in result.stderr
    error = result.json()
    assert "reef-bench[cpu]" in error["message"] and error["extra"] == "cpu"
    human = reef("bench", "my-model", *SHORT)
    assert human.rc == 3 and human.says("ONNX Runtime, which is not installed")
    # A bare ONNX file: the same words (its exit status is the registry's to decide).
    bare = reef("bench", str(tiny_onnx), *SHORT, "--json")
    assert bare.rc in (2, 3) and "Traceback" not in bare.stderr, str(bare)
    assert "reef-bench[cpu]" in bare.json()["message"]
    reef.assert_nothing_written(list_runs=True)
