"""Which files make up a component, and so its content hash."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reef.components.content import (
    MAX_MANIFEST_BYTES,
    component_files,
    content_sha256,
    local_dataset,
)
from reef.errors import ReefError


def _manifest(folder: Path, **fields: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reef.yaml").write_text(yaml.safe_dump(fields), encoding="utf-8")


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A model whose dataset is its folder ``data``, beside another nested component."""
    folder = tmp_path / "model"
    _manifest(folder, kind="model", name="m", version="1.0.0", dataset="data")
    (folder / "model.onnx").write_bytes(b"onnx")
    _manifest(folder / "data", kind="dataset", name="d", version="1.0.0")
    (folder / "data" / "d.npz").write_bytes(b"npz")
    _manifest(folder / "data" / "inner", kind="program", name="p", version="1.0.0")
    _manifest(folder / "other", kind="program", name="o", version="1.0.0")
    (folder / "other" / "run.sh").write_bytes(b"echo\n")
    return folder


def test_a_models_own_dataset_folder_is_content(model: Path) -> None:
    # The dataset's own nested component and the model's other one are not.
    assert component_files(model) == ["data/d.npz", "data/reef.yaml", "model.onnx", "reef.yaml"]


def test_editing_the_inner_datasets_manifest_changes_the_models_hash(model: Path) -> None:
    before = content_sha256(model)
    _manifest(model / "data", kind="dataset", name="d", version="1.0.1")
    assert content_sha256(model) != before


@pytest.mark.parametrize("kind", ["dataset", "program"])
def test_only_a_model_holds_its_dataset(model: Path, kind: str) -> None:
    _manifest(model, kind=kind, name="m", version="1.0.0", dataset="data")
    assert component_files(model) == ["model.onnx", "reef.yaml"]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("data", "data"),
        ("./data/", "data"),
        ("sets/data", "sets/data"),
        ("../data", None),
        ("sets/../data", None),
        ("/abs/data", None),
        ("data\\x", None),
        (".", None),
        ("", None),
    ],
)
def test_which_names_can_be_a_folder_inside(ref: str, expected: str | None) -> None:
    text = yaml.safe_dump({"kind": "model", "dataset": ref}).encode()
    assert local_dataset(text) == expected


@pytest.mark.parametrize(
    "text",
    [b"kind: model\ndataset: [data]\n", b"- kind: model\n", b"kind: model\n", b"{{{{: :\n"],
    ids=["not-a-string", "not-a-mapping", "no-dataset", "not-yaml"],
)
def test_manifests_that_name_no_dataset(text: bytes) -> None:
    assert local_dataset(text) is None


def test_a_dataset_folder_outside_the_model_is_not_reached(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    _manifest(folder, kind="model", name="m", version="1.0.0", dataset="../data")
    _manifest(tmp_path / "data", kind="dataset", name="d", version="1.0.0")
    assert component_files(folder) == ["reef.yaml"]


def test_a_dataset_named_by_component_name_adds_nothing(model: Path) -> None:
    _manifest(model, kind="model", name="m", version="1.0.0", dataset="digits@1.0.0")
    assert component_files(model) == ["model.onnx", "reef.yaml"]


def test_a_huge_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "reef.yaml").write_bytes(b"#" * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(ReefError, match="1 MiB"):
        component_files(tmp_path)
