"""Components in-process (see ``cli_support``): repositories are added, listed, trusted,
updated and removed; the component schema; every kind ``reef new`` scaffolds passes ``reef
check``; bad manifests, a requirement cycle and a repository that cannot be cloned are exit 2
with a clear message and nothing written. The components' journey (repositories, fetch over
HTTP, pack, install) runs as real processes in ``tests/e2e/test_e2e_components.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_support import InProcessReef
from e2e_support import assert_json_error, assert_usage_error


def _edit(manifest: Path, **fields: Any) -> None:
    data = yaml.safe_load(manifest.read_text())
    data.update(fields)
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_repository_management_and_trust(cli: InProcessReef, tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    cli.ok("new", "program", "hello", "--dir", str(folder))
    cli.ok("repo", "add", str(folder), "--name", "shared")
    listed = cli.ok("repo", "list", "--json").json()
    assert [r["name"] for r in listed] == ["shared", "builtin"]
    assert cli.ok("repo", "trust", "shared", "--json").json()["trusted"] is True
    assert cli.ok("repo", "untrust", "shared", "--json").json()["trusted"] is False
    updated = cli.ok("repo", "update", "--json").json()
    assert {u["name"]: u["components"] for u in updated}["shared"] == 1
    cli.ok("repo", "remove", "shared")
    assert folder.is_dir()
    assert [r["name"] for r in cli.ok("repo", "list", "--json").json()] == ["builtin"]


def test_schema_component(cli: InProcessReef) -> None:
    schema = cli.ok("schema", "component").json()
    assert schema["discriminator"]["propertyName"] == "kind"


@pytest.mark.parametrize("kind", ["model", "dataset", "solution", "program", "detector"])
def test_new_passes_check(cli: InProcessReef, kind: str) -> None:
    cli.ok("new", kind, f"x-{kind}")
    checked = cli.ok("check", f"x-{kind}", "--json").json()
    assert checked["kind"] == kind and checked["ok"] is True


@pytest.mark.parametrize(
    ("fields", "fragments"),
    [
        ({"kind": "notebook"}, ["kind", "'notebook'", "expected one of"]),
        ({"colour": "blue"}, ["colour", "unknown field"]),
        ({"version": "1.0"}, ["version", "not a semantic version"]),
        ({"requires": ["digits >>1"]}, ["requires[0]", "not a version constraint"]),
        ({"python": ["numpy>=>1"]}, ["python[0]", "not a Python requirement"]),
    ],
)
def test_bad_manifests(cli: InProcessReef, fields: dict[str, Any], fragments: list[str]) -> None:
    cli.ok("new", "program", "tool")
    _edit(cli.cwd / "tool" / "reef.yaml", **fields)
    assert_usage_error(cli("check", "tool"), *fragments)


def test_cycle_is_named(cli: InProcessReef, tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    for name, requires in [("loop-a", ["loop-b"]), ("loop-b", ["loop-a"])]:
        folder = lab / name / "1.0.0"
        folder.mkdir(parents=True)
        data = {"kind": "program", "name": name, "version": "1.0.0", "command": ["true"]}
        (folder / "reef.yaml").write_text(yaml.safe_dump(data | {"requires": requires}))
    cli.ok("repo", "add", str(lab))
    result = cli("resolve", "loop-a", "--json")
    data = assert_json_error(result, "cycle")
    assert "loop-a 1.0.0 -> loop-b 1.0.0 -> loop-a 1.0.0" in data["message"]
    assert not (cli.cwd / "reef.lock").exists()


def test_uncloneable_git_repository(cli: InProcessReef, tmp_path: Path) -> None:
    result = cli("repo", "add", (tmp_path / "missing-repo").as_uri(), "--name", "gone")
    assert result.rc == 3, str(result)  # git failed: Reef's environment, not the input
    assert "Traceback" not in result.stderr
    assert result.says("cannot clone")
    assert not (cli.home / "repos.json").exists()
    assert _files(cli.home / "repos") == []
