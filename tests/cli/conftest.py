"""Fixtures for the in-process CLI tests: ``cli`` runs ``reef.cli.main`` in this Python (see
``cli_support``) with a ``REEF_HOME`` and working folder of its own; the tiny model and the
copies of built-in components that ``tests/e2e`` uses, for the same checks."""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

# The whole-CLI helpers (Result, the error assertions, the tiny model) are shared with e2e.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from cli_support import InProcessReef
from e2e_support import DIGITS_CLASSIFIER, ManifestWriter, build_tiny_onnx, tiny_manifest

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


@pytest.fixture(scope="session")
def tiny_onnx_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_onnx(tmp_path_factory.mktemp("onnx") / "tiny.onnx")


@pytest.fixture
def tiny_onnx(tiny_onnx_source: Path, tmp_path: Path) -> Path:
    """A bare ONNX file of this test's own."""
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    return Path(shutil.copy(tiny_onnx_source, folder / "tiny.onnx"))


@pytest.fixture
def write_manifest(tiny_onnx: Path) -> ManifestWriter:
    """``write_manifest(edit)``: the tiny model's manifest, changed by ``edit``, written next
    to the model as ``model.yaml``; ``write_manifest(text="...")`` writes raw text instead."""

    def write(
        edit: Callable[[dict[str, Any]], None] | None = None, *, text: str | None = None
    ) -> Path:
        path = tiny_onnx.parent / "model.yaml"
        if text is None:
            data = tiny_manifest(tiny_onnx)
            if edit is not None:
                edit(data)
            text = yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def digits_copy(tmp_path: Path) -> Path:
    """A copy of the built-in digits-classifier folder (its manifest names the digits data)."""
    import reef as reef_pkg

    source = Path(reef_pkg.__file__).parent / "builtin" / DIGITS_CLASSIFIER
    target = tmp_path / "digits-classifier-copy"
    shutil.copytree(source, target)
    return target / "reef.yaml"
