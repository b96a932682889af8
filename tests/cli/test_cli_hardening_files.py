"""Hostile files given to the CLI: a YAML alias bomb, a FIFO, a device, a symlink loop. Each
is refused at once with exit 2 and one line naming the file, and nothing is written."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cli_support import InProcessReef
from e2e_support import assert_usage_error, fill_disk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "meta"))
from test_hardening_yaml import billion_laughs


@pytest.fixture
def bomb(tmp_path: Path) -> Path:
    folder = tmp_path / "lab" / "bomb"
    folder.mkdir(parents=True)
    path = folder / "reef.yaml"
    path.write_text(billion_laughs())
    return path


@pytest.mark.parametrize("command", ["check", "bench", "resolve", "init"])
def test_an_alias_bomb_is_refused_by_every_reader(
    cli: InProcessReef, bomb: Path, command: str
) -> None:
    started = time.perf_counter()
    result = cli(command, str(bomb))
    assert time.perf_counter() - started < 5
    assert_usage_error(result, str(bomb), "aliases expand to more than 1,000,000 nodes")
    cli.assert_nothing_written()


def test_an_alias_bomb_in_a_repository_is_not_indexed(cli: InProcessReef, bomb: Path) -> None:
    cli.ok("repo", "add", str(bomb.parent.parent))
    result = cli("show", "bomb")
    assert result.rc == 2, str(result)
    assert "Traceback" not in result.stderr
    result = cli("bench", "bomb")
    assert result.rc == 2, str(result)
    assert not (cli.home / "runs").exists() or not any((cli.home / "runs").iterdir())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", ["check", "bench"])
def test_a_fifo_manifest_is_refused_without_hanging(
    cli: InProcessReef, tmp_path: Path, command: str
) -> None:
    fifo = tmp_path / "model.yaml"
    os.mkfifo(fifo)
    result = cli(command, str(fifo))
    assert_usage_error(result, str(fifo), "is a FIFO")
    cli.assert_nothing_written()


def test_a_device_and_a_symlink_loop_as_manifests(cli: InProcessReef, tmp_path: Path) -> None:
    if Path("/dev/zero").exists():
        assert_usage_error(cli("check", "/dev/zero"), "/dev/zero", "is a character device")
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(tmp_path / "other.yaml")
    (tmp_path / "other.yaml").symlink_to(loop)
    assert_usage_error(cli("check", str(loop)), str(loop), "symlink loop")
    cli.assert_nothing_written()


def test_a_read_only_home_still_finds_components(
    cli: InProcessReef, tmpfs: Callable[..., Path]
) -> None:
    """The component index is a cache: where REEF_HOME cannot be written it is built in memory,
    so commands that only read components still answer."""
    home = tmpfs("1m", read_only=True)
    cli.home = home
    shown = cli.ok("show", "digits-classifier", "--json").json()
    assert shown["name"] == "digits-classifier"
    found = cli.ok("search", "digits", "--json").json()
    assert any(e["name"] == "digits-classifier" for e in found)
    assert list(home.iterdir()) == []


def test_a_full_home_is_one_line_when_the_index_cannot_be_updated(
    cli: InProcessReef, tmpfs: Callable[..., Path], tmp_path: Path
) -> None:
    cli.home = tmpfs("2m")
    lab = tmp_path / "lab"
    for i in range(3):
        (lab / f"p{i}").mkdir(parents=True)
        data = {"kind": "program", "name": f"p{i}", "version": "1.0.0", "command": ["true"]}
        (lab / f"p{i}" / "reef.yaml").write_text(yaml.safe_dump(data))
    cli.ok("repo", "add", str(lab))
    cli.ok("show", "p0")
    fill_disk(cli.home)
    # A manifest changed: the index must be updated, and the disk has no room for it.
    for i in range(3):
        data = {"kind": "program", "name": f"p{i}", "version": "1.0.0", "command": ["x" * 4000]}
        (lab / f"p{i}" / "reef.yaml").write_text(yaml.safe_dump(data))
    result = cli("show", "p0")
    assert result.rc == 3, str(result)
    assert "Traceback" not in result.stderr
    assert result.says("index.db", "the component index cannot be updated")
