"""Reading lock files: strict, versioned, consistent; and the messages for a missing one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reef import api
from reef.components.lockfile import lock_bytes, read_lock
from reef.components.resolve import resolve
from reef.errors import ManifestError, ReefError


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "reef.lock"
    path.write_text(json.dumps(data))
    return path


def test_round_trip(tmp_path: Path) -> None:
    lock = resolve("digits-classifier")
    path = tmp_path / "reef.lock"
    path.write_bytes(lock_bytes(lock))
    assert read_lock(path) == lock


def test_root_must_be_a_locked_component(tmp_path: Path) -> None:
    data = resolve("digits").model_dump(mode="json") | {"root": "elsewhere"}
    with pytest.raises(ManifestError, match="root 'elsewhere' is not one of the locked"):
        read_lock(_write(tmp_path, data))


def test_a_component_locked_twice(tmp_path: Path) -> None:
    data = resolve("digits").model_dump(mode="json")
    data["components"] *= 2
    with pytest.raises(ManifestError, match="digits locked more than once"):
        read_lock(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "bad JSON"), ("[1, 2]", "expected an object"), ('{"lock_version": 7}', "newer")],
)
def test_not_a_lock(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "reef.lock"
    path.write_text(text)
    with pytest.raises(ManifestError, match=message):
        read_lock(path)


def test_a_missing_lock_file_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(ReefError, match=r"nope\.lock: file not found"):
        api.lock_for(str(tmp_path / "nope.lock"))
