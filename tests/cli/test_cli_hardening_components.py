"""Issue 13, the component commands in process: a source outside its component's folder, a
special file given as a pack or a lock's output, a full or read-only disk under ``reef
install``, ``reef repo add``, ``reef pack -o`` and ``reef resolve -o``, and the warning when an
installed pack shadows a built-in component. Each refusal is one message with its exit code,
and writes nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cli_support import InProcessReef
from e2e_support import (
    Result,
    assert_json_error,
    assert_usage_error,
    make_fifo,
    make_folder,
    make_loop,
)

import reef as reef_pkg

BUILTIN = Path(reef_pkg.__file__).parent / "builtin"
WEIGHTS = b"weights\n" * 64


def one_error(result: Result, code: int, *fragments: str) -> None:
    """Exit ``code``, one error line naming ``fragments`` (and a hint at most), no traceback."""
    assert result.rc == code, str(result)
    assert "Traceback" not in result.stderr, str(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), str(result)
    assert len(lines) <= 2 and all(line.startswith(("error:", "hint:")) for line in lines), str(
        result
    )
    assert result.says(*fragments), f"expected {fragments}\n{result}"


def lab_tool(root: Path, source: str, cli: InProcessReef, *, trusted: bool = False) -> Path:
    """A repository 'lab' holding a program 'tool' whose one source is at ``source``."""
    folder = root / "tool"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(WEIGHTS)
    data = {
        "kind": "program",
        "name": "tool",
        "version": "1.0.0",
        "command": ["echo", "tool"],
        "sources": [{"path": source, "sha256": hashlib.sha256(WEIGHTS).hexdigest()}],
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    flags = ["--trusted"] if trusted else []
    cli.ok("repo", "add", str(root), "--name", "lab", *flags)
    return folder / "reef.yaml"


# --- item 4 -------------------------------------------------------------------------------------


def test_a_source_outside_the_folder_is_named_with_its_field(
    cli: InProcessReef, tmp_path: Path
) -> None:
    (tmp_path / "x.onnx").write_bytes(WEIGHTS)
    root = tmp_path / "lab"
    folder = root / "tool"
    folder.mkdir(parents=True)
    data = {
        "kind": "program",
        "name": "tool",
        "version": "1.0.0",
        "command": ["echo"],
        "sources": [{"path": "../../x.onnx", "sha256": hashlib.sha256(WEIGHTS).hexdigest()}],
    }
    (folder / "reef.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    added = cli("repo", "add", str(root), "--name", "lab")
    assert added.rc == 0, str(added)
    assert added.says("warning:", "skipped tool/reef.yaml", "sources[0].path")
    field = f"{folder / 'reef.yaml'}: sources[0].path"
    for args in (["show", "tool"], ["resolve", "tool"], ["pack", "tool"], ["fetch", "tool"]):
        result = cli(*args)
        one_error(result, 2, field, "'../../x.onnx' leads outside the component's folder")
        assert result.says("hint:", "inside its folder")
    assert_json_error(cli("show", "tool", "--json"), field)
    assert sorted(os.listdir(cli.cwd)) == []


def test_bench_of_a_repository_model_pointing_out_is_refused(
    cli: InProcessReef, tmp_path: Path, write_manifest: Callable[..., Path]
) -> None:
    """By path, where the index is not asked: the benchmark refuses the source itself."""
    model = write_manifest()
    root = tmp_path / "lab"
    (root / "tiny").mkdir(parents=True)
    data = yaml.safe_load(model.read_text())
    data["sources"][0]["path"] = f"../../{model.parent.name}/tiny.onnx"
    manifest = root / "tiny" / "model.yaml"
    manifest.write_text(yaml.safe_dump(data), encoding="utf-8")
    cli.ok("repo", "add", str(root), "--name", "lab")
    result = cli("bench", str(manifest), "--duration", "0.1")
    assert_usage_error(result, f"{manifest}: sources[0].path", "outside the component's folder")
    cli.assert_nothing_written()
    # The user's own copy, outside every repository, may point where it likes.
    mine = tmp_path / "mine" / "model.yaml"
    mine.parent.mkdir()
    data["sources"][0]["path"] = f"../{model.parent.name}/tiny.onnx"
    mine.write_text(yaml.safe_dump(data), encoding="utf-8")
    checked = cli("check", str(mine))
    assert checked.rc == 0, str(checked)


def test_pack_refuses_a_source_it_would_leave_out(cli: InProcessReef, tmp_path: Path) -> None:
    manifest = lab_tool(tmp_path / "lab", ".weights.bin", cli)
    (manifest.parent / ".weights.bin").write_bytes(WEIGHTS)
    out = tmp_path / "out.reef.tar.gz"
    result = cli("pack", "tool", "-o", str(out))
    one_error(result, 2, f"{manifest}: sources[0].path", "not part of the component's content")
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


# --- item 9 -------------------------------------------------------------------------------------


PACKS = [
    pytest.param(make_fifo, "is a FIFO", id="fifo"),
    pytest.param(lambda _path: Path("/dev/zero"), "is a character device", id="dev-zero"),
    pytest.param(make_folder, "is a directory", id="directory"),
    pytest.param(make_loop, "symlink loop", id="symlink-loop"),
]


@pytest.mark.timeout(20)  # a FIFO used to hang the install for ever
@pytest.mark.parametrize(("make", "says"), PACKS)
def test_install_refuses_a_special_file_instantly(
    cli: InProcessReef, tmp_path: Path, make: Callable[[Path], Path], says: str
) -> None:
    path = make(tmp_path / "p.reef.tar.gz")
    started = time.monotonic()
    result = cli("install", str(path))
    assert time.monotonic() - started < 5
    one_error(result, 2, str(path), says)
    assert_json_error(cli("install", str(path), "--json"), str(path), says)
    assert not cli.home.exists()


def test_resolve_output_that_is_a_fifo_is_refused_and_left_alone(
    cli: InProcessReef, tmp_path: Path
) -> None:
    fifo = make_fifo(tmp_path / "reef.lock")
    result = cli("resolve", "digits-classifier", "-o", str(fifo))
    one_error(result, 2, str(fifo), "is a FIFO")
    assert fifo.is_fifo()
    missing = tmp_path / "nowhere" / "reef.lock"
    one_error(cli("resolve", "digits-classifier", "-o", str(missing)), 2, "does not exist")


# --- item 17 ------------------------------------------------------------------------------------


def test_resolve_onto_a_full_disk_is_exit_3_and_keeps_the_earlier_lock(
    cli: InProcessReef, tmpfs: Callable[..., Path]
) -> None:
    disk = tmpfs("8k")
    lock = disk / "reef.lock"
    lock.write_text("earlier lock")
    _fill(disk / "filler")
    result = cli("resolve", "digits-classifier", "-o", str(lock))
    one_error(result, 3, str(lock), "cannot write", "no space left on device")
    assert_json_error(cli("resolve", "digits-classifier", "-o", str(lock), "--json"), str(lock))
    assert lock.read_text() == "earlier lock"
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "reef.lock"]


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 1024)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_pack_onto_a_full_disk_is_exit_3(cli: InProcessReef, tmpfs: Callable[..., Path]) -> None:
    disk = tmpfs("64k")
    _fill(disk / "filler")
    out = disk / "d.reef.tar.gz"
    result = cli("pack", "digits-classifier", "-o", str(out))
    one_error(result, 3, str(out), "no space left on device")
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_pack_into_a_read_only_folder_is_exit_2_before_any_work(
    cli: InProcessReef, tmpfs: Callable[..., Path]
) -> None:
    disk = tmpfs("1m", read_only=True)
    result = cli("pack", "digits-classifier", "-o", str(disk / "d.reef.tar.gz"))
    one_error(result, 2, str(disk / "d.reef.tar.gz"), "read-only file system")
    result = cli("resolve", "digits-classifier", "-o", str(disk / "reef.lock"))
    one_error(result, 2, str(disk / "reef.lock"), "read-only file system")


def test_repo_add_and_install_on_a_read_only_home_are_exit_3(
    cli: InProcessReef, tmp_path: Path, tmpfs: Callable[..., Path]
) -> None:
    made = cli("pack", "digits-classifier", "-o", str(tmp_path / "d.reef.tar.gz"))
    assert made.rc == 0, str(made)
    (tmp_path / "lab").mkdir()
    disk = tmpfs("1m", read_only=True, fill=lambda p: (p / "home").mkdir())
    env = {"REEF_HOME": str(disk / "home")}
    result = cli("repo", "add", str(tmp_path / "lab"), env=env)
    one_error(result, 3, str(disk / "home"), "read-only file system")
    result = cli("install", str(tmp_path / "d.reef.tar.gz"), env=env)
    one_error(result, 3, str(disk / "home"), "read-only file system")
    assert_json_error(cli("install", str(tmp_path / "d.reef.tar.gz"), "--json", env=env))


def test_install_onto_a_full_disk_is_exit_3_and_leaves_nothing(
    cli: InProcessReef, tmp_path: Path, tmpfs: Callable[..., Path]
) -> None:
    made = cli("pack", "digits-classifier", "-o", str(tmp_path / "d.reef.tar.gz"))
    assert made.rc == 0, str(made)
    disk = tmpfs("32k")
    result = cli("install", str(tmp_path / "d.reef.tar.gz"), env={"REEF_HOME": str(disk)})
    one_error(result, 3, "no space left on device")
    assert not [p for p in disk.iterdir() if p.name.startswith(".install-")]
    assert not (disk / "installed").exists()


# --- item 20 ------------------------------------------------------------------------------------


def test_a_pack_shadowing_a_builtin_warns_with_both_checksums(
    cli: InProcessReef, tmp_path: Path
) -> None:
    lab = tmp_path / "lab"
    shutil.copytree(BUILTIN / "digits-classifier", lab / "digits-classifier")
    manifest = lab / "digits-classifier" / "reef.yaml"
    data = yaml.safe_load(manifest.read_text())
    data["description"] = "the same model, retrained"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    cli.ok("repo", "add", str(lab), "--name", "lab")
    resolved = cli.ok("resolve", "digits-classifier", "-o", str(tmp_path / "reef.lock"))
    assert resolved.says("warning:", "in repository 'lab'", "shadows", "in 'builtin'")
    cli.ok("pack", "digits-classifier", "-o", str(tmp_path / "d.reef.tar.gz"))

    other = InProcessReef(tmp_path / "other-home", cli.cwd)
    installed = other("install", str(tmp_path / "d.reef.tar.gz"), "--json")
    assert installed.rc == 0, str(installed)
    [shadow] = installed.json()["shadows"]
    assert (shadow["used"], shadow["hidden"]) == ("installed", "builtin")
    assert installed.json()["warnings"] == [shadow["message"]]
    for digest in (shadow["used_sha256"], shadow["hidden_sha256"]):
        assert installed.says(digest[:16])
    assert installed.says("warning:", "digits-classifier@1.0.0 in repository 'installed'")
    shown = other("show", "digits-classifier", "--json")
    assert shown.rc == 0 and shown.json()["shadows"] == [shadow], str(shown)
    assert shown.says("warning:", "shadows digits-classifier@1.0.0 in 'builtin'")
    benched = other("bench", "digits-classifier", "--duration", "0.2", "--mode", "performance")
    assert benched.rc == 0, str(benched)
    assert benched.says("warning:", "shadows digits-classifier@1.0.0 in 'builtin'")


def test_an_identical_install_does_not_warn(cli: InProcessReef, tmp_path: Path) -> None:
    cli.ok("pack", "digits-classifier", "-o", str(tmp_path / "d.reef.tar.gz"))
    other = InProcessReef(tmp_path / "other-home", cli.cwd)
    installed = other.ok("install", str(tmp_path / "d.reef.tar.gz"), "--json")
    assert installed.json()["warnings"] == []
    assert "warning" not in installed.stderr
