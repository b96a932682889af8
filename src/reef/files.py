"""Files a user names, read and written safely.

Reef reads only regular files (a FIFO would hang the read, ``/dev/zero`` would never end, a
50 GB sparse file would be hashed for minutes), with a size cap where the format implies one.
It writes only to a regular file or a new name (``-o /dev/full`` must not replace the device
node), and atomically, so that a reader never sees half a file. Every failure is one
``ReefError`` naming the path and the reason, never an ``OSError`` traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reef.errors import FileRefused, WriteFailed

MiB = 1 << 20
GiB = 1 << 30
# A manifest, lock, spec or index file: text written by people or by Reef.
MANIFEST_MAX_BYTES = 32 * MiB
# Protocol buffers cannot exceed 2 GiB, so neither can an .onnx file (weights above that live
# in external data files).
ONNX_MAX_BYTES = 2 * GiB

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """``a FIFO``, ``a directory``, ... for a mode that is not a regular file's."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def human_size(size: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} bytes"


def reason(exc: OSError) -> str:
    """An OSError as a short reason: ``no space left on device``, ``symlink loop``."""
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop?)"
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def _refuse_read(path: Path, what: str, exc: OSError) -> FileRefused:
    if isinstance(exc, FileNotFoundError):
        return FileRefused(path, "file not found")
    return FileRefused(path, f"cannot read the {what}: {reason(exc)}")


def check_regular(path: Path, what: str = "file", max_bytes: int | None = None) -> int:
    """The size of ``path``, which must be a regular file (links followed) within the cap."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _refuse_read(path, what, exc) from exc
    _check_mode(path, what, st, max_bytes)
    return st.st_size


def _check_mode(path: Path, what: str, st: os.stat_result, max_bytes: int | None) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(path, f"is {kind_of(st.st_mode)}; the {what} must be a regular file")
    if max_bytes is not None and st.st_size > max_bytes:
        raise FileRefused(
            path,
            f"the {what} is {human_size(st.st_size)}, more than the {human_size(max_bytes)} "
            "a file of this kind may hold",
        )


@contextmanager
def open_regular(
    path: Path, what: str = "file", max_bytes: int | None = None
) -> Iterator[BinaryIO]:
    """Open ``path`` for reading if it is a regular file within the cap.

    The check is made on the opened descriptor, so that the file cannot be swapped for a FIFO
    between the check and the read; ``O_NONBLOCK`` keeps the open itself from waiting for a
    FIFO's writer.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _refuse_read(path, what, exc) from exc
    try:
        _check_mode(path, what, os.fstat(fd), max_bytes)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_regular(path: Path, what: str = "file", max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, refused before reading when it is anything else or larger
    than ``max_bytes``."""
    with open_regular(path, what, max_bytes) as f:
        try:
            # Not read(max_bytes + 1): that would allocate the whole cap for every small file.
            data = f.read()
        except OSError as exc:
            raise _refuse_read(path, what, exc) from exc
    if max_bytes is not None and len(data) > max_bytes:  # it grew after the check
        raise FileRefused(path, f"the {what} is larger than {human_size(max_bytes)}")
    return data


def umask_mode(mode: int = 0o666) -> int:
    """``mode`` as the user's umask leaves it: what ``open()`` would have given the file.

    Temporary files are created private (0600); a file the user keeps should not stay so.
    """
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``.

    For Reef's own files; OSError propagates. A path the user named goes through
    ``write_output``, which checks it first and reports failures as ``WriteFailed``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output(path: Path, what: str = "output file") -> Path:
    """Where a user-named output will really be written, refused (``FileRefused``, exit 2) when
    it exists and is not a regular file, or its folder is missing or cannot be written.

    A symlink to a regular file is followed, so that the file it names is replaced.
    """
    st = _stat_output(path, what)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise FileRefused(
            path,
            f"is {kind_of(st.st_mode)}; Reef writes the {what} only to a regular file or a new "
            "name",
            hint="name a new file",
        )
    real = Path(os.path.realpath(path)) if st is not None else Path(os.path.abspath(path))
    _check_folder(path, real.parent, what)
    return real


def check_output_folder(folder: Path, what: str = "output folder") -> Path:
    """Like ``check_output`` for a folder Reef replaces whole (a report's figures): it must be
    a real folder (not a link, which replacing would follow out of place) or a new name."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FileRefused(folder, f"cannot use it as the {what}: {reason(exc)}") from exc
    if st is not None and not stat.S_ISDIR(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else kind_of(st.st_mode)
        if stat.S_ISREG(st.st_mode):
            kind = "a file"
        raise FileRefused(
            folder, f"is {kind}; Reef writes the {what} only as a folder or a new name"
        )
    real = Path(os.path.abspath(folder))
    _check_folder(folder, real.parent, what)
    return real


def _stat_output(path: Path, what: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileRefused(path, f"cannot use it as the {what}: {reason(exc)}") from exc


def _check_folder(path: Path, parent: Path, what: str) -> None:
    if not parent.is_dir():
        raise FileRefused(
            path,
            f"cannot write the {what}: the folder {parent} does not exist",
            hint="create it first",
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if _read_only(parent) else "is not writable"
        raise FileRefused(path, f"cannot write the {what}: the folder {parent} {why}")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@contextmanager
def staged_output(path: Path, what: str = "output file") -> Iterator[Path]:
    """A temporary file beside a user-named output (checked by ``check_output``) that replaces
    it when the block succeeds; on failure the earlier file, if any, is left as it was. An
    OSError while writing (disk full, read-only) becomes ``WriteFailed`` (exit 3)."""
    real = check_output(path, what)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=real.suffix, dir=real.parent)
        os.close(fd)
    except OSError as exc:
        raise WriteFailed(path, reason(exc)) from exc
    staging = Path(name)
    try:
        yield staging
        os.chmod(staging, umask_mode())  # as if written in place, not mkstemp's 0600
        os.replace(staging, real)
    except OSError as exc:
        raise WriteFailed(path, reason(exc)) from exc
    finally:
        staging.unlink(missing_ok=True)


@contextmanager
def staged_folder(folder: Path, what: str = "output folder") -> Iterator[Path]:
    """A temporary folder beside ``folder`` that replaces it when the block succeeds."""
    real = check_output_folder(folder, what)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{real.name}.", dir=real.parent))
    except OSError as exc:
        raise WriteFailed(folder, reason(exc)) from exc
    try:
        yield staging
        os.chmod(staging, umask_mode(0o777))
        if real.is_dir():
            shutil.rmtree(real)
        os.replace(staging, real)
    except OSError as exc:
        raise WriteFailed(folder, reason(exc)) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_output(path: Path, data: bytes | str, what: str = "output file") -> Path:
    """Write a file the user named (``-o``, ``--export``) through ``staged_output``: checked
    first, written atomically, an OS failure while writing reported as ``WriteFailed``.
    Returns the path written."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with staged_output(path, what) as staging:
        staging.write_bytes(payload)
    return Path(os.path.realpath(path))
