"""Reading and writing ``reef.lock``, and finding what a lock pins."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from reef.components.content import content_sha256
from reef.components.index import Entry, catalog
from reef.errors import ComponentError, FileRefused, ManifestError, Problem, ReefError
from reef.files import MANIFEST_MAX_BYTES, read_regular, write_output
from reef.meta.load import problems_from
from reef.meta.lock import Lock, LockedComponent

LOCK_FILE = "reef.lock"
LOCAL = "local"  # the repository name of a component locked from a folder of its own


class LockMismatch(ComponentError):
    pass


def lock_bytes(lock: Lock) -> bytes:
    """The canonical form: the same lock always gives the same bytes."""
    return (json.dumps(lock.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()


def write_lock(lock: Lock, path: Path) -> None:
    """Write a lock where the user asked: refused (``FileRefused``, exit 2) over anything but
    a regular file or a new name, or in a folder that cannot be written; a failed write (a
    full disk) is ``WriteFailed`` (exit 3) and leaves an earlier lock as it was."""
    write_output(path, lock_bytes(lock), "lock file")


def read_lock(path: Path) -> Lock:
    try:
        # A regular file of a sane size only: a FIFO named reef.lock must not hang the read.
        text = read_regular(path, "lock file", MANIFEST_MAX_BYTES).decode("utf-8")
    except FileRefused as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise ManifestError([Problem(str(path), "", "file not found")]) from exc
        raise
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(str(path), "", f"cannot read: {exc}")]) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ManifestError([Problem(str(path), "", f"not a lock file (bad JSON: {exc})")]) from exc
    if not isinstance(data, dict):
        raise ManifestError([Problem(str(path), "", "not a lock file (expected an object)")])
    version = data.get("lock_version")
    if isinstance(version, int) and version > 1:
        raise ManifestError(
            [Problem(str(path), "lock_version", f"{version} is newer than this Reef reads (1)")],
            hint="upgrade Reef",
        )
    try:
        return Lock.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(problems_from(exc, str(path))) from exc


def locate(locked: LockedComponent, entries: list[Entry] | None = None) -> Entry:
    """The component a lock pins, found in any repository by name, version and content hash.

    The repository it was locked from is tried first; another repository holding identical
    content (e.g. ``installed`` after ``reef install``) is as good. Different content under the
    same name and version is refused: the lock would not mean what it says. A component locked
    from a folder outside every repository (repository ``local``) is looked for in that folder.
    """
    if locked.repository == LOCAL:
        found = _local(locked)
        if found is not None:
            return found
    entries = catalog() if entries is None else entries
    same = [
        e
        for e in entries
        if (e.kind, e.name, e.version) == (locked.kind, locked.name, locked.version)
    ]
    same.sort(key=lambda e: e.repository != locked.repository)
    seen: list[str] = []
    for entry in same:
        published = _not_fetched(entry)
        if published is not None:
            # A server's version known by its manifest alone (a lock copied from another
            # machine): fetched here if it is the content locked, then hashed as any copy.
            if published != locked.sha256:
                seen.append(f"{entry.repository}: {published}")
                continue
            from reef.components.remote import materialise
            from reef.components.repository import get

            materialise(get(entry.repository), entry.name, entry.version)
        digest = content_sha256(entry.directory)
        if digest == locked.sha256:
            return entry
        seen.append(f"{entry.repository}: {digest}")
    if seen:
        raise LockMismatch(
            f"{locked.name}@{locked.version} has changed since it was locked: "
            f"expected content sha256 {locked.sha256}, found {'; '.join(seen)}",
            hint="run `reef resolve` again if the change is intended",
        )
    if locked.repository == LOCAL:
        raise LockMismatch(
            f"{locked.name}@{locked.version} was locked from {locked.repository_location}, "
            "which no longer holds it, and no repository does",
            hint="restore the folder, or run `reef resolve` again on where it is now",
        )
    raise LockMismatch(
        f"{locked.name}@{locked.version} (locked from {locked.repository!r}) is in no repository",
        hint=f"add the repository it came from ({locked.repository_location}) with "
        "`reef repo add`, or install a pack that holds it",
    )


def _not_fetched(entry: Entry) -> str | None:
    """The content sha256 a server published for ``entry``, where it is a server's version
    not fetched yet; else None."""
    from reef.components.remote import published_content

    return published_content(Path(entry.root), entry.name, entry.version)


def _local(locked: LockedComponent) -> Entry | None:
    """A component locked from a folder outside every repository, if that folder still holds
    it; a changed folder is refused like a changed repository."""
    folder = Path(locked.repository_location)
    if not (folder / locked.path).is_file():
        return None
    digest = content_sha256((folder / locked.path).parent)
    if digest != locked.sha256:
        raise LockMismatch(
            f"{locked.name}@{locked.version} in {folder} has changed since it was locked: "
            f"expected content sha256 {locked.sha256}, found {digest}",
            hint="run `reef resolve` again if the change is intended",
        )
    return Entry(
        repository=LOCAL,
        kind=locked.kind,
        name=locked.name,
        version=locked.version,
        path=locked.path,
        requires=tuple(locked.requires),
        python=tuple(locked.python),
        root=str(folder),
        trusted=True,
    )


def is_lock_file(target: str) -> bool:
    path = Path(target)
    return path.is_file() and (path.name == LOCK_FILE or path.suffix == ".lock")


def lock_for(target: str) -> Lock:
    """A lock file's contents, or ``target`` resolved now (nothing written)."""
    from reef.components.resolve import resolve

    if is_lock_file(target):
        return read_lock(Path(target))
    if target.endswith(".lock"):
        raise ReefError(f"{target}: file not found", hint="`reef resolve NAME` writes reef.lock")
    return resolve(target)
