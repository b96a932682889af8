"""reef new: every kind scaffolds a folder that reef check accepts; bad input writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from reef import api
from reef.errors import ReefError
from reef.meta.component import KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_scaffolds_a_valid_component(tmp_path: Path, kind: str) -> None:
    path = api.new(kind, f"my-{kind}", tmp_path, version="0.2.0")
    assert path == tmp_path / f"my-{kind}" / "reef.yaml"
    result = api.check(path)
    assert (result.kind, result.name, result.version) == (kind, f"my-{kind}", "0.2.0")
    assert [p.name for p in tmp_path.iterdir()] == [f"my-{kind}"]  # no staging left


def test_the_model_scaffold_is_checked_against_its_real_file(tmp_path: Path) -> None:
    result = api.check(api.new("model", "m", tmp_path))
    assert "signature" in result.checks


@pytest.mark.parametrize(
    ("kind", "name", "version", "message"),
    [
        ("notebook", "x", "0.1.0", "unknown kind 'notebook'"),
        ("model", "Bad Name", "0.1.0", "not a valid name"),
        ("model", "ok", "1.0", "not a semantic version"),
    ],
)
def test_bad_input_writes_nothing(
    tmp_path: Path, kind: str, name: str, version: str, message: str
) -> None:
    with pytest.raises(ReefError, match=message):
        api.new(kind, name, tmp_path, version=version)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(ReefError, match="already exists"):
        api.new("model", "taken", tmp_path)
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
