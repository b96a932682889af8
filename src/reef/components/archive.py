"""Reading a ``.tar.gz`` without trusting it.

A scan checks every member's name, type, the member count and the declared sizes before the
caller writes anything; member bytes are then copied by hand (never ``extract``), hashed on the
way. Any unreadable input (not gzip, not tar, truncated, corrupt) becomes an ``ArchiveError``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn, Protocol

from reef.errors import ComponentError, FileRefused
from reef.files import open_regular

_CHUNK = 1 << 20
# A tar ends with two zero blocks padded to a 10 KiB record; more than this after the end
# marker is not something our packs contain.
_MAX_TRAILER = 1 << 16
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)
# tarfile reads a pax (``x``, ``g``) or GNU long-name (``L``, ``K``) header's data whole, in one
# call, at whatever size the header declares; these bound what it can ask for. Reef's own reads
# are at most _CHUNK, and tarfile reads member data through a buffer in pieces no larger.
_MAX_READ = _CHUNK
# The tar stream beyond the members' declared data, allowed per member: its header, the padding
# of its data to a block, and a pax header holding a name up to MAX_NAME_BYTES (with the
# size record of a member over 8 GiB).
_HEADER_ALLOWANCE = 8 << 10
MAX_NAME_BYTES = 4096  # PATH_MAX on Linux
MAX_PART_BYTES = 255  # NAME_MAX of the common file systems


class ArchiveError(ComponentError):
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
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        # A file name that is not UTF-8 on disk: SHA256SUMS, UTF-8 text, cannot list it.
        return "has a name that is not UTF-8 text"
    if len(encoded) > MAX_NAME_BYTES:
        return f"has a name longer than {MAX_NAME_BYTES} bytes"
    if name.startswith("/"):
        return "has an absolute name"
    parts = name.split("/")
    if ".." in parts:
        return "has a '..' part in its name"
    if any(p in ("", ".") for p in parts):
        return "has an empty or '.' part in its name"
    if any(len(p.encode("utf-8")) > MAX_PART_BYTES for p in parts):
        return f"has a part of its name longer than {MAX_PART_BYTES} bytes"
    return None


def size_text(size: int) -> str:
    """``size`` in MiB when it is a whole number of them (limits are), else in bytes."""
    return f"{size >> 20} MiB" if size >= 1 << 20 and size % (1 << 20) == 0 else f"{size} bytes"


class _Bounded:
    """The inflated tar stream as tarfile reads it, refusing reads that no pack needs.

    Without this, a header declaring a gigabyte of pax data makes tarfile inflate and hold a
    gigabyte before Reef sees any member: a small pack could exhaust memory. A single read is
    capped at _MAX_READ, and the stream may not run past ``limit``, which the scan raises as
    members declare their sizes. The limit bounds the position rather than a count of bytes
    read: reading the members after the scan rewinds the gzip stream, and a genuine pack must
    not be counted twice.
    """

    def __init__(self, gz: gzip.GzipFile, where: Path) -> None:
        self._gz = gz
        self._where = where
        self.limit = _HEADER_ALLOWANCE

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._gz.tell()

    def _check(self, end: int, at: int) -> None:
        if end > self.limit:
            raise ArchiveError(
                f"{self._where}: its tar headers hold more data than any pack's (at offset {at})",
                hint="the file is not a pack Reef made, or it is corrupt",
            )

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._check(offset, offset)
        elif whence == io.SEEK_CUR:
            self._check(self.tell() + offset, self.tell())
        else:
            raise io.UnsupportedOperation("seeking from the end of a gzip stream")
        return self._gz.seek(offset, whence)

    def read(self, size: int | None = -1) -> bytes:
        at = self.tell()
        if size is None or size < 0 or size > _MAX_READ:
            raise ArchiveError(
                f"{self._where}: a tar header at offset {at} declares more than "
                f"{size_text(_MAX_READ)} of header data",
                hint="the file is not a pack Reef made, or it is corrupt",
            )
        self._check(at + size, at)
        return self._gz.read(size)

    def write(self, data: bytes) -> int:
        raise io.UnsupportedOperation("an archive being checked is read, never written")

    def close(self) -> None:
        # The scan owns the gzip stream: it reads the trailer once tarfile is done.
        pass


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
    # From the declared size, before a byte is read: the limit is what keeps it in memory.
    if member.size > limit:
        raise ArchiveError(
            f"{where}: member {member.name!r} declares {member.size} bytes; "
            f"a pack's {member.name} is at most {size_text(limit)}"
        )
    src = tar.extractfile(member)
    if src is None:
        raise ArchiveError(f"{where}: member {member.name!r} has no data")
    chunks = []
    left = member.size
    with src:
        # In pieces: the stream refuses any single read over _MAX_READ.
        while left > 0 and (chunk := src.read(min(_CHUNK, left))):
            chunks.append(chunk)
            left -= len(chunk)
    if left:
        raise ArchiveError(f"{where}: member {member.name!r} ends early (truncated archive)")
    return b"".join(chunks)


def _check_trailer(gz: gzip.GzipFile, where: Path) -> None:
    """Read to the end of the gzip stream: that checks its CRC and catches a truncated tail."""
    rest = gz.read(_MAX_TRAILER + 1)
    if len(rest) > _MAX_TRAILER or rest.strip(b"\x00"):
        raise ArchiveError(f"{where}: unexpected data after the end of the archive")


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    """The pack, open for reading if it is a regular file (``FileRefused`` otherwise)."""
    stack = ExitStack()
    try:
        raw = stack.enter_context(open_regular(path, "pack"))
    except FileRefused as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise FileRefused(path, "cannot open: no such file") from exc
        raise
    with stack:
        yield raw


@contextmanager
def scan(
    path: Path,
    *,
    max_files: int,
    max_bytes: int,
    read_early: Mapping[str, int] = {},
) -> Iterator[Archive]:
    """Open and check ``path``; the members named in ``read_early`` are read during the scan,
    each refused if it declares more bytes than the limit ``read_early`` gives it."""
    where = path
    # A regular file only: a FIFO would wait for a writer forever, /dev/zero never ends, and
    # a directory or a symlink loop is refused with the reason rather than a traceback.
    with _open(path) as raw:
        gz = gzip.GzipFile(fileobj=raw, mode="rb")
        stream = _Bounded(gz, where)
        try:
            tar = tarfile.TarFile(fileobj=stream, mode="r")
        except _READ_ERRORS as exc:
            raise ArchiveError(
                f"{where}: not a readable .tar.gz archive ({exc})",
                hint="the file is not a pack, or it is corrupt or truncated; copy it again",
            ) from exc
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
                    else:
                        _claim_path(archive, name, seen, folders)
                        total += member.size
                        if total > max_bytes:
                            archive.fail(
                                f"members declare more than {max_bytes} bytes (at {name!r})",
                                hint="raise the limit if the pack is genuine",
                            )
                    # Past this member's data, and the next member's headers.
                    stream.limit = total + (count + 1) * _HEADER_ALLOWANCE
                    if member.isdir():
                        continue
                    if name in read_early:
                        archive.early[name] = _read_small(tar, member, read_early[name], where)
                    archive.files.append(member)
                _check_trailer(gz, where)
            except _READ_ERRORS as exc:
                raise ArchiveError(
                    f"{where}: corrupt or truncated archive ({exc})",
                    hint="copy the pack again",
                ) from exc
            yield archive
