"""The fetched sources in Reef's cache: one verified file per sha256 (``cache_dir()/<sha256>``,
see ``reef.components.fetch``), listed and removed for ``reef cache``.

A source's last use is the later of its modification time, which a fetch that finds it cached
touches, and its access time (on file systems that keep one). Removing a source costs only a
download the next time a lock needs it: it is verified again then.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reef import config

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class CachedSource:
    sha256: str
    path: Path
    size_bytes: int
    used_at: datetime


def is_source(name: str) -> bool:
    """A fetched source's file is named by its 64-hex-digit sha256."""
    return len(name) == 64 and set(name) <= _HEX


def sources() -> list[CachedSource]:
    """Every fetched source in the cache, sorted by sha256."""
    found = []
    try:
        entries = sorted(os.scandir(config.cache_dir()), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if not is_source(entry.name):
            continue
        with contextlib.suppress(OSError):
            if not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
            used = datetime.fromtimestamp(max(st.st_mtime, st.st_atime), UTC)
            found.append(CachedSource(entry.name, Path(entry.path), st.st_size, used))
    return found


def remove(path: Path) -> None:
    """Delete one source; a reader that has it open keeps reading it (POSIX), and a later
    fetch downloads and verifies it again."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
