"""An exclusive lock on a file, held across a read-modify-write of Reef's shared state.

Two ``reef`` commands that each read ``repos.json``, change it and write it back lose one of
the changes unless the second waits for the first; two installs that rename the same
component into place collide. The lock is ``flock`` on a small file of its own, so that it is
released when the process dies, however it dies (``kill -9`` included), and never has to be
cleaned up. Windows has no ``flock``: there ``msvcrt`` locks the file's first byte.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from reef.errors import WriteFailed
from reef.files import reason

# The lock files this thread holds, with how deep: flock() on a second descriptor of a file
# this process already locked would wait for the first, i.e. forever.
_HELD = threading.local()


@contextlib.contextmanager
def file_lock(path: Path, hint: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing); re-entrant within a thread.

    A lock file that cannot be made (a read-only ``REEF_HOME``) is ``WriteFailed`` (exit 3),
    with ``hint`` saying what was left unchanged."""
    held: dict[str, int] = _HELD.__dict__.setdefault("paths", {})
    key = str(path)
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("a+b")
    except OSError as exc:
        raise WriteFailed(path, reason(exc), hint=hint) from exc
    with f:  # closing the file releases the lock
        _lock(f)
        held[key] = 1
        try:
            yield
        finally:
            held[key] = 0


if sys.platform == "win32":  # pragma: no cover - Reef is developed and tested on POSIX

    def _lock(f: IO[bytes]) -> None:
        import msvcrt

        f.seek(0)
        # LK_LOCK retries for 10 s, then raises; going on unlocked is what Reef did before.
        with contextlib.suppress(OSError):
            msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)

else:

    def _lock(f: IO[bytes]) -> None:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
