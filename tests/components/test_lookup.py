"""Finding components by reference; the built-in repository."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from reef.components.index import catalog
from reef.components.lookup import ComponentNotFound, find, parse_ref
from reef.components.repository import builtin_root
from reef.errors import ReefError


def test_builtin_components_are_listed() -> None:
    entries = [e for e in catalog() if e.repository == "builtin"]
    assert {"digits", "digits-classifier", "digits-cnn"} <= {e.name for e in entries}
    for e in entries:
        assert e.manifest_path.name == "reef.yaml"
        assert e.directory == e.manifest_path.parent
        assert e.manifest_path.is_relative_to(builtin_root())
        assert e.trusted


def test_a_model_requires_its_dataset() -> None:
    assert find("digits-classifier").requires == ("digits",)


def test_find_by_name() -> None:
    entry = find("digits-classifier")
    assert (entry.kind, entry.name, entry.repository) == ("model", "digits-classifier", "builtin")
    assert (entry.directory / "model.onnx").is_file()


def test_find_by_name_and_version() -> None:
    assert find("digits-classifier@1.0.0").version == "1.0.0"


@pytest.mark.parametrize("constraint", [">=1", ">=1.0,<2", "~=1.0", "==1.*"])
def test_find_by_name_and_constraint(constraint: str) -> None:
    assert find(f"digits-classifier@{constraint}").version == "1.0.0"
    assert find(f"digits-classifier {constraint}").version == "1.0.0"


def test_find_by_kind() -> None:
    assert find("digits", kind="dataset").kind == "dataset"
    with pytest.raises(ComponentNotFound) as info:
        find("digits", kind="model")
    assert "is a dataset, not a model" in info.value.message


def test_no_version_satisfies() -> None:
    with pytest.raises(ComponentNotFound) as info:
        find("digits-classifier@>=2")
    assert "'digits-classifier'" in info.value.message
    assert ">=2" in info.value.message
    assert info.value.hint is not None and "1.0.0" in info.value.hint


def test_exact_version_that_does_not_exist() -> None:
    with pytest.raises(ComponentNotFound) as info:
        find("digits-classifier@3.1.4")
    assert info.value.hint is not None and "available: 1.0.0 (builtin)" in info.value.hint


def test_unknown_name_lists_the_builtins() -> None:
    with pytest.raises(ComponentNotFound) as info:
        find("resnet50")
    assert "'resnet50'" in info.value.message
    assert info.value.hint is not None
    assert "known components:" in info.value.hint
    assert "digits-classifier" in info.value.hint
    assert "digits" in info.value.hint
    assert info.value.exit_code == 2


def test_bad_constraint() -> None:
    with pytest.raises(ReefError) as info:
        find("digits-classifier@>>1")
    assert ">>1" in info.value.message


def test_parse_ref() -> None:
    assert parse_ref("digits") == ("digits", SpecifierSet(""))
    assert parse_ref("digits@1.0.0") == ("digits", SpecifierSet("==1.0.0"))
    assert parse_ref("digits@>=1,<2") == ("digits", SpecifierSet(">=1,<2"))
    assert parse_ref("digits >=1, <2") == ("digits", SpecifierSet(">=1,<2"))
