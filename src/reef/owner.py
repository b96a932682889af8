"""Which process owns a staging folder or a running record, and whether it is still alive.

Reef stages work in hidden folders and files (``REEF_HOME/.install-*``, ``cache/.partial-*``,
``cache/steps/.tmp-*``, ``repos/.clone-*``) and renames them into place when the work is done;
a process killed with ``kill -9`` cannot remove them. Their names carry the owner's *tag*, its
process id and start time, so that a later Reef can tell a folder whose owner is gone (remove
it) from one another Reef is still filling (leave it): the start time tells a process apart from
a later one that was given the same id.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# The start time is kept in milliseconds; the operating system knows it to a clock tick
# (10 ms on Linux), and two readings may round differently.
_START_TOLERANCE_S = 1.0
# ``@`` keeps a tag apart from what follows it in a name: hex keys and ids never hold one.
_TAG = re.compile(r"(\d+)@(\d+)(?:-|$)")
# A staging entry whose name carries no owner (one made by an older Reef) is removed once it
# is this old: no install, download or step takes a day.
UNOWNED_AFTER_S = 86400.0


@dataclass(frozen=True)
class Owner:
    pid: int
    started: float  # seconds since the epoch, as psutil reports the process's creation

    @property
    def tag(self) -> str:
        """``<pid>@<start in ms>``: what staging names carry."""
        return f"{self.pid}@{round(self.started * 1000)}"

    @classmethod
    def from_tag(cls, text: str) -> Owner | None:
        match = _TAG.match(text)
        if match is None:
            return None
        return cls(int(match[1]), int(match[2]) / 1000)

    def alive(self) -> bool:
        """Whether the process still runs (a process that reused the id does not count)."""
        if self == current():
            return True
        if sys.platform == "win32":
            # Leaving a folder costs disk space; removing a live one would break an install.
            return True
        import psutil

        try:
            started = float(psutil.Process(self.pid).create_time())
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True  # it exists, but we may not look at it: assume it is working
        return abs(started - self.started) < _START_TOLERANCE_S


def current() -> Owner:
    """This process (a forked child is a process of its own, with its own tag)."""
    return _owner(os.getpid())


@functools.cache
def _owner(pid: int) -> Owner:
    import psutil

    return Owner(pid, float(psutil.Process(pid).create_time()))


def staging_prefix(kind: str) -> str:
    """The name prefix of a staging entry this process makes: ``.<kind>-<tag>-``."""
    return f".{kind}-{current().tag}-"


def is_stale(path: Path, kind: str, *, unowned_after_s: float | None = UNOWNED_AFTER_S) -> bool:
    """Whether ``path``, a staging entry of ``kind``, was left by a process that is gone.

    An entry without an owner in its name is stale once older than ``unowned_after_s`` (never,
    when it is None)."""
    rest = path.name.removeprefix(f".{kind}-")
    if rest == path.name:
        return False
    owner = Owner.from_tag(rest)
    if owner is not None:
        return not owner.alive()
    if unowned_after_s is None:
        return False
    try:
        age = time.time() - path.lstat().st_mtime
    except OSError:
        return False
    return age > unowned_after_s


def sweep(folder: Path, kind: str, *, unowned_after_s: float | None = UNOWNED_AFTER_S) -> int:
    """Remove the staging entries of ``kind`` in ``folder`` whose owner is gone; returns how
    many bytes that freed. Errors are ignored: a sweep must never stop the work it precedes."""
    freed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        path = Path(entry.path)
        if not entry.name.startswith(f".{kind}-"):
            continue
        if not is_stale(path, kind, unowned_after_s=unowned_after_s):
            continue
        freed += tree_size(path)
        remove(path)
    return freed


def remove(path: Path) -> None:
    """A file or a folder, whichever ``path`` is; never follows a link."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def tree_size(path: Path) -> int:
    """The bytes of the files under ``path`` (links are counted, not followed)."""
    if not path.is_dir() or path.is_symlink():
        try:
            return path.lstat().st_size
        except OSError:
            return 0
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total
