"""The component verbs: repositories, search and show, locks, fetch, pack and install,
scaffolding. What they report is built in ``reef.components.details``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.components import details, repository
from reef.components.details import repo_info
from reef.components.lookup import search as find_matching
from reef.errors import ReefError
from reef.meta.component import KINDS

if TYPE_CHECKING:
    from reef.components.details import ComponentDetails, RepoInfo, SearchHit
    from reef.components.fetch import Fetched
    from reef.components.pack import InstallReport, PackReport
    from reef.components.shadow import Shadow
    from reef.meta.lock import Lock


def repo_add(location: str, *, name: str | None = None, trusted: bool = False) -> RepoInfo:
    """Register a folder or clone a git repository, and index it."""
    return repo_info(repository.add(location, name=name, trusted=trusted))


def repo_list() -> list[RepoInfo]:
    """The registered repositories, in priority order, each re-indexed."""
    return [repo_info(r) for r in repository.repositories()]


def repo_remove(name: str) -> RepoInfo:
    """Forget the repository ``name``: a clone Reef made is deleted, a user's folder never is."""
    return repo_info(repository.remove(name), indexed=False)


def repo_update(name: str | None = None) -> list[RepoInfo]:
    """Pull git repositories and re-index; reads only the manifests that changed."""
    repos = [repository.get(name)] if name else repository.repositories()
    out = []
    for repo in repos:
        repository.pull(repo)
        out.append(repo_info(repo))
    return out


def repo_trust(name: str, trusted: bool = True) -> RepoInfo:
    """Trust (or, with ``trusted=False``, stop trusting) the repository ``name`` to run its
    components' code."""
    return repo_info(repository.set_trusted(name, trusted))


def repo_trusted(name: str) -> bool:
    """Whether the repository ``name`` is trusted to run its components' code."""
    return repository.get(name).trusted


def search(
    text: str | None = None, *, kind: str | None = None, tags: list[str] | None = None
) -> list[SearchHit]:
    """Components matching ``text`` in name, description or tags, of ``kind``, with ``tags``."""
    if kind is not None and kind not in KINDS:
        raise ReefError(f"unknown kind {kind!r}", hint=f"kinds: {', '.join(KINDS)}")
    return [details.hit(e) for e in find_matching(text, kind=kind, tags=tags)]


def show(ref: str) -> ComponentDetails:
    """A component's manifest, with its repository, the other versions available and the
    absolute paths of its files."""
    return details.details(ref)


def lock_shadows(lock: Lock) -> list[Shadow]:
    """For each component a lock pins, the copies of the same version with other content
    that the locked one hides (an installed pack over a built-in component, say), or that
    hide it; each one's ``message`` is the warning."""
    return details.lock_shadows(lock)


def new(
    kind: str, name: str, directory: Path, *, version: str = "0.1.0", source: Path | None = None
) -> Path:
    """Scaffold a component that ``reef check`` accepts; returns its manifest. With
    ``source`` (a model file), the model is copied in and described from its signature."""
    from reef.components.scaffold import scaffold

    if source is None:
        return scaffold(kind, name, directory, version=version)
    if kind != "model":
        raise ReefError(f"--from describes a model file; a {kind} is scaffolded without it")
    from reef.bench.describe import model_files

    return scaffold(
        kind,
        name,
        directory,
        version=version,
        files=lambda n, v: model_files(source, n, v),
    )


def lock_for(target: str) -> Lock:
    """A lock file's contents, or ``target`` resolved now (nothing written)."""
    from reef.components.lockfile import lock_for as read_or_resolve

    return read_or_resolve(target)


def resolve(target: str, output: Path | None = None) -> Lock:
    """Resolve ``target`` and its requirements into one consistent set; write the lock to
    ``output`` when given. Returns the ``Lock``."""
    from reef.components.lockfile import write_lock
    from reef.components.resolve import resolve as resolve_target
    from reef.files import check_output

    if output is not None:
        check_output(output, "lock file")  # before the work: bad input changes nothing
    lock = resolve_target(target)
    if output is not None:
        write_lock(lock, output)
    return lock


def fetch(target: str, progress: Any = None) -> list[Fetched]:
    """Download and verify every source a lock (or ``target`` resolved now) needs."""
    from reef.components.fetch import fetch_lock

    return fetch_lock(lock_for(target), progress=progress)


def pack(target: str, output: Path | str | None = None, progress: Any = None) -> PackReport:
    """One ``.reef.tar.gz`` with ``target``, its resolved requirements and their sources.

    ``output`` is the file to write, or a folder to write ``NAME-VERSION.reef.tar.gz`` in: one
    that exists, or one to create when the path ends with a slash.
    """
    from reef.components.fetch import fetch_lock
    from reef.components.pack import pack as write_pack
    from reef.components.pack import pack_path

    lock = lock_for(target)
    out = pack_path(lock, output)  # refused before fetching: nothing is written then
    fetch_lock(lock, progress=progress)
    return write_pack(lock, out)


def install(
    pack_path: Path,
    *,
    force: bool = False,
    max_bytes: int | None = None,
    max_files: int | None = None,
) -> InstallReport:
    """Unpack a pack into the ``installed`` repository after verifying every checksum.

    The pack must be a regular file (``FileRefused``, exit 2); a write that fails under
    ``REEF_HOME`` (a full disk, a read-only file system) is ``WriteFailed`` (exit 3), and
    leaves what was installed before as it was."""
    from reef import config
    from reef.components import pack as packs
    from reef.errors import WriteFailed
    from reef.files import reason

    try:
        return packs.install(
            pack_path,
            force=force,
            max_bytes=packs.DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
            max_files=packs.DEFAULT_MAX_FILES if max_files is None else max_files,
        )
    except OSError as exc:
        where = exc.filename or config.reef_home()
        raise WriteFailed(
            where,
            reason(exc),
            hint="free some space, or make REEF_HOME writable, and install again",
        ) from exc
