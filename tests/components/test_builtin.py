"""The built-in component repository and checksum verification of sources."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from reef.components.builtin import (
    ComponentNotFound,
    builtin_components,
    builtin_root,
    find_builtin,
    parse_ref,
)
from reef.components.checksums import sha256_file, verified_source
from reef.errors import ChecksumError, ManifestError, ReefError
from reef.meta.common import Source
from reef.meta.dataset import DatasetManifest
from reef.meta.load import load_model_manifest
from reef.meta.model import ModelManifest


def test_builtin_components_are_listed() -> None:
    components = builtin_components()
    names = {c.manifest.name for c in components}
    assert {"digits", "digits-classifier"} <= names
    for c in components:
        assert c.path.name == "reef.yaml"
        assert c.directory == c.path.parent
        assert c.path.is_relative_to(builtin_root())


def test_find_by_name() -> None:
    component = find_builtin("digits-classifier")
    assert isinstance(component.manifest, ModelManifest)
    assert component.manifest.name == "digits-classifier"
    assert (component.directory / "model.onnx").is_file()


def test_find_by_name_and_version() -> None:
    component = find_builtin("digits-classifier@1.0.0")
    assert component.manifest.version == "1.0.0"


@pytest.mark.parametrize("constraint", [">=1", ">=1.0,<2", "~=1.0", "==1.*"])
def test_find_by_name_and_constraint(constraint: str) -> None:
    assert find_builtin(f"digits-classifier@{constraint}").manifest.version == "1.0.0"


def test_find_by_kind() -> None:
    assert isinstance(find_builtin("digits", kind="dataset").manifest, DatasetManifest)
    with pytest.raises(ComponentNotFound):
        find_builtin("digits", kind="model")


def test_no_version_satisfies() -> None:
    with pytest.raises(ComponentNotFound) as info:
        find_builtin("digits-classifier@>=2")
    assert "'digits-classifier'" in info.value.message
    assert ">=2" in info.value.message
    assert info.value.hint is not None and "1.0.0" in info.value.hint


def test_exact_version_that_does_not_exist() -> None:
    with pytest.raises(ComponentNotFound) as info:
        find_builtin("digits-classifier@3.1.4")
    assert info.value.hint is not None and "available: 1.0.0" in info.value.hint


def test_unknown_name_lists_the_builtins() -> None:
    with pytest.raises(ComponentNotFound) as info:
        find_builtin("resnet50")
    assert "'resnet50'" in info.value.message
    assert info.value.hint is not None
    assert "built-in components:" in info.value.hint
    assert "digits-classifier" in info.value.hint
    assert "digits" in info.value.hint
    assert info.value.exit_code == 2


def test_bad_constraint() -> None:
    with pytest.raises(ReefError) as info:
        find_builtin("digits-classifier@>>1")
    assert ">>1" in info.value.message


def test_parse_ref() -> None:
    assert parse_ref("digits") == ("digits", "")
    assert parse_ref("digits@1.0.0") == ("digits", "==1.0.0")
    assert parse_ref("digits@>=1,<2") == ("digits", ">=1,<2")


# --- checksums -----------------------------------------------------------------------------


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = b"reef" * 300_000  # more than one read chunk
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


@pytest.fixture
def classifier_copy(tmp_path: Path) -> Path:
    """A copy of the built-in classifier's folder; the returned path is its manifest."""
    folder = tmp_path / "digits-classifier"
    shutil.copytree(find_builtin("digits-classifier").directory, folder)
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


def test_url_sources_are_not_fetched_yet(tmp_path: Path) -> None:
    source = Source(url="https://example.com/m.onnx", sha256="0" * 64)
    with pytest.raises(ManifestError) as info:
        verified_source(source, tmp_path, "m.yaml", "sources[0]")
    assert info.value.problems[0].location == "sources[0]"
    assert "https://example.com/m.onnx" in info.value.message
