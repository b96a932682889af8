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


def test_the_shipped_scaffold_model_is_what_the_tool_builds() -> None:
    """Reef ships the scaffold model's bytes so that onnx is not a core dependency; when the
    graph changes, `python tools/build_scaffold_model.py` rebuilds them."""
    import subprocess
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parents[2] / "tools" / "build_scaffold_model.py"
    result = subprocess.run(
        [sys.executable, str(tool), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_reef_new_model_does_not_import_onnx() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from reef.components.scaffold import _onnx_model\n"
        "data = _onnx_model()\n"
        "print(len(data), 'onnx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["244", "False"]
