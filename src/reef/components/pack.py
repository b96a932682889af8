"""Portable packs: the components a lock pins, and their fetched sources, in one archive.

A ``.reef.tar.gz`` holds ``reef.lock``, ``components/<name>/<version>/<file>`` for every file
of every locked component, ``sources/<sha256>`` for every url source, and ``SHA256SUMS`` (in
``sha256sum`` format) over all of them. The same content always gives the same bytes: members
sorted by name (``SHA256SUMS`` last: it lists the hashes taken while writing the others), no
directory entries, fixed times, owners and modes, and a gzip header without a name or a time.

``install`` checks a pack completely before it writes anything, copies member bytes by hand
into a staging folder inside ``REEF_HOME``, verifies every hash, and only then renames the
components into the ``installed`` repository and the sources into the cache.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reef import config, owner
from reef.components import index
from reef.components.archive import Archive, check_name, scan
from reef.components.checksums import (
    OUTSIDE_HINT,
    cached_path,
    resolved,
    size_cap,
    source_path_problem,
)
from reef.components.content import (
    MANIFEST,
    component_files,
    content_sha256,
    format_listing,
)
from reef.components.lockfile import LOCK_FILE, locate, lock_bytes
from reef.components.lookup import shadowing
from reef.components.repository import INSTALLED, ensure_installed, mark_changed, repositories
from reef.components.shadow import Shadow
from reef.errors import ComponentError, FileRefused, ManifestError, Problem, ReefError, WriteFailed
from reef.files import check_output, open_regular, reason, umask_mode
from reef.locking import file_lock
from reef.meta.load import problems_from
from reef.meta.lock import Lock, LockedComponent

PACK_SUFFIX = ".reef.tar.gz"
STAGING = "install"  # REEF_HOME/.install-<owner>-*: a pack being unpacked
SUMS = "SHA256SUMS"
DEFAULT_MAX_BYTES = 20 << 30
DEFAULT_MAX_FILES = 100_000
# The two members install reads whole into memory, refused from their declared sizes. A lock of
# a few hundred bytes per component; SHA256SUMS at --max-files' default of 100,000 members with
# names of 250 characters is about 32 MiB.
MAX_LOCK_BYTES = 4 << 20
MAX_SUMS_BYTES = 32 << 20
# Packs are mostly model weights and arrays that barely compress; level 1 keeps most of the
# gain on the rest (an npz of the digits: 0.21 of its size against 0.15 at level 6) at about
# five times the speed.
COMPRESSLEVEL = 1
_CHUNK = 1 << 20
_SUMS_LINE = re.compile(r"([0-9a-f]{64})  (.+)")

InstallStatus = Literal["installed", "already-present", "replaced"]


class PackError(ComponentError):
    pass


class PackReport(BaseModel):
    """The pack ``pack`` wrote."""

    model_config = ConfigDict(frozen=True)

    path: Path
    size: int
    sha256: str  # of the archive file
    files: int  # members, SHA256SUMS included
    components: list[str]  # name@version


class InstalledComponent(BaseModel):
    """One component of a pack, in the ``installed`` repository."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    version: str
    status: InstallStatus
    path: Path


class InstallReport(BaseModel):
    """What ``install`` put in the ``installed`` repository."""

    model_config = ConfigDict(frozen=True)

    repository: str
    components: list[InstalledComponent]
    sources: list[str]  # sha256 of the sources added to the cache (not those already there)
    warnings: list[str] = Field(default_factory=list)  # one per shadow: its message
    # Components installed (or found installed) that hide, or are hidden by, a component of
    # the same name and version with other content in another repository.
    shadows: list[Shadow] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shadows_warn(cls, data: Any) -> Any:
        # The warnings are the shadows' messages, unless given: one can never lack the other.
        if isinstance(data, dict) and "warnings" not in data:
            shadows = data.get("shadows") or []
            data = data | {
                "warnings": [s.message if isinstance(s, Shadow) else s["message"] for s in shadows]
            }
        return data


# -- pack ------------------------------------------------------------------------------------


class _HashingReader:
    """Hands a file's bytes to tarfile while hashing them, so that each is read once. An
    OSError reading it is ``FileRefused`` naming the file: any OSError left while a pack is
    written is the writing's."""

    def __init__(self, f: IO[bytes], source: Path | None = None) -> None:
        self._f = f
        self._source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._f.read(size)
        except OSError as exc:
            raise FileRefused(self._source, f"cannot read it: {reason(exc)}") from exc
        self.digest.update(data)
        return data


class _HashingWriter:
    """The archive file, hashed as it is written rather than read back."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


def _tarinfo(name: str, size: int, executable: bool) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = tarfile.REGTYPE
    info.mode = 0o755 if executable else 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add(tar: tarfile.TarFile, name: str, source: Path | bytes) -> str:
    """Add one member, streamed from ``source``; returns the sha256 of what was written."""
    if isinstance(source, bytes):
        reader = _HashingReader(io.BytesIO(source))
        tar.addfile(_tarinfo(name, len(source), False), reader)
        return reader.digest.hexdigest()
    what, cap = size_cap(source)
    with open_regular(source, what, cap) as f:
        st = os.fstat(f.fileno())
        reader = _HashingReader(f, source)
        info = _tarinfo(name, st.st_size, bool(st.st_mode & stat.S_IXUSR))
        tar.addfile(info, reader)
    return reader.digest.hexdigest()


def _url_sources(lock: Lock) -> dict[str, tuple[LockedComponent, str]]:
    """sha256 -> (the first component declaring it, its url), for every url source."""
    out: dict[str, tuple[LockedComponent, str]] = {}
    for locked in lock.components:
        for source in locked.sources:
            if source.url is not None:
                out.setdefault(source.sha256, (locked, source.url))
    return out


def _component_prefix(locked: LockedComponent) -> str:
    return f"components/{locked.name}/{locked.version}/"


def _content_hashes(sums: dict[str, str]) -> dict[str, str]:
    """Each packed component's content hash (see ``reef.components.content``), computed from
    its members' sha256s; keyed by the members' common prefix."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, digest in sums.items():
        parts = name.split("/", 3)
        if parts[0] == "components" and len(parts) == 4:
            groups.setdefault("/".join(parts[:3]) + "/", []).append((digest, parts[3]))
    return {
        prefix: hashlib.sha256(format_listing(sorted(e, key=lambda x: x[1])).encode()).hexdigest()
        for prefix, e in groups.items()
    }


class PackTargetRefused(PackError, FileRefused):
    """Where the pack was to be written is not a regular file or a new name, or its folder
    cannot be written: nothing was fetched or written."""


def check_target(out: Path) -> Path:
    """Refuse a pack's path that is not a new or a regular file (the pack is renamed over it,
    and a rename replaces a FIFO or a device as readily as a file), or whose folder is missing
    or cannot be written; returns the path the pack will really be written to."""
    if out.is_dir():
        raise PackTargetRefused(
            out, "is a folder", hint=f"give a file name, e.g. {out / 'x'}{PACK_SUFFIX}"
        )
    missing = _first_missing(out.parent)
    try:
        if missing is None:
            return check_output(out, "pack")
        # The folders are made when the pack is written: the first one must be possible.
        check_output(missing, "pack's folder")
    except FileRefused as exc:
        raise PackTargetRefused(exc.path, exc.reason, exc.hint) from exc
    return Path(os.path.abspath(out))


def pack_path(lock: Lock, output: Path | str | None = None) -> Path:
    """Where ``lock``'s pack goes: ``output`` when it names a file, else
    ``NAME-VERSION.reef.tar.gz`` in the folder ``output`` names (one that exists, or one to
    create when the path ends with a slash), or in the current folder. A path the pack may
    not replace is refused here (``check_target``), before anything is fetched or written."""
    root = lock.root_component
    name = f"{root.name}-{root.version}{PACK_SUFFIX}"
    out = Path(name if output is None else output)
    # Checked on the text: Path() drops a trailing slash.
    if str(output).endswith(("/", os.sep)) or out.is_dir():
        out = out / name
    check_target(out)
    return out


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder of ``folder`` (itself included) that does not exist, if any."""
    missing = None
    for part in (folder, *folder.parents):
        if os.path.lexists(part):
            break
        missing = part
    return missing


def _check_sources_inside(locked: LockedComponent, manifest: Path, files: list[str]) -> None:
    """Every file source of the component is one of the files packed with it. Otherwise the
    pack would be made without it, and install on the other machine without a model."""
    folder = manifest.parent
    root = resolved(folder) or folder
    problems = []
    for i, source in enumerate(locked.sources):
        if source.path is None or source.package is not None:
            continue
        problem = source_path_problem(source.path, folder)
        target = resolved(folder / source.path)
        rel = target.relative_to(root).as_posix() if problem is None and target else None
        if problem is None and rel not in files:
            problem = (
                f"{source.path!r} is not part of the component's content (hidden, or in a "
                "nested component's folder), so a pack cannot carry it"
            )
        if problem is not None:
            problems.append(Problem(str(manifest), f"sources[{i}].path", problem))
    if problems:
        raise ManifestError(problems, hint=OUTSIDE_HINT)


def _member_name(name: str, path: Path) -> str:
    """``name``, refused when the installer would refuse it: a pack Reef writes installs."""
    problem = check_name(name)
    if problem:
        raise PackError(
            f"file {str(path)!r} {problem}, which a pack cannot hold",
            hint="rename the file (and lock the component again)",
        )
    return name


def pack(lock: Lock, out: Path) -> PackReport:
    """Write every component and url source ``lock`` pins into one archive at ``out``.

    ``out`` is checked as any output a user names (``check_output``); an OSError while it is
    written (a full disk) is ``WriteFailed`` (exit 3), and leaves an earlier file there as it
    was."""
    real = check_target(out)
    members: dict[str, Path | bytes] = {LOCK_FILE: lock_bytes(lock)}
    components = sorted(lock.components, key=lambda c: (c.name, c.version))
    for locked, before in zip(components[1:], components, strict=False):
        if (locked.name, locked.version) == (before.name, before.version):
            raise PackError(f"the lock pins {locked.name}@{locked.version} twice")
    for locked in components:
        prefix = _component_prefix(locked)
        entry = locate(locked)
        folder = entry.directory
        files = component_files(folder)
        _check_sources_inside(locked, entry.manifest_path, files)
        for rel in files:
            members[_member_name(prefix + rel, folder / rel)] = folder / rel
    sources = _url_sources(lock)
    for digest, (locked, url) in sorted(sources.items()):
        path = cached_path(digest)
        if not path.is_file():
            raise PackError(
                f"{locked.name}@{locked.version}: source {url} (sha256 {digest}) is not fetched",
                hint="run `reef fetch` first",
            )
        members[f"sources/{digest}"] = path

    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteFailed(out, reason(exc), hint="no pack was written") from exc
    tmp = Path(tmp_name)
    try:
        sink, sums = _write_archive(fd, members, components, sources)
        tmp.chmod(umask_mode())
        os.replace(tmp, real)
    except OSError as exc:
        # Reading a component's file is FileRefused: an OSError here is the writing's, a full
        # disk say. An earlier file at ``out`` is left as it was.
        tmp.unlink(missing_ok=True)
        raise WriteFailed(out, reason(exc), hint="no pack was written") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return PackReport(
        path=out,
        size=sink.size,
        sha256=sink.digest.hexdigest(),
        files=len(sums) + 1,
        components=[f"{c.name}@{c.version}" for c in components],
    )


def _write_archive(
    fd: int,
    members: dict[str, Path | bytes],
    components: list[LockedComponent],
    sources: dict[str, tuple[LockedComponent, str]],
) -> tuple[_HashingWriter, dict[str, str]]:
    """Write the archive to ``fd`` (closed after); returns the sink (the archive's size and
    hash) and each member's sha256."""
    with os.fdopen(fd, "wb") as raw:
        sink = _HashingWriter(raw)
        # filename="" and mtime=0: the gzip header must not carry the temporary name or a
        # time, or two packs of the same content would differ.
        with (
            gzip.GzipFile(
                filename="", mode="wb", fileobj=sink, compresslevel=COMPRESSLEVEL, mtime=0
            ) as gz,
            tarfile.TarFile(
                fileobj=gz, mode="w", format=tarfile.PAX_FORMAT, copybufsize=_CHUNK
            ) as tar,
        ):
            sums = {name: _add(tar, name, members[name]) for name in sorted(members)}
            _check_packed(components, sources, sums)
            listing = "".join(f"{sums[n]}  {n}\n" for n in sorted(sums))
            _add(tar, SUMS, listing.encode())
        raw.flush()
        os.fsync(raw.fileno())
    return sink, sums


def _check_packed(
    components: list[LockedComponent],
    sources: dict[str, tuple[LockedComponent, str]],
    sums: dict[str, str],
) -> None:
    """What was written is what the lock pins: files may change between locating and packing."""
    hashes = _content_hashes(sums)
    for locked in components:
        got = hashes.get(_component_prefix(locked), "no files")
        if got != locked.sha256:
            raise PackError(
                f"{locked.name}@{locked.version} changed while it was being packed: content "
                f"sha256 {got}, the lock pins {locked.sha256}",
                hint="pack again once nothing is writing to the component",
            )
    for digest in sources:
        got = sums[f"sources/{digest}"]
        if got != digest:
            raise PackError(
                f"{cached_path(digest)}: the cached source has sha256 {got}, not {digest}",
                hint="delete the file and run `reef fetch` again",
            )


# -- install ---------------------------------------------------------------------------------


@dataclass
class _Component:
    locked: LockedComponent
    files: dict[str, tarfile.TarInfo]  # relative path -> member
    target: Path
    status: InstallStatus = "installed"


@dataclass
class _Plan:
    sums: dict[str, str]
    components: list[_Component] = field(default_factory=list)
    sources: dict[str, tarfile.TarInfo] = field(default_factory=dict)  # sha256 -> member
    lock: Lock | None = None


def _installed_root() -> Path:
    """Where ``installed`` is, found without registering it (nothing is written yet)."""
    for repo in repositories():
        if repo.name == INSTALLED:
            return repo.root
    return config.installed_dir()


def _parse_sums(archive: Archive, raw: bytes) -> dict[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        archive.fail(f"{SUMS} is not UTF-8 text")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    sums: dict[str, str] = {}
    # "\n" only, as sha256sum writes it: splitlines() also splits on characters a file name
    # may hold (U+2028, U+0085, ...), and a name holding one would not be found.
    for number, line in enumerate(lines, 1):
        match = _SUMS_LINE.fullmatch(line)
        if not match:
            archive.fail(f"{SUMS} line {number}: expected '<sha256>  <path>', got {line[:80]!r}")
        digest, name = match.groups()
        if name in sums:
            archive.fail(f"{SUMS} lists {name!r} twice")
        sums[name] = digest
    return sums


def _parse_lock(archive: Archive, raw: bytes) -> Lock:
    where = f"{archive.path}: {LOCK_FILE}"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackError(f"{where}: not a lock file ({exc})") from exc
    try:
        return Lock.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(problems_from(exc, where)) from exc


def _check_listing(archive: Archive, sums: dict[str, str]) -> None:
    held = {m.name for m in archive.files} - {SUMS}
    for member in archive.files:
        if member.name in held and member.name not in sums:
            archive.fail(f"member {member.name!r} is not listed in {SUMS}")
    for name in sums:
        if name not in held:
            archive.fail(f"{SUMS} lists {name!r}, which the pack does not hold")
    got = hashlib.sha256(archive.early[LOCK_FILE]).hexdigest()
    if got != sums[LOCK_FILE]:
        archive.fail(
            f"member {LOCK_FILE!r} does not match {SUMS}: listed {sums[LOCK_FILE]}, holds {got}"
        )


def _check_component_files(archive: Archive, comp: _Component) -> None:
    """The members of a component are what ``component_files`` would list, as far as can be
    told without reading its manifest."""
    prefix = _component_prefix(comp.locked)
    # A folder holding its own reef.yaml is a nested component, not content (see content.py)...
    nested = {rel[: -len(MANIFEST) - 1] for rel in comp.files if rel.endswith("/" + MANIFEST)}
    # ...except the dataset folder a model's manifest names. Which folder that is, _stage checks
    # once the manifest is copied; until then a model may hold one, with nothing nested in it.
    own_dataset = None
    if comp.locked.kind == "model":
        outer = [n for n in nested if not any(n.startswith(o + "/") for o in nested)]
        own_dataset = outer[0] if len(outer) == 1 else None
    for rel in sorted(comp.files):
        parts = rel.split("/")
        name = prefix + rel
        if any(p.startswith(".") for p in parts):
            archive.fail(f"member {name!r} is hidden, and hidden files are not component content")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in nested and folder != own_dataset:
                archive.fail(f"member {name!r} lies in a nested component's folder")


def _plan(archive: Archive, force: bool, root: Path | None = None) -> _Plan:
    """Every check that needs no member bytes beyond the lock and the sums; writes nothing.
    ``root`` is where the components would go (default: the ``installed`` repository)."""
    for required in (SUMS, LOCK_FILE):
        if required not in archive.early:
            archive.fail(f"has no {required}: not a Reef pack", hint="make packs with `reef pack`")
    sums = _parse_sums(archive, archive.early[SUMS])
    _check_listing(archive, sums)
    lock = _parse_lock(archive, archive.early[LOCK_FILE])
    pinned = {(c.name, c.version): _Component(c, {}, Path()) for c in lock.components}
    urls = _url_sources(lock)
    plan = _Plan(sums, lock=lock)
    for member in archive.files:
        name = member.name
        parts = name.split("/")
        if name in (SUMS, LOCK_FILE):
            continue
        if parts[0] == "components" and len(parts) >= 4:
            comp = pinned.get((parts[1], parts[2]))
            if comp is None:
                archive.fail(
                    f"member {name!r} belongs to {parts[1]}@{parts[2]}, which {LOCK_FILE} "
                    "does not pin"
                )
            comp.files["/".join(parts[3:])] = member
        elif parts[0] == "sources" and len(parts) == 2:
            if parts[1] not in urls:
                archive.fail(f"member {name!r} is not a url source of any locked component")
            if sums[name] != parts[1]:
                archive.fail(f"member {name!r} is listed in {SUMS} with sha256 {sums[name]}")
            plan.sources[parts[1]] = member
        else:
            archive.fail(f"member {name!r} has no place in a pack")
    for digest, (locked, url) in urls.items():
        if digest not in plan.sources:
            archive.fail(
                f"{locked.name}@{locked.version}: source {url} (sources/{digest}) is not in "
                "the pack"
            )

    root = _installed_root() if root is None else root
    hashes = _content_hashes(sums)
    for comp in pinned.values():
        locked = comp.locked
        prefix = _component_prefix(locked)
        if not comp.files:
            archive.fail(
                f"{LOCK_FILE} pins {locked.name}@{locked.version}, but no file of it is packed"
            )
        _check_component_files(archive, comp)
        got = hashes[prefix]
        if got != locked.sha256:
            archive.fail(
                f"{prefix.rstrip('/')}: content sha256 {got} does not match the {locked.sha256} "
                f"that {LOCK_FILE} pins"
            )
        _check_sources_packed(archive, comp)
        comp.target = root / locked.name / locked.version
        comp.status = _status(comp, force)
        plan.components.append(comp)
    return plan


def _status(comp: _Component, force: bool) -> InstallStatus:
    """What installing ``comp`` does, judged from what is in its place now."""
    locked = comp.locked
    if not (comp.target.is_symlink() or comp.target.exists()):
        return "installed"
    if not comp.target.is_dir() or comp.target.is_symlink():
        raise PackError(f"{comp.target}: exists and is not a component folder")
    current = content_sha256(comp.target)
    if current == locked.sha256:
        return "already-present"
    if force:
        return "replaced"
    raise PackError(
        f"{locked.name}@{locked.version} is already installed with different "
        f"content: installed {current}, the pack holds {locked.sha256}",
        hint="use --force to replace it",
    )


def _check_sources_packed(archive: Archive, comp: _Component) -> None:
    """Every file source the lock declares is one of the component's packed files: a pack
    must carry what its components use (a path outside the folder would be read from the
    machine it is installed on)."""
    locked = comp.locked
    for i, source in enumerate(locked.sources):
        if source.path is None or source.package is not None:
            continue
        rel = posixpath.normpath(source.path)
        if source.path.startswith("/") or rel == ".." or rel.startswith("../"):
            archive.fail(
                f"{LOCK_FILE}: {locked.name}@{locked.version} sources[{i}].path "
                f"{source.path!r} leads outside the component's folder"
            )
        if rel not in comp.files:
            archive.fail(
                f"{LOCK_FILE}: {locked.name}@{locked.version} sources[{i}].path "
                f"{source.path!r} is not in the pack"
            )


class _Discard:
    """Where the bytes of what is already in place go: they are still checked, never written."""

    def write(self, data: bytes) -> int:
        return len(data)


def _stage(archive: Archive, plan: _Plan, staging: Path) -> None:
    """Copy and verify every member; the components' folders end up complete in ``staging``."""
    skip = {
        member.name
        for comp in plan.components
        if comp.status == "already-present"
        for member in comp.files.values()
    }
    skip |= {m.name for d, m in plan.sources.items() if cached_path(d).is_file()}
    # Archive order, so that the gzip stream is read once, forwards.
    for member in archive.files:
        if member.name in (SUMS, LOCK_FILE):
            continue
        if member.name in skip:
            digest = archive.copy(member, _Discard())
        else:
            dest = staging.joinpath(*member.name.split("/"))
            dest.parent.mkdir(parents=True, exist_ok=True)
            # "xb": never open something already there (a link planted in staging included).
            with dest.open("xb") as f:
                digest = archive.copy(member, f)
            dest.chmod(0o755 if member.mode & stat.S_IXUSR else 0o644)
        want = plan.sums[member.name]
        if digest != want:
            archive.fail(
                f"member {member.name!r} does not match {SUMS}: listed {want}, holds {digest}",
                hint="the pack was damaged or altered; nothing was installed",
            )
    for comp in plan.components:
        if comp.status == "already-present":
            continue
        prefix = _component_prefix(comp.locked)
        content = component_files(staging / prefix)
        extra = sorted(set(comp.files) - set(content))
        if extra:
            archive.fail(
                f"member {prefix + extra[0]!r} lies in a nested component's folder, and not in "
                "the dataset folder that the model's manifest names"
            )
        if content != sorted(comp.files):
            archive.fail(f"{prefix}: files are not a component's content")


def _put_in_place(comp: _Component, staging: Path) -> None:
    new = staging / _component_prefix(comp.locked)
    if comp.status != "replaced":
        try:
            os.rename(new, comp.target)
        except OSError as exc:
            # A twin: the same component, put in place by an install Reef cannot lock out
            # (where file locks do nothing). The same content there is as good as ours.
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not _holds(comp):
                raise
            comp.status = "already-present"
        return
    # Renamed aside rather than deleted first: it goes with the staging folder.
    aside = staging / "replaced" / comp.locked.name / comp.locked.version
    aside.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(comp.target, aside)
        os.rename(new, comp.target)
    except BaseException:
        # The old version goes back rather than out with the staging folder. Judged from what
        # is on disk, not from which rename returned: an interrupt may land between the two.
        if os.path.lexists(aside) and not os.path.lexists(comp.target):
            os.rename(aside, comp.target)
        raise


def _holds(comp: _Component) -> bool:
    try:
        return content_sha256(comp.target) == comp.locked.sha256
    except (ReefError, OSError):
        return False


def install_lock() -> contextlib.AbstractContextManager[None]:
    """Held while an install moves components into place: two installs of packs that share a
    component each find the other's copy (and keep it) instead of colliding on the rename."""
    return file_lock(config.index_dir() / "install.lock", hint="nothing was installed")


def _recheck(plan: _Plan, force: bool) -> None:
    """The plan's statuses again, under the install lock: another install may have put a
    component in place since the plan was made."""
    for comp in plan.components:
        was = comp.status
        comp.status = _status(comp, force)
        if was == "already-present" and comp.status != "already-present":
            # Its files were checked but not staged: they are not here to move.
            raise PackError(
                f"{comp.target}: changed while the pack was being installed",
                hint="nothing of it was installed; run `reef install` again",
            )


def _move_into_place(plan: _Plan, staging: Path, force: bool) -> InstallReport:
    with install_lock():
        _recheck(plan, force)
        repo = ensure_installed()
        # Before anything moves, so that an install interrupted halfway leaves the index
        # marked stale, and the next lookup rescans the folders rather than trusting the old
        # listing.
        mark_changed(repo)
        added = []
        for digest in sorted(plan.sources):
            dest = cached_path(digest)
            if dest.is_file():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / "sources" / digest, dest)
            added.append(digest)
        out = []
        for comp in plan.components:
            locked = comp.locked
            if comp.status != "already-present":
                comp.target.parent.mkdir(parents=True, exist_ok=True)
                _put_in_place(comp, staging)
            out.append(
                InstalledComponent(
                    kind=locked.kind,
                    name=locked.name,
                    version=locked.version,
                    status=comp.status,
                    path=comp.target,
                )
            )
        # Again: a refresh by another process while the folders moved recorded the first
        # mark, and would otherwise hide what moved after it.
        mark_changed(repo)
    index.refresh(repo)
    shadows = [s for c in out for s in shadowing(c.kind, c.name, c.version)]
    return InstallReport(repository=repo.name, components=out, sources=added, shadows=shadows)


# OSError numbers that say a name is one this file system will not hold: the pack's fault,
# like any other name Reef refuses. Any other OSError while writing (a full disk, a read-only
# file system, an I/O error) is the environment's, and propagates: ``reef.api`` reports it as
# ``WriteFailed``.
_NAME_ERRNOS = {errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL}


def _stage_named(archive: Archive, plan: _Plan, staging: Path, pack_path: Path) -> None:
    """``_stage``, with a member name this file system will not hold refused as the pack's."""
    try:
        _stage(archive, plan, staging)
    except OSError as exc:
        # Reading errors are the archive's (ArchiveError); these are writing ones.
        if exc.errno not in _NAME_ERRNOS:
            raise
        raise PackError(
            f"{pack_path}: cannot unpack {exc.filename or 'a member'}: {reason(exc)}",
            hint="nothing was installed",
        ) from exc


def install(
    pack_path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
    force: bool = False,
) -> InstallReport:
    """Install a pack's components into the ``installed`` repository, its sources into the
    cache; a pack that fails any check changes nothing."""
    early = {SUMS: MAX_SUMS_BYTES, LOCK_FILE: MAX_LOCK_BYTES}
    with scan(pack_path, max_files=max_files, max_bytes=max_bytes, read_early=early) as archive:
        plan = _plan(archive, force)
        home = config.reef_home()
        made_home = not home.exists()
        home.mkdir(parents=True, exist_ok=True)
        # What installs killed before they finished left behind.
        owner.sweep(home, STAGING)
        staging = Path(tempfile.mkdtemp(dir=home, prefix=owner.staging_prefix(STAGING)))
        try:
            _stage_named(archive, plan, staging, pack_path)
            return _move_into_place(plan, staging, force)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if made_home:
                # Removes it only if it stayed empty, i.e. when the install failed.
                with contextlib.suppress(OSError):
                    home.rmdir()


def unpack(
    pack_path: Path,
    staging: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> Lock:
    """Every check ``install`` makes, without installing anything: returns the pack's lock.

    Each member is copied into ``staging`` (an empty folder the caller made and removes) and
    verified as ``install`` stages a pack: ``staging/components/<name>/<version>/`` then holds
    each component, ``staging/sources/<sha256>`` each url source not already in the cache. A
    pack that fails a check raises what ``install`` raises, and nothing outside ``staging`` is
    written. The component registry (``reef.components.registry``) checks a published pack
    this way, and a server repository (``reef.components.remote``) a downloaded one.
    """
    early = {SUMS: MAX_SUMS_BYTES, LOCK_FILE: MAX_LOCK_BYTES}
    with scan(pack_path, max_files=max_files, max_bytes=max_bytes, read_early=early) as archive:
        # Nothing is in place under a folder that does not exist: every component is staged.
        plan = _plan(archive, force=False, root=staging / ".nowhere")
        _stage_named(archive, plan, staging, pack_path)
    assert plan.lock is not None
    return plan.lock
