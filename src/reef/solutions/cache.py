"""The step cache: a finished step's outputs, kept under a hash of everything it depended on.

A step's key covers its definition (``uses`` and ``with``), the outputs of the steps it
needs, the resolved lock and the environment it ran in. When none of them changed, running
the step again would redo the same work, so its entry is reused; when one did, the key
differs and the step runs again. Entries live in ``REEF_HOME/cache/steps/<key>/``: the
step's output folder ``out/``, its ``log.txt`` and ``entry.json``. An entry is renamed into
place only once its step succeeded, so a half-written one is never reused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reef import config, owner
from reef.files import write_atomic

ENTRY = "entry.json"
LOG = "log.txt"
OUT = "out"
STAGING = "tmp"  # cache/steps/.tmp-<owner>-<key>-*: a step running


def steps_dir() -> Path:
    return config.cache_dir() / "steps"


def step_key(parts: dict[str, Any]) -> str:
    """The sha256 of ``parts`` as canonical JSON."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def output_sha256(out: Path, result: dict[str, Any]) -> str:
    """What dependants see of a step: its files and its recorded result."""
    digest = hashlib.sha256()
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        digest.update(path.relative_to(out).as_posix().encode() + b"\0")
        with path.open("rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    digest.update(json.dumps(result, sort_keys=True, default=str).encode())
    return digest.hexdigest()


@dataclass
class CacheEntry:
    key: str
    path: Path
    solution: str
    step: str
    uses: str
    created_at: datetime
    used_at: datetime
    duration_s: float
    output_sha256: str
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return self.path / OUT

    @property
    def log(self) -> Path:
        return self.path / LOG

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "path": str(self.path),
            "solution": self.solution,
            "step": self.step,
            "uses": self.uses,
            "created_at": self.created_at.isoformat(),
            "used_at": self.used_at.isoformat(),
            "duration_s": self.duration_s,
            "output_sha256": self.output_sha256,
            "size_bytes": self.size_bytes(),
            "result": self.result,
        }


def _read(path: Path) -> CacheEntry | None:
    try:
        data = json.loads((path / ENTRY).read_text(encoding="utf-8"))
        used = datetime.fromtimestamp((path / ENTRY).stat().st_mtime, UTC)
        return CacheEntry(
            key=path.name,
            path=path,
            solution=str(data["solution"]),
            step=str(data["step"]),
            uses=str(data["uses"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            used_at=used,
            duration_s=float(data["duration_s"]),
            output_sha256=str(data["output_sha256"]),
            result=dict(data.get("result") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, or not finished: never reused


def lookup(key: str) -> CacheEntry | None:
    entry = _read(steps_dir() / key)
    if entry is not None:
        # The entry file's mtime is its last use, which `reef cache clean --unused-for` reads.
        os.utime(entry.path / ENTRY)
    return entry


@dataclass
class Staging:
    """A step's folder while it runs; ``commit`` moves it into the cache."""

    key: str
    path: Path

    @property
    def out(self) -> Path:
        return self.path / OUT

    @property
    def log(self) -> Path:
        return self.path / LOG

    def commit(
        self,
        *,
        solution: str,
        step: str,
        uses: str,
        duration_s: float,
        result: dict[str, Any],
        params: dict[str, Any] | None = None,
    ) -> CacheEntry:
        # What dependants see: the files and the result, not how the step was called.
        digest = output_sha256(self.out, result)
        result = result | {"params": params or {}}
        data = {
            "solution": solution,
            "step": step,
            "uses": uses,
            "created_at": datetime.now(UTC).isoformat(),
            "duration_s": duration_s,
            "output_sha256": digest,
            "result": result,
        }
        write_atomic(self.path / ENTRY, json.dumps(data, indent=2, default=str).encode())
        final = steps_dir() / self.key
        if final.exists():  # a forced re-run replaces the entry it re-did
            _remove(final)
        try:
            os.replace(self.path, final)
        except OSError:
            # Another run committed the same step meanwhile: its entry is as good as ours.
            other = _read(final)
            if other is None:
                raise
            self.discard()
            return other
        entry = _read(final)
        assert entry is not None
        return entry

    def discard(self) -> None:
        _remove(self.path)


def stage(key: str) -> Staging:
    """A new staging folder for the step ``key``: ``.tmp-<owner>-<key>-<random>``, so that a
    later run can tell one whose process was killed from one another run is filling."""
    root = steps_dir()
    root.mkdir(parents=True, exist_ok=True)
    _sweep_once(root)
    path = root / f"{owner.staging_prefix(STAGING)}{key[:16]}-{uuid.uuid4().hex[:8]}"
    (path / OUT).mkdir(parents=True)
    (path / LOG).touch()
    return Staging(key, path)


@functools.cache
def _sweep_once(root: Path) -> None:
    """Before a process's first step: what steps killed with their process left behind."""
    _sweep_unfinished(everything=False)


def entries() -> Iterator[CacheEntry]:
    root = steps_dir()
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if path.name.startswith("."):
            continue
        entry = _read(path)
        if entry is not None:
            yield entry


def of_solution(solution: str | None = None) -> list[CacheEntry]:
    """Every entry, or those of one solution (by name, whatever its version)."""
    return [e for e in entries() if solution in (None, e.solution.split("@")[0])]


def clean(
    *,
    everything: bool = False,
    unused_for_s: float | None = None,
    solution: str | None = None,
    dry_run: bool = False,
) -> list[CacheEntry]:
    """Remove the entries selected (all of them, those unused for a while, one solution's)
    and any folder left by a step that never finished; returns the entries removed. Asking
    for none of them, or for a negative time, is refused before anything is removed."""
    from reef.errors import ReefError, SettingsError

    if unused_for_s is not None and unused_for_s < 0:
        raise SettingsError(f"a cache entry cannot be unused for a negative time ({unused_for_s})")
    if not (everything or unused_for_s is not None or solution is not None):
        raise ReefError(
            "say what to remove",
            hint="--all, --unused-for DAYS or --solution NAME (--dry-run shows it first)",
        )
    now = time.time()
    chosen = []
    for entry in entries():
        if solution is not None and entry.solution.split("@")[0] != solution:
            continue
        if unused_for_s is not None and now - entry.used_at.timestamp() < unused_for_s:
            continue
        chosen.append(entry)
    if not dry_run:
        for entry in chosen:
            _remove(entry.path)
        sweep_leftovers(everything=everything)
    return chosen


def remove(path: Path) -> None:
    """Remove the entry at ``path`` (renamed aside first, so no reader sees it half deleted)."""
    _remove(path)


@dataclass(frozen=True)
class Leftover:
    """What a Reef process killed mid-work left behind, and what it was doing."""

    path: Path
    size_bytes: int
    what: str  # "unfinished step", "unpacked pack", "download", "clone", "environment build"


def leftovers(*, everything: bool = False) -> list[Leftover]:
    """What Reef processes killed mid-work left (``kill -9``, a power cut) and no live process
    owns: step staging folders, half-unpacked packs, half-downloaded sources, half-made clones
    and environment builds. ``everything`` also counts the folders of a step that was never
    finished and names no owner (an older Reef's) at once, rather than after a day."""
    from reef.environment.cache import BUILD

    unowned = 0.0 if everything else owner.UNOWNED_AFTER_S
    found = _unfinished_steps(everything=everything)
    for folder, kind, what in (
        (config.reef_home(), "install", "unpacked pack"),
        (config.cache_dir(), "partial", "download"),
        (config.clones_dir(), "clone", "clone"),
        (config.envs_dir(), BUILD, "environment build"),
    ):
        found += _stale(folder, kind, unowned, what)
    return found


def sweep_leftovers(*, everything: bool = False) -> int:
    """Remove ``leftovers``; returns the bytes freed."""
    freed = 0
    for item in leftovers(everything=everything):
        _discard(item)
        freed += item.size_bytes
    return freed


def _discard(item: Leftover) -> None:
    if item.path.parent == steps_dir() and not item.path.name.startswith("."):
        _remove(item.path)  # an entry's own name: renamed aside first, as any removal
    else:
        owner.remove(item.path)


def _stale(folder: Path, kind: str, unowned_after_s: float, what: str) -> list[Leftover]:
    """The staging entries of ``kind`` in ``folder`` whose owner is gone (``reef.owner``)."""
    from reef.owner import tree_size

    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        path = folder / name
        if name.startswith(f".{kind}-") and owner.is_stale(
            path, kind, unowned_after_s=unowned_after_s
        ):
            found.append(Leftover(path, tree_size(path), what))
    return found


def _unfinished_steps(*, everything: bool) -> list[Leftover]:
    """Step folders whose step died with its process: staging whose owner is gone, entries
    half renamed aside for deletion, and (after a day, or at once with ``everything``)
    staging and entries that name no owner and never got their entry file."""
    from reef.owner import tree_size

    root = steps_dir()
    if not root.is_dir():
        return []
    unowned = 0.0 if everything else owner.UNOWNED_AFTER_S
    found = _stale(root, STAGING, unowned, "unfinished step")
    # Renamed aside to be deleted: whoever renamed it may have died before the rmtree.
    found += _stale(root, "del", 0.0, "step being deleted")
    now = time.time()
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or (path / ENTRY).is_file():
            continue
        try:
            old = now - path.stat().st_mtime > unowned
        except OSError:
            continue
        if old:
            found.append(Leftover(path, tree_size(path), "unfinished step"))
    return found


def _sweep_unfinished(*, everything: bool) -> int:
    """Remove ``_unfinished_steps``; returns the bytes freed."""
    freed = 0
    for item in _unfinished_steps(everything=everything):
        _discard(item)
        freed += item.size_bytes
    return freed


def _remove(path: Path) -> None:
    # Renamed aside first, so that a reader never sees a half-deleted entry.
    aside = path.with_name(f".del-{path.name}-{uuid.uuid4().hex[:8]}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return
    shutil.rmtree(aside, ignore_errors=True)
