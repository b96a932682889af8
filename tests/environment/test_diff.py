"""reef env diff: what differs, grouped; identical environments say so; bad input is exit 2."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from reef.api.environment import env_diff
from reef.environment.diff import diff
from reef.errors import ReefError

BASE: dict[str, Any] = {
    "hardware": {"cpu": {"model": "EPYC", "flags": ["avx2", "fma"]}, "memory": {"total": 8}},
    "os": {"system": "Linux", "kernel": "6.1"},
    "software": {"packages": {"onnxruntime": "1.17.0", "numpy": "2.0.0"}},
    "volatile": {"memory_available": 5},
    "hash": "a" * 64,
}


def _changed(**edits: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    for path, value in edits.items():
        node = out
        *parents, leaf = path.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    out["hash"] = "b" * 64
    return out


def test_identical() -> None:
    assert diff(BASE, copy.deepcopy(BASE)) == []


def test_changes_are_grouped_and_named_by_path() -> None:
    other = _changed(
        software__packages__onnxruntime="1.18.1", os__kernel="6.5", hardware__memory__total=16
    )
    found = [(d.group, d.key, d.a, d.b) for d in diff(BASE, other)]
    assert found == [
        ("hardware", "memory.total", 8, 16),
        ("os", "kernel", "6.1", "6.5"),
        ("software", "packages.onnxruntime", "1.17.0", "1.18.1"),
    ]


def test_added_and_removed_facts() -> None:
    other = _changed(software__packages__numpy=None)
    other["software"]["packages"]["torch"] = "2.4.0"
    found = {d.key: (d.a, d.b) for d in diff(BASE, other)}
    assert found == {"packages.numpy": ("2.0.0", None), "packages.torch": (None, "2.4.0")}


def test_lists_are_compared_whole() -> None:
    other = _changed(hardware__cpu__flags=["avx2", "fma", "avx512f"])
    (d,) = diff(BASE, other)
    assert (d.key, d.a, d.b) == ("cpu.flags", ["avx2", "fma"], ["avx2", "fma", "avx512f"])


def test_volatile_facts_only_when_asked() -> None:
    other = _changed(volatile__memory_available=1)
    assert diff(BASE, other) == []
    assert [d.key for d in diff(BASE, other, volatile=True)] == ["memory_available"]


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_two_fingerprint_files(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.json", BASE)
    b = _write(tmp_path, "b.json", _changed(os__kernel="6.5"))
    result = env_diff(a, b)
    assert not result.identical
    assert [d.model_dump() for d in result.differences] == [
        {"group": "os", "key": "kernel", "a": "6.1", "b": "6.5"}
    ]
    assert env_diff(a, a).identical


@pytest.mark.parametrize(
    ("content", "message"),
    [("{broken", "not a fingerprint file"), ('{"runs": []}', "no hardware, os or software")],
)
def test_files_that_are_not_fingerprints(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(ReefError, match=message):
        env_diff(str(bad), str(bad))


def test_a_missing_file_or_unknown_run(tmp_path: Path) -> None:
    with pytest.raises(ReefError, match="file not found"):
        env_diff(str(tmp_path / "nope.json"), str(tmp_path / "nope.json"))
    with pytest.raises(ReefError) as info:
        env_diff("0123abcd", "0123abcd")
    assert info.value.exit_code == 2


def test_a_section_one_side_lacks_is_no_difference() -> None:
    other = copy.deepcopy(BASE)
    other["provisioned"] = {"hash": "c" * 64, "path": "/envs/c"}
    other["software"]["extras"] = {}
    assert diff(BASE, other) == []
    assert [d.key for d in diff(BASE, other, volatile=True)] == ["hash", "path"]
