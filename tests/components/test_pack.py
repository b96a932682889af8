"""Packs: deterministic archives of locked components, and installing them elsewhere."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
import yaml

from reef.api.components import pack as api_pack
from reef.components import pack as packs
from reef.components.checksums import cached_path
from reef.components.content import content_sha256
from reef.components.index import Entry, catalog
from reef.components.lockfile import LockMismatch, locate, lock_bytes
from reef.components.lookup import find
from reef.components.pack import SUMS, PackError, install, pack
from reef.components.repository import Repository, add, builtin_root
from reef.components.resolve import resolve
from reef.errors import EXIT_USAGE
from reef.meta.common import Source
from reef.meta.lock import Lock, LockedComponent

SOURCE_BYTES = b"weights fetched from the web\n" * 100
SOURCE_SHA = hashlib.sha256(SOURCE_BYTES).hexdigest()
SOURCE_URL = "https://example.org/tool/weights.bin"


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A registered repository 'lab': copies of digits and digits-classifier, and a program
    'tool' with an executable script, a file in a subfolder and a url source (in the cache)."""
    folder = tmp_path / "lab"
    for name in ("digits", "digits-classifier"):
        shutil.copytree(builtin_root() / name, folder / name)
    tool = folder / "tool"
    (tool / "data").mkdir(parents=True)
    manifest = {
        "kind": "program",
        "name": "tool",
        "version": "1.2.0",
        "command": ["{dir}/run.sh"],
        "sources": [{"url": SOURCE_URL, "sha256": SOURCE_SHA}],
    }
    (tool / "reef.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    (tool / "run.sh").write_text("#!/bin/sh\necho tool\n", encoding="utf-8")
    (tool / "run.sh").chmod(0o755)
    (tool / "data" / "notes.txt").write_text("first notes\n", encoding="utf-8")
    add(str(folder), name="lab")
    cached_path(SOURCE_SHA).parent.mkdir(parents=True, exist_ok=True)
    cached_path(SOURCE_SHA).write_bytes(SOURCE_BYTES)
    return folder


def _entry(name: str) -> Entry:
    return next(e for e in catalog() if e.repository == "lab" and e.name == name)


def _locked(name: str) -> LockedComponent:
    entry = _entry(name)
    sources = [Source(url=SOURCE_URL, sha256=SOURCE_SHA)] if name == "tool" else []
    return LockedComponent(
        kind=entry.kind,
        name=entry.name,
        version=entry.version,
        repository=entry.repository,
        repository_location=entry.root,
        path=entry.path,
        sha256=content_sha256(entry.directory),
        sources=sources,
    )


def lab_lock() -> Lock:
    names = ["digits", "digits-classifier", "tool"]
    return Lock(target="tool", root="tool", components=[_locked(n) for n in names])


def test_two_packs_of_the_same_content_are_identical(lab: Path, tmp_path: Path) -> None:
    first = pack(lab_lock(), tmp_path / "a.reef.tar.gz")
    second = pack(lab_lock(), tmp_path / "b" / "b.reef.tar.gz")
    data = first.path.read_bytes()
    assert data == second.path.read_bytes()
    assert first.sha256 == second.sha256 == hashlib.sha256(data).hexdigest()
    assert first.size == len(data)
    assert first.files == 10  # 7 component files, a source, the lock and SHA256SUMS
    assert first.components == ["digits@1.0.0", "digits-classifier@1.0.0", "tool@1.2.0"]


def test_a_changed_file_changes_the_pack(lab: Path, tmp_path: Path) -> None:
    before = pack(lab_lock(), tmp_path / "a.reef.tar.gz")
    (lab / "tool" / "data" / "notes.txt").write_text("second notes\n", encoding="utf-8")
    after = pack(lab_lock(), tmp_path / "b.reef.tar.gz")
    assert before.sha256 != after.sha256


def test_members_modes_owners_and_times(lab: Path, tmp_path: Path) -> None:
    lock = lab_lock()
    report = pack(lock, tmp_path / "p.reef.tar.gz")
    raw = report.path.read_bytes()
    assert raw[:3] == b"\x1f\x8b\x08"
    assert raw[3] == 0  # no flags: no file name, no comment
    assert raw[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    with tarfile.open(report.path, "r:gz") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == [
            "components/digits-classifier/1.0.0/model.onnx",
            "components/digits-classifier/1.0.0/reef.yaml",
            "components/digits/1.0.0/digits.npz",
            "components/digits/1.0.0/reef.yaml",
            "components/tool/1.2.0/data/notes.txt",
            "components/tool/1.2.0/reef.yaml",
            "components/tool/1.2.0/run.sh",
            "reef.lock",
            f"sources/{SOURCE_SHA}",
            SUMS,
        ]
        for m in members:
            assert m.type == tarfile.REGTYPE
            assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", "")
            expected = 0o755 if m.name.endswith("run.sh") else 0o644
            assert m.mode == expected, m.name
        data = {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    assert data["reef.lock"] == lock_bytes(lock)
    assert data[f"sources/{SOURCE_SHA}"] == SOURCE_BYTES
    listed = data[SUMS].decode().splitlines()
    assert listed == [f"{hashlib.sha256(data[n]).hexdigest()}  {n}" for n in sorted(names[:-1])]


def test_pack_needs_url_sources_fetched(lab: Path, tmp_path: Path) -> None:
    cached_path(SOURCE_SHA).unlink()
    out = tmp_path / "out" / "p.reef.tar.gz"
    with pytest.raises(PackError) as info:
        pack(lab_lock(), out)
    assert SOURCE_URL in info.value.message
    assert info.value.hint is not None and "reef fetch" in info.value.hint
    assert not out.exists()
    assert not out.parent.exists()


def test_a_component_changed_since_locking_is_not_packed(lab: Path, tmp_path: Path) -> None:
    lock = lab_lock()
    (lab / "tool" / "run.sh").write_text("#!/bin/sh\necho changed\n", encoding="utf-8")
    out = tmp_path / "p.reef.tar.gz"
    with pytest.raises(LockMismatch):
        pack(lock, out)
    assert sorted(os.listdir(tmp_path)) == ["lab"]


def test_pack_into_a_folder_is_refused(lab: Path, tmp_path: Path) -> None:
    with pytest.raises(PackError, match="is a folder"):
        pack(lab_lock(), tmp_path)


def test_a_corrupt_cached_source_is_not_packed(lab: Path, tmp_path: Path) -> None:
    cached_path(SOURCE_SHA).write_bytes(b"not the weights")
    with pytest.raises(PackError) as info:
        pack(lab_lock(), tmp_path / "p.reef.tar.gz")
    assert str(cached_path(SOURCE_SHA)) in info.value.message
    assert sorted(os.listdir(tmp_path)) == ["lab"]


def move_to_other_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Switch to a second, fresh REEF_HOME: the machine a pack is carried to."""
    home = tmp_path / "other-home"
    monkeypatch.setenv("REEF_HOME", str(home))
    return home


def test_install_into_a_fresh_home(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = lab_lock()
    path = pack(lock, tmp_path / "p.reef.tar.gz").path
    home = move_to_other_home(tmp_path, monkeypatch)

    report = install(path)

    assert report.repository == "installed"
    assert [(c.name, c.status) for c in report.components] == [
        ("digits", "installed"),
        ("digits-classifier", "installed"),
        ("tool", "installed"),
    ]
    assert report.sources == [SOURCE_SHA]
    assert cached_path(SOURCE_SHA).read_bytes() == SOURCE_BYTES
    for locked in lock.components:
        entry = find(f"{locked.name}@{locked.version}")
        assert entry.repository == "installed"
        assert not entry.trusted
        assert entry.directory == home / "installed" / locked.name / locked.version
        assert content_sha256(entry.directory) == locked.sha256
        assert locate(locked).repository == "installed"
    run = home / "installed" / "tool" / "1.2.0" / "run.sh"
    assert stat.S_IMODE(run.stat().st_mode) == 0o755
    assert not [p.name for p in home.iterdir() if p.name.startswith(".")]


def test_reinstalling_changes_nothing(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = pack(lab_lock(), tmp_path / "p.reef.tar.gz").path
    home = move_to_other_home(tmp_path, monkeypatch)
    install(path)
    notes = home / "installed" / "tool" / "1.2.0" / "data" / "notes.txt"
    stamp = notes.stat().st_mtime_ns
    before = sorted(p.relative_to(home) for p in home.rglob("*") if "index" not in p.parts)

    again = install(path)

    assert {c.status for c in again.components} == {"already-present"}
    assert again.sources == []
    assert notes.stat().st_mtime_ns == stamp
    after = sorted(p.relative_to(home) for p in home.rglob("*") if "index" not in p.parts)
    assert after == before


def test_different_content_under_the_same_version_needs_force(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pack(lab_lock(), tmp_path / "first.reef.tar.gz").path
    old_sha = _locked("tool").sha256
    (lab / "tool" / "data" / "notes.txt").write_text("second notes\n", encoding="utf-8")
    new_sha = _locked("tool").sha256
    second = pack(lab_lock(), tmp_path / "second.reef.tar.gz").path
    home = move_to_other_home(tmp_path, monkeypatch)
    install(first)
    tool = home / "installed" / "tool" / "1.2.0"

    with pytest.raises(PackError) as info:
        install(second)
    assert "tool@1.2.0" in info.value.message
    assert old_sha in info.value.message and new_sha in info.value.message
    assert info.value.hint is not None and "force" in info.value.hint
    assert content_sha256(tool) == old_sha

    report = install(second, force=True)
    statuses = {c.name: c.status for c in report.components}
    assert statuses == {
        "digits": "already-present",
        "digits-classifier": "already-present",
        "tool": "replaced",
    }
    assert content_sha256(tool) == new_sha
    assert (tool / "data" / "notes.txt").read_text(encoding="utf-8") == "second notes\n"
    assert find("tool").directory == tool
    assert not [p.name for p in home.iterdir() if p.name.startswith(".")]


def test_the_pack_gzip_stream_checks_out(lab: Path, tmp_path: Path) -> None:
    """The archive is a plain gzip'd tar that the standard tools read."""
    path = pack(lab_lock(), tmp_path / "p.reef.tar.gz").path
    with gzip.open(path) as f:
        assert len(f.read()) % tarfile.RECORDSIZE == 0


def test_a_models_own_dataset_folder_is_packed_and_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shelf = tmp_path / "shelf"
    model = shelf / "boxed"
    shutil.copytree(builtin_root() / "digits-classifier", model)
    shutil.copytree(builtin_root() / "digits", model / "data")
    manifest = yaml.safe_load((model / "reef.yaml").read_text(encoding="utf-8"))
    manifest |= {"name": "boxed", "dataset": "data"}
    (model / "reef.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    data = yaml.safe_load((model / "data" / "reef.yaml").read_text(encoding="utf-8"))
    data["name"] = "boxed-digits"
    (model / "data" / "reef.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    add(str(shelf), name="shelf")
    lock = resolve("boxed")
    assert [c.name for c in lock.components] == ["boxed"]  # the dataset is the model's own
    path = pack(lock, tmp_path / "boxed.reef.tar.gz").path
    with tarfile.open(path, "r:gz") as tar:
        assert "components/boxed/1.0.0/data/digits.npz" in tar.getnames()
    home = move_to_other_home(tmp_path, monkeypatch)

    install(path)

    installed = home / "installed" / "boxed" / "1.0.0"
    assert (installed / "data" / "digits.npz").read_bytes() == (
        builtin_root() / "digits" / "digits.npz"
    ).read_bytes()
    assert content_sha256(installed) == lock.components[0].sha256
    data["description"] = "edited"
    (installed / "data" / "reef.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    assert content_sha256(installed) != lock.components[0].sha256


def _tool_with_file(lab: Path, name: str) -> Path:
    path = lab / "tool" / "data" / name
    path.write_bytes(b"odd\n")
    return path


@pytest.mark.parametrize("char", ["\r", "\n", "\x1c", "\x1d", "\x1e"])
def test_a_file_name_a_pack_cannot_hold_is_refused_before_writing(
    lab: Path, tmp_path: Path, char: str
) -> None:
    """SHA256SUMS is one line per file: a name holding a line break cannot be listed."""
    path = _tool_with_file(lab, f"a{char}b.txt")
    out = tmp_path / "out" / "p.reef.tar.gz"
    with pytest.raises(PackError) as info:
        pack(lab_lock(), out)
    assert repr(str(path)) in info.value.message
    assert "control character" in info.value.message
    assert info.value.exit_code == EXIT_USAGE
    assert not out.parent.exists()


@pytest.mark.parametrize("char", ["\u2028", "\u0085", "\u2029"])
def test_names_that_only_splitlines_breaks_round_trip(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, char: str
) -> None:
    _tool_with_file(lab, f"a{char}b.txt")
    lock = lab_lock()
    path = pack(lock, tmp_path / "p.reef.tar.gz").path
    home = move_to_other_home(tmp_path, monkeypatch)
    install(path)
    tool = home / "installed" / "tool" / "1.2.0"
    assert (tool / "data" / f"a{char}b.txt").read_bytes() == b"odd\n"
    assert content_sha256(tool) == _locked_sha(lock, "tool")


def _locked_sha(lock: Lock, name: str) -> str:
    return next(c.sha256 for c in lock.components if c.name == name)


def test_a_fifo_is_not_replaced_by_a_pack(lab: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "out.reef.tar.gz"
    os.mkfifo(fifo)
    with pytest.raises(PackError) as info:
        pack(lab_lock(), fifo)
    assert "FIFO" in info.value.message
    assert info.value.exit_code == EXIT_USAGE
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["lab", "out.reef.tar.gz"]


def test_pack_into_a_folder_by_its_path(lab: Path, tmp_path: Path) -> None:
    """A path ending with a slash is a folder to create; an existing folder is one too."""
    name = "tool-1.2.0.reef.tar.gz"
    report = api_pack("tool", f"{tmp_path / 'new' / 'packs'}/")
    assert report.path == tmp_path / "new" / "packs" / name
    assert report.path.is_file()
    (tmp_path / "old").mkdir()
    assert api_pack("tool", tmp_path / "old").path == tmp_path / "old" / name


def test_a_failed_replacement_puts_the_old_version_back(
    lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pack(lab_lock(), tmp_path / "first.reef.tar.gz").path
    old_sha = _locked("tool").sha256
    (lab / "tool" / "data" / "notes.txt").write_text("second notes\n", encoding="utf-8")
    second = pack(lab_lock(), tmp_path / "second.reef.tar.gz").path
    home = move_to_other_home(tmp_path, monkeypatch)
    install(first)
    tool = home / "installed" / "tool" / "1.2.0"
    events: list[str] = []
    rename = os.rename
    mark = packs.mark_changed

    def failing_rename(src: str | Path, dst: str | Path) -> None:
        events.append("rename")
        if Path(dst) == tool and "replaced" not in Path(src).parts:
            raise OSError(28, "No space left on device")
        rename(src, dst)

    def marking(repo: Repository) -> None:
        events.append("mark")
        mark(repo)

    monkeypatch.setattr(os, "rename", failing_rename)
    monkeypatch.setattr(packs, "mark_changed", marking)
    with pytest.raises(OSError, match="No space"):
        install(second, force=True)

    # Marked before the first rename: an interrupted install leaves the index to be refreshed.
    assert events == ["mark", "rename", "rename", "rename"]
    assert content_sha256(tool) == old_sha
    assert not [p.name for p in home.iterdir() if p.name.startswith(".")]
    assert find("tool").directory == tool
