"""The provisioned environments in Reef's cache: listing them, knowing which are in use, and
removing one only when no run is using it.

A process that is about to run in an environment (``reef bench`` of a provisioned lock, a
solution's steps) takes a *lease* on it first: an empty file ``.use-<owner>-lease`` in the
environment's folder, named after the process as ``reef.owner`` names staging folders, and it
touches the marker, whose modification time is the environment's last use. A lease lasts as
long as its process: once the process is gone the lease no longer counts, and the next lease
sweeps it. Taking a lease and removing an environment both hold one lock (``envs.lock`` beside
Reef's index), so an environment is never removed between a run finding it and leasing it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reef import config, owner

LEASE = "use"  # .use-<owner>-lease
MARKER = "reef-env.json"  # as reef.environment.provision writes it
BUILD = "tmp"  # provision's build folders (and environments being removed): .tmp-<owner>-...


@dataclass(frozen=True)
class CachedEnvironment:
    """One environment folder: complete (with its marker) or left incomplete by a build."""

    hash: str
    path: Path
    size_bytes: int
    created_at: datetime | None
    used_at: datetime | None  # the marker's modification time: its last lease
    complete: bool
    python: str | None  # "cpython 3.11.7"
    installer: str | None
    packages: int
    users: tuple[int, ...]  # process ids of live runs that hold a lease on it


def _is_environment(path: Path) -> bool:
    """An environment's folder is named by its 64-hex-digit hash."""
    name = path.name
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name) and path.is_dir()


def environments() -> list[CachedEnvironment]:
    """Every environment folder, complete or not, sorted by hash."""
    root = config.envs_dir()
    try:
        paths = sorted(p for p in root.iterdir() if _is_environment(p))
    except OSError:
        return []
    return [_describe(p) for p in paths]


def _describe(path: Path) -> CachedEnvironment:
    marker = path / MARKER
    data: dict[str, object] = {}
    used_at = None
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(marker.read_text(encoding="utf-8"))
        if isinstance(loaded, dict) and loaded.get("hash") == path.name:
            data = loaded
        used_at = datetime.fromtimestamp(marker.stat().st_mtime, UTC)
    python = data.get("python")
    shown = None
    if isinstance(python, dict):
        shown = f"{python.get('implementation', '')} {python.get('version', '')}".strip()
    created = None
    with contextlib.suppress(TypeError, ValueError):
        created = datetime.fromisoformat(str(data["created_at"])) if "created_at" in data else None
    packages = data.get("packages")
    installer = data.get("installer")
    return CachedEnvironment(
        hash=path.name,
        path=path,
        size_bytes=owner.tree_size(path),
        created_at=created,
        used_at=used_at if data else None,
        complete=bool(data),
        python=shown,
        installer=str(installer) if installer else None,
        packages=len(packages) if isinstance(packages, dict) else 0,
        users=users(path),
    )


def _lock_file() -> Path:
    # Not in the envs folder, which holds environments only.
    return config.index_dir() / "envs.lock"


def users(path: Path) -> tuple[int, ...]:
    """The process ids of the live processes that hold a lease on the environment at
    ``path``."""
    found = []
    try:
        entries = list(os.scandir(path))
    except OSError:
        return ()
    for entry in entries:
        if not entry.name.startswith(f".{LEASE}-"):
            continue
        holder = owner.Owner.from_tag(entry.name.removeprefix(f".{LEASE}-"))
        if holder is not None and holder.alive():
            found.append(holder.pid)
    return tuple(sorted(set(found)))


def lease(path: Path) -> bool:
    """Record that this process runs in the environment at ``path`` and touch its marker (its
    last use); False when the environment is gone (a clean removed it meanwhile). A cache that
    cannot be written to (read-only) is used without a lease: nothing can remove from it."""
    from reef.errors import WriteFailed
    from reef.locking import file_lock

    try:
        with file_lock(_lock_file()):
            if not (path / MARKER).is_file():
                return False
            # Leases of processes that are gone: each process leaves at most one per folder.
            owner.sweep(path, LEASE, unowned_after_s=None)
            (path / f"{owner.staging_prefix(LEASE)}lease").touch()
            os.utime(path / MARKER)
    except (OSError, WriteFailed):
        return (path / MARKER).is_file()
    return True


def remove(path: Path) -> bool:
    """Remove the environment at ``path`` unless a live process holds a lease on it; returns
    whether it was removed. It is renamed aside under the lock (so no run finds it from then
    on) and deleted after; a removal killed midway leaves a build folder that a later sweep
    takes."""
    from reef.locking import file_lock

    aside = path.parent / f"{owner.staging_prefix(BUILD)}{path.name[:16]}-{secrets.token_hex(4)}"
    with file_lock(_lock_file()):
        if users(path):
            return False
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return True  # another clean took it
    shutil.rmtree(aside, ignore_errors=True)
    return True
