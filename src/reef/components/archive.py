"""Reading a ``.tar.gz`` without trusting it.

A scan checks every member's name, type, the member count and the declared sizes before the
caller writes anything; member bytes are then copied by hand (never ``extract``), hashed on the
way. Any unreadable input (not gzip, not tar, truncated, corrupt) becomes an ``ArchiveError``.
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import zlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, Protocol

from reef.errors import ReefError

_CHUNK = 1 << 20
# A tar ends with two zero blocks padded to a 10 KiB record; more than this after the end
# marker is not something our packs contain.
_MAX_TRAILER = 1 << 16
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


class ArchiveError(ReefError):
    pass


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def check_name(name: str) -> str | None:
    """Why ``name`` is unsafe as a relative path inside a target folder; None if it is safe."""
    if not name:
        return "has an empty name"
    if "\x00" in name:
        return "has a NUL byte in its name"
    if "\\" in name:
        return "has a backslash in its name"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "has a control character in its name"
    if name.startswith("/"):
        return "has an absolute name"
    parts = name.split("/")
    if ".." in parts:
        return "has a '..' part in its name"
    if any(p in ("", ".") for p in parts):
        return "has an empty or '.' part in its name"
    return None


def _kind_problem(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        return f"is a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"is a hard link (to {member.linkname!r})"
    if member.ischr() or member.isblk():
        return "is a device"
    if member.isfifo():
        return "is a FIFO"
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE):
        return f"has an unsupported type {member.type!r}"
    if member.sparse is not None:
        return "is a sparse file"
    return None


@dataclass
class Archive:
    """A scanned archive: its regular files in archive order, and the small ones read early."""

    path: Path
    tar: tarfile.TarFile
    files: list[tarfile.TarInfo] = field(default_factory=list)
    early: dict[str, bytes] = field(default_factory=dict)

    def fail(self, message: str, hint: str | None = None) -> NoReturn:
        raise ArchiveError(f"{self.path}: {message}", hint=hint)

    def copy(self, member: tarfile.TarInfo, dest: Sink) -> str:
        """Copy a member's bytes into ``dest``; returns their sha256."""
        digest = hashlib.sha256()
        left = member.size
        with self._reading(member):
            src = self.tar.extractfile(member)
        if src is None:
            self.fail(f"member {member.name!r} has no data")
        with src:
            while left > 0:
                with self._reading(member):
                    chunk = src.read(min(_CHUNK, left))
                if not chunk:
                    self.fail(f"member {member.name!r} ends early (truncated archive)")
                digest.update(chunk)
                dest.write(chunk)
                left -= len(chunk)
        return digest.hexdigest()

    @contextmanager
    def _reading(self, member: tarfile.TarInfo) -> Iterator[None]:
        # Only reading is translated: a full disk while writing is not a corrupt archive.
        try:
            yield
        except _READ_ERRORS as exc:
            self.fail(f"cannot read member {member.name!r}: {exc}", hint="copy the pack again")


def _claim_path(archive: Archive, name: str, seen: set[str], folders: set[str]) -> None:
    """A file's name must not be a folder of another member, nor lie under another file."""
    if name in folders:
        archive.fail(f"member {name!r} is both a file and a folder")
    parts = name.split("/")
    for depth in range(1, len(parts)):
        parent = "/".join(parts[:depth])
        if parent in seen and parent not in folders:
            archive.fail(f"member {name!r} lies under the file {parent!r}")
        folders.add(parent)


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int, where: Path) -> bytes:
    if member.size > limit:
        raise ArchiveError(f"{where}: member {member.name!r} is larger than {limit} bytes")
    src = tar.extractfile(member)
    if src is None:
        raise ArchiveError(f"{where}: member {member.name!r} has no data")
    with src:
        data = src.read()
    if len(data) != member.size:
        raise ArchiveError(f"{where}: member {member.name!r} ends early (truncated archive)")
    return data


def _check_trailer(gz: gzip.GzipFile, where: Path) -> None:
    """Read to the end of the gzip stream: that checks its CRC and catches a truncated tail."""
    rest = gz.read(_MAX_TRAILER + 1)
    if len(rest) > _MAX_TRAILER or rest.strip(b"\x00"):
        raise ArchiveError(f"{where}: unexpected data after the end of the archive")


@contextmanager
def scan(
    path: Path,
    *,
    max_files: int,
    max_bytes: int,
    read_early: Collection[str] = (),
    early_limit: int = 64 << 20,
) -> Iterator[Archive]:
    """Open and check ``path``; the members named in ``read_early`` are read during the scan."""
    where = path
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ArchiveError(f"{where}: cannot open ({exc.strerror or exc})") from None
    with raw:
        gz = gzip.GzipFile(fileobj=raw, mode="rb")
        try:
            tar = tarfile.TarFile(fileobj=gz, mode="r")
        except _READ_ERRORS as exc:
            raise ArchiveError(
                f"{where}: not a readable .tar.gz archive ({exc})",
                hint="the file is not a pack, or it is corrupt or truncated; copy it again",
            ) from None
        with tar:
            archive = Archive(path, tar)
            seen: set[str] = set()
            folders: set[str] = set()
            count = total = 0
            try:
                # Iterating (not getmembers) stops at the first bad member, before a
                # compressed bomb behind it is inflated.
                for member in tar:
                    name = member.name
                    count += 1
                    if count > max_files:
                        archive.fail(
                            f"more than {max_files} members (at {name!r})",
                            hint="raise the limit if the pack is genuine",
                        )
                    problem = check_name(name) or _kind_problem(member)
                    if problem:
                        archive.fail(f"member {name!r} {problem}")
                    if name in seen:
                        archive.fail(f"member {name!r} appears twice")
                    seen.add(name)
                    if member.isdir():
                        folders.add(name)
                        continue
                    _claim_path(archive, name, seen, folders)
                    total += member.size
                    if total > max_bytes:
                        archive.fail(
                            f"members declare more than {max_bytes} bytes (at {name!r})",
                            hint="raise the limit if the pack is genuine",
                        )
                    if name in read_early:
                        archive.early[name] = _read_small(tar, member, early_limit, where)
                    archive.files.append(member)
                _check_trailer(gz, where)
            except _READ_ERRORS as exc:
                raise ArchiveError(
                    f"{where}: corrupt or truncated archive ({exc})",
                    hint="copy the pack again",
                ) from None
            yield archive
