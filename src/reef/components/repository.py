"""Component repositories: the built-in one, and the user's folders, git clones and Reef
servers (``reef.components.remote``).

The user's repositories are listed in ``REEF_HOME/repos.json`` in priority order (the first
wins when two hold the same name and version); the built-in repository comes last.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from reef import config
from reef.components import git
from reef.errors import ComponentError, FileRefused, WriteFailed
from reef.files import MANIFEST_MAX_BYTES, read_regular, reason, write_atomic
from reef.locking import file_lock

BUILTIN = "builtin"
INSTALLED = "installed"
RESERVED = (BUILTIN, INSTALLED)

RepoKind = Literal["builtin", "folder", "git", "server"]

_REPO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class RepositoryError(ComponentError):
    pass


@dataclass(frozen=True)
class Repository:
    name: str
    kind: RepoKind
    location: str  # a folder, the URL a clone was made from, or a Reef server's URL
    trusted: bool

    @property
    def root(self) -> Path:
        """The local folder holding the components (a server's: its mirror)."""
        if self.kind in ("git", "server"):
            return config.clones_dir() / self.name
        return Path(self.location)


def builtin_root() -> Path:
    return Path(__file__).resolve().parent.parent / "builtin"


def builtin_repository() -> Repository:
    return Repository(BUILTIN, "builtin", str(builtin_root()), trusted=True)


def _load_user() -> list[Repository]:
    path = config.repos_file()
    try:
        # A regular file only: every command reads the list, and a FIFO would hang them all.
        data = json.loads(read_regular(path, "repository list", MANIFEST_MAX_BYTES))
    except FileRefused as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            return []
        raise RepositoryError(
            exc.message, hint="fix or delete the file, then add the repositories again"
        ) from exc
    except ValueError as exc:
        raise RepositoryError(
            f"{path}: cannot read the repository list ({exc})",
            hint="fix or delete the file, then add the repositories again",
        ) from exc
    return [Repository(**r) for r in data.get("repositories", [])]


def _save_user(repos: list[Repository]) -> None:
    """Write the list; call it holding ``locked()``, with a list read under the same lock."""
    data = {"format_version": 1, "repositories": [asdict(r) for r in repos]}
    path = config.repos_file()
    try:
        write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())
    except OSError as exc:
        raise WriteFailed(path, reason(exc), hint="the repository list is unchanged") from exc


def lock_path() -> Path:
    """The lock file of ``repos.json``. It lives with the index (Reef's bookkeeping, made by
    every command that reads repositories), so that ``REEF_HOME`` holds nothing new."""
    return config.index_dir() / "repos.lock"


def locked() -> contextlib.AbstractContextManager[None]:
    """Hold the lock on ``repos.json`` across a read-modify-write.

    Without it, two commands that each read the list, change it and write it back lose one of
    the changes (four concurrent ``reef repo add`` left one repository), and an ``untrust`` can
    be undone by an ``add`` that read the list before it.
    """
    return file_lock(lock_path(), hint="the repository list is unchanged")


def repositories() -> list[Repository]:
    """Every repository, in priority order."""
    return [*_load_user(), builtin_repository()]


def get(name: str) -> Repository:
    for repo in repositories():
        if repo.name == name:
            return repo
    known = ", ".join(r.name for r in repositories())
    raise RepositoryError(f"no repository named {name!r}", hint=f"repositories: {known}")


def _default_name(location: str) -> str:
    tail = location.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removesuffix(".git") or "repo"


def _check_new_name(name: str, existing: list[Repository]) -> None:
    if any(r.name == name for r in existing):
        raise RepositoryError(
            f"a repository named {name!r} is already configured",
            hint="choose another --name, or `reef repo remove` it first",
        )


def add(
    location: str, *, name: str | None = None, trusted: bool = False, _reserved_ok: bool = False
) -> Repository:
    """Register a folder, a Reef server (an http(s) URL whose API answers as one), or clone
    a git repository; nothing is written if it fails."""
    from reef.components import remote

    server = remote.looks_like_server(location)
    name = name or (remote.default_name(location) if server else _default_name(location))
    if not _REPO_NAME.match(name):
        raise RepositoryError(
            f"{name!r} is not a valid repository name",
            hint="use letters, digits, '.', '_' and '-'; choose one with --name",
        )
    if name in RESERVED and not _reserved_ok:
        raise RepositoryError(f"the repository name {name!r} is reserved", hint="choose --name")
    # Checked before a clone is made, and again under the lock, where it counts.
    _check_new_name(name, _load_user())
    if server:
        return _add_server(Repository(name, "server", remote.base_url(location), trusted))
    folder = Path(location).expanduser()
    if folder.is_dir() and "://" not in location:
        repo = Repository(name, "folder", str(folder.resolve()), trusted)
        with locked():
            existing = _load_user()
            _check_new_name(name, existing)
            _save_user([*existing, repo])
        return repo
    if git.looks_like_git_url(location):
        return _add_clone(Repository(name, "git", location, trusted))
    raise RepositoryError(
        f"{location}: not a folder or a git URL (nor a Reef server's address)",
        hint="give an existing folder, a Reef server's address (https://host:port/), or a URL "
        "git understands (https://, ssh://, file://)",
    )


def _add_clone(repo: Repository) -> Repository:
    """Clone beside the destination, then rename it into place and register it under the lock:
    a failed clone leaves nothing, and a slow one does not hold up other commands."""
    return _add_staged(repo, lambda folder: git.clone(repo.location, folder))


def _add_server(repo: Repository) -> Repository:
    """Mirror the server's catalogue beside the destination, then rename it into place and
    register it under the lock, as a clone is: a failed sync leaves nothing."""
    from reef.components import remote

    return _add_staged(repo, lambda folder: remote.sync(repo, folder))


def _add_staged(repo: Repository, fill: Callable[[Path], object]) -> Repository:
    """``fill`` a staging folder beside ``repo.root`` (outside the lock: it may be slow), then
    rename it into place and register the repository under the lock."""
    dest = repo.root
    if dest.exists():
        raise RepositoryError(f"{dest} already exists", hint="remove it, or choose --name")
    from reef import owner

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Staging folders a killed `reef repo add` left behind.
        owner.sweep(dest.parent, "clone")
        staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=owner.staging_prefix("clone")))
    except OSError as exc:
        raise WriteFailed(dest.parent, reason(exc), hint="nothing was added") from exc
    try:
        fill(staging / "content")
        with locked():
            existing = _load_user()
            _check_new_name(repo.name, existing)
            if dest.exists():
                raise RepositoryError(f"{dest} already exists", hint="remove it, or choose --name")
            try:
                (staging / "content").rename(dest)
            except OSError as exc:
                raise WriteFailed(dest, reason(exc), hint="nothing was added") from exc
            try:
                _save_user([*existing, repo])
            except BaseException:
                shutil.rmtree(dest, ignore_errors=True)
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return repo


def ensure_installed() -> Repository:
    """The local repository that packs are installed into, created on first use."""
    with locked():
        for repo in _load_user():
            if repo.name == INSTALLED:
                return repo
        folder = config.installed_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteFailed(folder, reason(exc)) from exc
        return add(str(folder), name=INSTALLED, _reserved_ok=True)


def remove(name: str) -> Repository:
    """Forget a repository; a clone Reef made is deleted, a user's folder never is."""
    if name == BUILTIN:
        raise RepositoryError("the built-in repository cannot be removed")
    with locked():
        repos = _load_user()
        repo = next((r for r in repos if r.name == name), None)
        if repo is None:
            get(name)  # raises with the list of names
            raise AssertionError
        _save_user([r for r in repos if r.name != name])
        if repo.kind in ("git", "server"):
            shutil.rmtree(repo.root, ignore_errors=True)
        from reef.components.index import forget

        forget(name)
    return repo


def set_trusted(name: str, trusted: bool) -> Repository:
    if name == BUILTIN:
        raise RepositoryError("the built-in repository is always trusted")
    with locked():
        repos = _load_user()
        if not any(r.name == name for r in repos):
            get(name)
        updated = [
            Repository(r.name, r.kind, r.location, trusted) if r.name == name else r for r in repos
        ]
        _save_user(updated)
    return next(r for r in updated if r.name == name)


def pull(repo: Repository) -> None:
    """Bring a git clone, or a server's mirror, up to date; folders are read as they are.

    Under the lock, so that a ``reef repo remove`` cannot delete the clone while it is pulled.
    """
    if repo.kind in ("git", "server"):
        with locked():
            if any(r.name == repo.name for r in _load_user()):
                if repo.kind == "git":
                    git.pull(repo.root)
                else:
                    from reef.components import remote

                    remote.sync(repo)


_GENERATION = ".reef-generation"


def stamp(repo: Repository) -> str | None:
    """A value that changes whenever the repository's content does, when one is cheap to know:
    a git clone's checked-out commit, or the generation ``reef install`` (or a server's
    mirror) writes into the repository it manages. None for a user's folder: only its files
    can tell."""
    if repo.kind == "git":
        return git.head(repo.root)
    if repo.name == INSTALLED or repo.kind == "server":
        try:
            return (repo.root / _GENERATION).read_text().strip() or None
        except OSError:
            return None
    return None


def mark_changed(repo: Repository) -> None:
    """Record that Reef changed a repository it manages, so its index is refreshed."""
    import uuid

    write_atomic(repo.root / _GENERATION, uuid.uuid4().hex.encode())


def containing(path: Path) -> Repository | None:
    """The repository whose folder holds ``path``, if any (the most specific one)."""
    path = path.resolve()
    best: Repository | None = None
    for repo in repositories():
        root = repo.root.resolve()
        if path.is_relative_to(root) and (best is None or len(str(root)) > len(str(best.root))):
            best = repo
    return best
