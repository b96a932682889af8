"""Fixtures for the in-process CLI tests: ``cli`` runs ``reef.cli.main`` in this Python (see
``cli_support``) with a ``REEF_HOME`` and working folder of its own; the tiny model and the
copies of built-in components that ``tests/e2e`` uses, for the same checks."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest

# The whole-CLI helpers (Result, the error assertions, the tiny model) are shared with e2e.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from cli_support import InProcessReef
from model_fixtures import digits_copy, tiny_onnx, tiny_onnx_source, write_manifest

__all__ = ["digits_copy", "tiny_onnx", "tiny_onnx_source", "write_manifest"]  # fixtures

# reef.cli makes its Rich consoles when first imported, from what stdout and stderr are then:
# make them as a `reef` whose output goes to pipes makes them (no colour, no wrapping), even
# under `pytest -s` in a terminal.
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import reef.cli  # noqa: F401


@pytest.fixture
def cli(tmp_path: Path) -> InProcessReef:
    work = tmp_path / "work"
    work.mkdir()
    return InProcessReef(tmp_path / "reef-home", work)
