"""sha256 of files and verification of declared sources."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reef.components.checksums import cached_path, sha256_file, verified_source
from reef.components.lookup import find
from reef.errors import ChecksumError, ManifestError
from reef.meta.common import Source
from reef.meta.load import load_model_manifest

if TYPE_CHECKING:
    from conftest import HttpServer


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = b"reef" * 300_000  # more than one read chunk
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


@pytest.fixture
def classifier_copy(tmp_path: Path) -> Path:
    """A copy of the built-in classifier's folder; the returned path is its manifest."""
    folder = tmp_path / "digits-classifier"
    shutil.copytree(find("digits-classifier").directory, folder)
    return folder / "reef.yaml"


def test_verified_source_returns_the_file(classifier_copy: Path) -> None:
    manifest = load_model_manifest(classifier_copy)
    path = verified_source(manifest.sources[0], classifier_copy.parent, "m.yaml", "sources[0]")
    assert path == (classifier_copy.parent / "model.onnx").resolve()


def test_tampered_file_raises_checksum_error_naming_both_hashes(classifier_copy: Path) -> None:
    manifest = load_model_manifest(classifier_copy)
    model = classifier_copy.parent / "model.onnx"
    with model.open("ab") as f:
        f.write(b"\0")
    actual = hashlib.sha256(model.read_bytes()).hexdigest()
    declared = manifest.sources[0].sha256
    with pytest.raises(ChecksumError) as info:
        verified_source(manifest.sources[0], classifier_copy.parent, str(classifier_copy), "s[0]")
    err = info.value
    assert err.expected == declared
    assert err.actual == actual
    assert declared in err.message and actual in err.message
    assert str(model.resolve()) in err.message
    assert err.hint is not None and "was not used" in err.hint


def test_missing_source_file(tmp_path: Path) -> None:
    source = Source(path="gone.onnx", sha256="0" * 64)
    with pytest.raises(ManifestError) as info:
        verified_source(source, tmp_path, "m.yaml", "sources[0]")
    (problem,) = info.value.problems
    assert problem.file == "m.yaml"
    assert problem.location == "sources[0].path"
    assert "file not found" in problem.message


def test_url_sources_are_fetched_into_the_cache(http_server: HttpServer) -> None:
    data = b"weights" * 100
    digest = hashlib.sha256(data).hexdigest()
    source = Source(url=http_server.route("/m.onnx", data), sha256=digest)
    path = verified_source(source, Path("/nowhere"), "m.yaml", "sources[0]")
    assert path == cached_path(digest)
    assert path.read_bytes() == data
    assert verified_source(source, Path("/nowhere"), "m.yaml", "sources[0]") == path
    assert http_server.hits("/m.onnx") == 1
