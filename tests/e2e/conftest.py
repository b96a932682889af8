"""Fixtures for whole-CLI tests: the real ``reef`` command in subprocesses, one REEF_HOME each.

Every test gets its own temporary ``REEF_HOME`` through the ``reef`` fixture. The only shared
state is ``benched``: one real benchmark (SingleStream and MultiStream of the built-in
classifier) in a home of its own, which tests only read from, so that the read-only checks
(listing, showing, logs) do not each pay for a benchmark.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import (
    DIGITS_CLASSIFIER,
    SHORT,
    Benched,
    ManifestWriter,
    Reef,
    build_tiny_onnx,
    tiny_manifest,
)


@pytest.fixture
def reef(tmp_path: Path) -> Reef:
    home = tmp_path / "reef-home"
    work = tmp_path / "work"
    work.mkdir()
    return Reef(home, work)


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


@pytest.fixture(scope="session")
def benched(tmp_path_factory: pytest.TempPathFactory) -> Benched:
    """SingleStream and MultiStream of the built-in classifier, benchmarked once."""
    base = tmp_path_factory.mktemp("benched")
    work = base / "work"
    work.mkdir()
    cli = Reef(base / "reef-home", work)
    result = cli(
        "bench", DIGITS_CLASSIFIER, *SHORT, "--scenario", "SingleStream",
        "--scenario", "MultiStream", "--raw-latencies", "--json",
    )  # fmt: skip
    assert result.rc == 0, str(result)
    records = result.json()
    assert isinstance(records, list), str(result)
    return Benched(cli, result, records)
