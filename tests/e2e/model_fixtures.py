"""The tiny model and the copy of a built-in component that both the whole-CLI tests
(``tests/e2e``) and the in-process ones (``tests/cli``) work on; each conftest imports these
fixtures, so they are written once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import DIGITS_CLASSIFIER, ManifestWriter, build_tiny_onnx, tiny_manifest


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
