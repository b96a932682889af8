"""Issue 13, components: sources outside a component's folder, special files, concurrent and
interrupted installs, leftovers of killed processes, failed writes, and shadowed components.

Each bad input is refused with the file and the reason, and changes nothing."""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from repo_support import write_component

from reef import api, config, owner
from reef.components import pack as packs
from reef.components.checksums import sha256_file, verified_source
from reef.components.content import component_files, content_sha256
from reef.components.fetch import FetchError, fetch
from reef.components.lockfile import lock_bytes, read_lock
from reef.components.lookup import ComponentRefused, find, shadowing
from reef.components.pack import PackError, install, pack
from reef.components.repository import add, builtin_root
from reef.components.resolve import resolve
from reef.errors import (
    EXIT_ENVIRONMENT,
    EXIT_USAGE,
    FileRefused,
    ManifestError,
    ReefError,
    WriteFailed,
)
from reef.meta.common import Source

WEIGHTS = b"weights\n" * 64
WEIGHTS_SHA = hashlib.sha256(WEIGHTS).hexdigest()


@pytest.fixture
def deadline() -> Iterator[None]:
    """The refusal is instant: one that took over two seconds fails here (and one that hangs
    on a FIFO is stopped by the test's ``timeout`` mark)."""
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 2, "a refusal that should be instant took seconds"


def tool(folder: Path, source: str, *, name: str = "tool") -> Path:
    """A program component in ``folder`` whose one source is ``source`` (weights beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_component(
        folder, "program", name, "1.0.0", sources=[{"path": source, "sha256": WEIGHTS_SHA}]
    )


def refused_with(error: ReefError, *fragments: str, code: int = EXIT_USAGE) -> None:
    for fragment in fragments:
        assert fragment in error.message, error.message
    assert error.exit_code == code


# --- item 4: a source outside the component's folder ------------------------------------------


def _outside_cases(tmp_path: Path) -> dict[str, str]:
    outside = tmp_path / "elsewhere" / "x.onnx"
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_bytes(WEIGHTS)
    return {
        "dotdot": "../../elsewhere/x.onnx",
        "absolute": str(outside),
        "through-a-subfolder": "sub/../../../elsewhere/x.onnx",
    }


@pytest.mark.parametrize("case", ["dotdot", "absolute", "through-a-subfolder", "symlink"])
def test_a_repository_source_outside_its_folder_is_refused_by_name(
    tmp_path: Path, case: str
) -> None:
    paths = _outside_cases(tmp_path)
    folder = tmp_path / "lab" / "tool"
    if case == "symlink":
        folder.mkdir(parents=True)
        (folder / "x.onnx").symlink_to(tmp_path / "elsewhere" / "x.onnx")
        source = "x.onnx"
    else:
        source = paths[case]
    manifest = tool(folder, source)
    info = api.repo_add(str(tmp_path / "lab"))
    assert list(info.invalid) == ["tool/reef.yaml"]
    assert "sources[0].path" in info.invalid["tool/reef.yaml"]
    for attempt in (lambda: find("tool"), lambda: resolve("tool"), lambda: api.show("tool")):
        with pytest.raises(ComponentRefused) as caught:
            attempt()
        refused_with(caught.value, f"{manifest}: sources[0].path", "outside")
        assert caught.value.hint is not None and "inside its folder" in caught.value.hint


def test_a_requirement_refused_for_its_sources_is_named(tmp_path: Path) -> None:
    tool(tmp_path / "lab" / "tool", "../../x.onnx")
    write_component(tmp_path / "lab" / "app", "program", "app", "1.0.0", requires=["tool"])
    add(str(tmp_path / "lab"), name="lab")
    with pytest.raises(ComponentRefused) as caught:
        resolve("app")
    refused_with(caught.value, "app", "requires 'tool'", "sources[0].path")


def test_the_folder_of_a_refused_component_is_refused_too(tmp_path: Path) -> None:
    manifest = tool(tmp_path / "lab" / "tool", "../../x.onnx")
    add(str(tmp_path / "lab"), name="lab")
    with pytest.raises(ManifestError) as caught:
        resolve(str(manifest.parent))
    refused_with(caught.value, f"{manifest}: sources[0].path")


def test_verified_source_refuses_a_repository_manifest_pointing_out(tmp_path: Path) -> None:
    (tmp_path / "x.onnx").write_bytes(WEIGHTS)
    manifest = tool(tmp_path / "lab" / "tool", "../../x.onnx")
    add(str(tmp_path / "lab"), name="lab")
    source = Source(path="../../x.onnx", sha256=WEIGHTS_SHA)
    with pytest.raises(ManifestError) as caught:
        verified_source(source, manifest.parent, str(manifest), "sources[0]")
    refused_with(caught.value, f"{manifest}: sources[0].path", "outside the component's folder")


def test_a_users_own_manifest_may_point_anywhere(tmp_path: Path) -> None:
    """Outside every repository a manifest is the user's own file, like a script they run."""
    (tmp_path / "x.onnx").write_bytes(WEIGHTS)
    manifest = tool(tmp_path / "mine", "../x.onnx")
    source = Source(path="../x.onnx", sha256=WEIGHTS_SHA)
    path = verified_source(source, manifest.parent, str(manifest), "sources[0]")
    assert path == tmp_path / "x.onnx"


def test_a_source_a_pack_would_leave_out_is_refused_before_writing(tmp_path: Path) -> None:
    """Inside the folder but hidden: not component content, so `reef pack` would have made a
    pack without it."""
    manifest = tool(tmp_path / "lab" / "tool", ".weights.bin")
    (manifest.parent / ".weights.bin").write_bytes(WEIGHTS)
    add(str(tmp_path / "lab"), name="lab")
    out = tmp_path / "out" / "p.reef.tar.gz"
    with pytest.raises(ManifestError) as caught:
        pack(resolve("tool"), out)
    refused_with(caught.value, f"{manifest}: sources[0].path", "not part of the component")
    assert not (tmp_path / "out").exists()


def _rewrite_pack(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The pack at ``path`` with its lock changed by ``edit`` and SHA256SUMS made to match:
    what someone crafting a pack by hand can do."""
    with tarfile.open(path, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    lock = json.loads(files["reef.lock"])
    edit(lock)
    files["reef.lock"] = json.dumps(lock).encode()
    del files["SHA256SUMS"]
    sums = "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(files))
    files["SHA256SUMS"] = sums.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    crafted = path.with_name("crafted.reef.tar.gz")
    crafted.write_bytes(gzip.compress(buffer.getvalue()))
    return crafted


@pytest.mark.parametrize(
    ("source", "problem"),
    [("../../../etc/passwd", "leads outside"), ("/etc/passwd", "leads outside"),
     ("missing.bin", "is not in the pack")],
)  # fmt: skip
def test_a_pack_whose_lock_points_outside_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, problem: str
) -> None:
    manifest = tool(tmp_path / "lab" / "tool", "weights.bin")
    (manifest.parent / "weights.bin").write_bytes(WEIGHTS)
    add(str(tmp_path / "lab"), name="lab")
    good = pack(resolve("tool"), tmp_path / "p.reef.tar.gz").path

    def point_out(lock: dict[str, Any]) -> None:
        lock["components"][0]["sources"][0]["path"] = source

    crafted = _rewrite_pack(good, point_out)
    home = tmp_path / "other-home"
    monkeypatch.setenv("REEF_HOME", str(home))
    with pytest.raises(ReefError) as caught:
        install(crafted)
    refused_with(caught.value, "sources[0].path", problem)
    assert not home.exists()


# --- item 9: special files ------------------------------------------------------------------


def _special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"special-{kind}.onnx"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        return Path("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    elif kind == "loop":
        path.symlink_to(tmp_path / "loop-b")
        (tmp_path / "loop-b").symlink_to(path)
    return path


SPECIALS = {
    "fifo": "is a FIFO",
    "device": "is a character device",
    "directory": "is a directory",
    "loop": "symlink loop",
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", sorted(SPECIALS))
def test_hashing_refuses_special_files_at_once(tmp_path: Path, deadline: None, kind: str) -> None:
    path = _special(tmp_path, kind)
    with pytest.raises(FileRefused) as caught:
        sha256_file(path)
    refused_with(caught.value, str(path), SPECIALS[kind])


def test_an_onnx_file_larger_than_protobuf_allows_is_refused_unread(tmp_path: Path) -> None:
    """A 50 GB sparse file named .onnx was hashed for 100 s before it was refused."""
    huge = tmp_path / "huge.onnx"
    with huge.open("wb") as f:
        f.truncate(50 << 30)
    started = time.monotonic()
    with pytest.raises(FileRefused) as caught:
        sha256_file(huge)
    assert time.monotonic() - started < 1
    refused_with(caught.value, str(huge), "50.0 GiB", "2.0 GiB")
    # The same file under another name is not a model: only its format sets the cap.
    assert sha256_file(_small(tmp_path / "small.bin")) == WEIGHTS_SHA


def _small(path: Path) -> Path:
    path.write_bytes(WEIGHTS)
    return path


@pytest.mark.timeout(10)
def test_a_manifest_naming_a_fifo_is_refused_at_once(tmp_path: Path, deadline: None) -> None:
    manifest = tool(tmp_path / "mine", "weights.onnx")
    os.mkfifo(manifest.parent / "weights.onnx")
    source = Source(path="weights.onnx", sha256=WEIGHTS_SHA)
    with pytest.raises(FileRefused) as caught:
        verified_source(source, manifest.parent, str(manifest), "sources[0]")
    refused_with(caught.value, "weights.onnx", "is a FIFO")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("where", ["data/pipe", "reef.yaml"])
def test_a_component_holding_a_fifo_is_refused_at_once(
    tmp_path: Path, deadline: None, where: str
) -> None:
    folder = tmp_path / "lab" / "tool"
    tool(folder, "weights.bin")
    (folder / "weights.bin").write_bytes(WEIGHTS)
    (folder / "data").mkdir()
    if where == "reef.yaml":
        (folder / "reef.yaml").unlink()
    os.mkfifo(folder / where)
    with pytest.raises(FileRefused) as caught:
        component_files(folder)
    refused_with(caught.value, str(folder / where), "FIFO")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", sorted(SPECIALS))
def test_install_refuses_a_special_file_at_once(
    tmp_path: Path, reef_home: Path, deadline: None, kind: str
) -> None:
    path = _special(tmp_path, kind)
    with pytest.raises(FileRefused) as caught:
        api.install(path)
    refused_with(caught.value, str(path), SPECIALS[kind])
    assert os.listdir(reef_home) == []


@pytest.mark.timeout(10)
def test_a_repository_list_that_is_a_fifo_is_refused_at_once(deadline: None) -> None:
    config.reef_home().mkdir(parents=True, exist_ok=True)
    os.mkfifo(config.repos_file())
    with pytest.raises(ReefError) as caught:
        api.repo_list()
    refused_with(caught.value, str(config.repos_file()), "is a FIFO")


@pytest.mark.timeout(10)
def test_a_lock_file_that_is_a_fifo_is_refused_at_once(tmp_path: Path, deadline: None) -> None:
    fifo = tmp_path / "reef.lock"
    os.mkfifo(fifo)
    with pytest.raises(FileRefused) as caught:
        read_lock(fifo)
    refused_with(caught.value, str(fifo), "FIFO")


@pytest.mark.timeout(10)
def test_a_file_url_naming_a_fifo_is_refused_at_once(tmp_path: Path, deadline: None) -> None:
    fifo = tmp_path / "weights.bin"
    os.mkfifo(fifo)
    with pytest.raises(FetchError) as caught:
        fetch(fifo.as_uri(), WEIGHTS_SHA)
    refused_with(caught.value, fifo.as_uri(), "is a FIFO")
    assert not config.cache_dir().exists()


# --- item 14: concurrent installs -------------------------------------------------------------


@pytest.fixture
def packed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pack of a component 'tool' with a file source, made in one home; the test then runs
    in a second, empty one."""
    manifest = tool(tmp_path / "lab" / "tool", "weights.bin")
    (manifest.parent / "weights.bin").write_bytes(WEIGHTS)
    add(str(tmp_path / "lab"), name="lab")
    path = pack(resolve("tool"), tmp_path / "tool.reef.tar.gz").path
    monkeypatch.setenv("REEF_HOME", str(tmp_path / "other-home"))
    return path


def _twin_during_staging(monkeypatch: pytest.MonkeyPatch, twin: Callable[[], object]) -> None:
    """Run ``twin`` (another install) once this install has staged, before it moves."""
    stage = packs._stage
    pending = [twin]

    def staged_then_twin(*args: Any) -> None:
        stage(*args)
        while pending:  # once: the twin's own install stages through here too
            pending.pop()()

    monkeypatch.setattr(packs, "_stage", staged_then_twin)


def test_a_twin_installed_meanwhile_is_success(
    packed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two installs sharing a component: the second to move finds the first's copy, the same
    content, and keeps it (it failed with [Errno 39] Directory not empty)."""
    _twin_during_staging(monkeypatch, lambda: api.install(packed))
    report = install(packed)
    assert [(c.name, c.status) for c in report.components] == [("tool", "already-present")]
    [locked] = read_lock_of(packed).components
    assert content_sha256(config.installed_dir() / "tool" / "1.0.0") == locked.sha256


def test_a_twin_rename_is_tolerated_where_nothing_locks(
    packed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where file locks do nothing, the rename itself finds the twin, and keeps it."""
    _twin_during_staging(monkeypatch, lambda: api.install(packed))
    monkeypatch.setattr(packs, "_recheck", lambda plan, force: None)
    report = install(packed)
    assert [c.status for c in report.components] == ["already-present"]


def test_a_different_twin_meanwhile_is_refused_without_force(
    packed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def other_content() -> None:
        target = config.installed_dir() / "tool" / "1.0.0"
        target.mkdir(parents=True)
        tool(target, "weights.bin")
        (target / "weights.bin").write_bytes(b"other weights")

    _twin_during_staging(monkeypatch, other_content)
    with pytest.raises(PackError) as caught:
        install(packed)
    refused_with(caught.value, "tool@1.0.0 is already installed with different content")
    assert (config.installed_dir() / "tool" / "1.0.0" / "weights.bin").read_bytes() == (
        b"other weights"
    )
    assert not [p for p in config.reef_home().iterdir() if p.name.startswith(".install-")]


# --- item 16: what killed processes leave -----------------------------------------------------


def _dead_owner_staging(folder: Path, kind: str) -> Path:
    """A staging entry made by a real process that was then killed with SIGKILL."""
    script = (
        "import os, signal, sys; from pathlib import Path;"
        "from reef import owner;"
        f"p = Path(sys.argv[1]) / (owner.staging_prefix({kind!r}) + 'x');"
        "p.mkdir(parents=True); (p / 'blob').write_bytes(b'x' * 4096);"
        "print(p, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    path = Path(proc.stdout.strip())
    assert path.is_dir()
    return path


def test_an_owner_is_alive_only_while_its_process_runs(tmp_path: Path) -> None:
    me = owner.current()
    assert me.alive()
    assert owner.Owner.from_tag(me.tag) == owner.Owner(me.pid, round(me.started * 1000) / 1000)
    dead = owner.Owner.from_tag(_dead_owner_staging(tmp_path, "x").name.removeprefix(".x-"))
    assert dead is not None and not dead.alive()
    # The same id, given to a later process, is not the owner.
    assert not owner.Owner(me.pid, me.started - 3600).alive()
    assert owner.Owner.from_tag("1111111111111111-11111111") is None


def test_a_sweep_removes_only_what_dead_owners_left(tmp_path: Path) -> None:
    dead = _dead_owner_staging(tmp_path, "install")
    live = tmp_path / (owner.staging_prefix("install") + "mine")
    live.mkdir()
    fresh = tmp_path / ".install-abcdef"
    fresh.mkdir()
    old = tmp_path / ".install-012345"
    old.mkdir()
    os.utime(old, (time.time() - 2 * owner.UNOWNED_AFTER_S,) * 2)
    other = tmp_path / ".partial-123@456-x"
    other.write_bytes(b"")
    assert owner.sweep(tmp_path, "install") >= 4096
    assert not dead.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, fresh.name, other.name])


def test_install_removes_what_a_killed_install_left(packed: Path) -> None:
    home = config.reef_home()
    home.mkdir(parents=True)
    stale = _dead_owner_staging(home, "install")
    install(packed)
    assert not stale.exists()
    assert not [p for p in home.iterdir() if p.name.startswith(".")]


def test_fetch_removes_what_a_killed_download_left(tmp_path: Path) -> None:
    cache = config.cache_dir()
    cache.mkdir(parents=True)
    stale = _dead_owner_staging(cache, "partial")
    fetch(_small(tmp_path / "w.bin").as_uri(), WEIGHTS_SHA)
    assert sorted(p.name for p in cache.iterdir()) == [WEIGHTS_SHA]
    assert not stale.exists()


def test_cache_clean_removes_every_kind_of_leftover(tmp_path: Path) -> None:
    from reef.api import solutions

    home = config.reef_home()
    left = [
        _dead_owner_staging(home, "install"),
        _dead_owner_staging(config.cache_dir(), "partial"),
        _dead_owner_staging(config.clones_dir(), "clone"),
        _dead_owner_staging(config.cache_dir() / "steps", "tmp"),
    ]
    live = config.cache_dir() / "steps" / (owner.staging_prefix("tmp") + "running")
    live.mkdir()
    solutions.cache_clean(everything=True)
    assert [p for p in left if p.exists()] == []
    assert live.is_dir()  # a step of this process may be running in it


# --- item 17: writes that fail ----------------------------------------------------------------


def test_install_into_a_full_home_is_one_error_and_leaves_nothing(
    packed: Path, tmpfs: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tmpfs("8k")
    monkeypatch.setenv("REEF_HOME", str(disk / "home"))
    big = packed.parent / "lab" / "tool" / "weights.bin"
    big.write_bytes(os.urandom(64 << 10))
    manifest = big.parent / "reef.yaml"
    data = yaml.safe_load(manifest.read_text())
    data["sources"][0]["sha256"] = hashlib.sha256(big.read_bytes()).hexdigest()
    manifest.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("REEF_HOME", str(packed.parent / "first-home"))
    add(str(packed.parent / "lab"), name="lab")
    bigger = pack(resolve("tool"), packed.parent / "big.reef.tar.gz").path
    monkeypatch.setenv("REEF_HOME", str(disk / "home"))
    with pytest.raises(WriteFailed) as caught:
        api.install(bigger)
    refused_with(caught.value, "no space left on device", code=EXIT_ENVIRONMENT)
    # The home it had to make is gone again, staging and all.
    assert sorted(p.name for p in disk.iterdir()) == []


def test_install_into_a_read_only_home_is_one_error(
    packed: Path, tmpfs: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tmpfs("1m", read_only=True, fill=lambda p: (p / "home").mkdir())
    monkeypatch.setenv("REEF_HOME", str(disk / "home"))
    with pytest.raises(WriteFailed) as caught:
        api.install(packed)
    refused_with(caught.value, str(disk / "home"), "read-only file system", code=EXIT_ENVIRONMENT)


def test_a_disk_that_fills_while_moving_into_place_is_write_failed(
    packed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seam: the rename into the installed repository fails as on a full disk."""
    rename = os.rename

    def full(src: Any, dst: Any) -> None:
        if "installed" in Path(dst).parts:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        rename(src, dst)

    monkeypatch.setattr(os, "rename", full)
    with pytest.raises(WriteFailed) as caught:
        api.install(packed)
    refused_with(caught.value, "installed", "no space left on device", code=EXIT_ENVIRONMENT)
    assert not [p for p in config.reef_home().iterdir() if p.name.startswith(".install-")]


def test_repo_add_on_a_read_only_home_is_one_error(
    tmp_path: Path, tmpfs: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tmpfs("1m", read_only=True, fill=lambda p: (p / "home").mkdir())
    monkeypatch.setenv("REEF_HOME", str(disk / "home"))
    (tmp_path / "lab").mkdir()
    with pytest.raises(WriteFailed) as caught:
        api.repo_add(str(tmp_path / "lab"))
    refused_with(caught.value, str(disk / "home"), "read-only file system", code=EXIT_ENVIRONMENT)


def test_repo_add_on_a_full_disk_keeps_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seam: writing repos.json fails as on a full disk; the old list stays whole."""
    from reef.components import repository

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    add(str(tmp_path / "a"), name="a")
    before = config.repos_file().read_bytes()

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(repository, "write_atomic", full)
    with pytest.raises(WriteFailed) as caught:
        api.repo_add(str(tmp_path / "b"), name="b")
    refused_with(caught.value, "repos.json", "no space left on device", code=EXIT_ENVIRONMENT)
    assert config.repos_file().read_bytes() == before


def test_a_pack_onto_a_full_disk_keeps_the_earlier_file(
    tmp_path: Path, tmpfs: Callable[..., Path]
) -> None:
    manifest = tool(tmp_path / "lab" / "tool", "weights.bin")
    (manifest.parent / "weights.bin").write_bytes(os.urandom(64 << 10))
    manifest.write_text(
        manifest.read_text().replace(WEIGHTS_SHA, sha256_file(manifest.parent / "weights.bin"))
    )
    add(str(tmp_path / "lab"), name="lab")
    lock = resolve("tool")
    disk = tmpfs("8k")
    earlier = disk / "tool.reef.tar.gz"
    earlier.write_bytes(b"the earlier pack")
    _fill(disk / "filler")
    with pytest.raises(WriteFailed) as caught:
        pack(lock, earlier)
    refused_with(caught.value, str(earlier), "no space left on device", code=EXIT_ENVIRONMENT)
    assert earlier.read_bytes() == b"the earlier pack"
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "tool.reef.tar.gz"]


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 1024)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def read_lock_of(pack_path: Path) -> Any:
    with tarfile.open(pack_path, "r:gz") as tar:
        member = tar.extractfile("reef.lock")
        assert member is not None
        data = member.read()
    from reef.meta.lock import Lock

    return Lock.model_validate_json(data)


def test_a_pack_into_a_read_only_folder_is_refused_before_any_work(
    packed: Path, tmpfs: Callable[..., Path]
) -> None:
    disk = tmpfs("1m", read_only=True)
    lock = packed.parent / "reef.lock"
    lock.write_bytes(lock_bytes(read_lock_of(packed)))
    with pytest.raises(FileRefused) as caught:
        api.pack(str(lock), disk / "x.reef.tar.gz")
    refused_with(caught.value, "read-only file system")
    with pytest.raises(FileRefused) as caught:
        api.pack(str(lock), f"{disk / 'new' / 'folder'}/")
    refused_with(caught.value, "read-only file system")
    assert not config.cache_dir().exists()  # refused before anything was fetched


# --- item 20: a component shadowed by another of the same version -------------------------------


def _lab_classifier(tmp_path: Path, description: str | None) -> Path:
    import shutil

    folder = tmp_path / "lab" / "digits-classifier"
    shutil.copytree(builtin_root() / "digits-classifier", folder)
    if description is not None:
        manifest = folder / "reef.yaml"
        data = yaml.safe_load(manifest.read_text())
        data["description"] = description
        manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    add(str(tmp_path / "lab"), name="lab")
    return folder


def test_a_copy_with_other_content_is_reported_with_both_checksums(tmp_path: Path) -> None:
    folder = _lab_classifier(tmp_path, "changed")
    [shadow] = shadowing("model", "digits-classifier", "1.0.0")
    lab_sha = content_sha256(folder)
    builtin_sha = content_sha256(builtin_root() / "digits-classifier")
    assert (shadow.used, shadow.used_sha256) == ("lab", lab_sha)
    assert (shadow.hidden, shadow.hidden_sha256) == ("builtin", builtin_sha)
    for text in ("'lab'", "'builtin'", lab_sha[:16], builtin_sha[:16], "digits-classifier@1.0.0"):
        assert text in shadow.message
    shown = api.show("digits-classifier").model_dump(mode="json")
    assert shown["shadows"] == [shadow.model_dump(mode="json")]


def test_an_identical_copy_is_not_reported(tmp_path: Path) -> None:
    _lab_classifier(tmp_path, None)
    assert shadowing("model", "digits-classifier", "1.0.0") == []
    assert "shadows" not in api.show("digits-classifier")


def test_installing_a_pack_that_shadows_a_builtin_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lab_classifier(tmp_path, "changed")
    lock = resolve("digits-classifier")
    path = pack(lock, tmp_path / "p.reef.tar.gz").path
    monkeypatch.setenv("REEF_HOME", str(tmp_path / "other-home"))
    report = install(path)
    [shadow] = report.shadows
    assert (shadow.ref, shadow.used, shadow.hidden) == (
        "digits-classifier@1.0.0",
        "installed",
        "builtin",
    )
    assert report.warnings == [shadow.message]
    # Installed again, it still shadows: the warning is repeated, not only said once.
    assert install(path).warnings == [shadow.message]
