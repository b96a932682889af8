"""An index of every repository's components, so that search and lookup need not parse YAML.

The index is one SQLite file, ``REEF_HOME/index.db``, holding a row per ``reef.yaml`` with its
size and modification time. A git clone only changes through ``reef repo update`` and the
``installed`` repository only through ``reef install``: while their stamp (the checked-out
commit, the install generation) is the indexed one, their rows are used without walking.

A folder is the user's to edit, so every command checks it, without walking it: the index also
holds the change time of every folder the last walk entered. While those are the same, no
manifest was added, removed or renamed, and only a manifest whose own stamp changed (edited in
place) is read again; when a folder changed, the repository is walked, and still only the
manifests whose stamp changed are parsed. Search runs as a query, so it does not load the whole
index.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reef import config
from reef.components.repository import Repository, repositories
from reef.components.repository import stamp as repository_stamp
from reef.errors import ManifestError, Problem, ReefError, WriteFailed

MANIFEST = "reef.yaml"
# SQLite's user_version; another value means the file is rebuilt. 3: sources outside their
# component's folder are refused, so manifests indexed before must be read again.
INDEX_FORMAT = 3
_SKIP_DIRS = {"__pycache__", "node_modules"}
_COLUMNS = "kind, name, version, path, description, tags, requires, python"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS repos (name TEXT PRIMARY KEY, root TEXT NOT NULL, head TEXT);
CREATE TABLE IF NOT EXISTS manifests (
    repo TEXT NOT NULL,
    path TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    problem TEXT,
    kind TEXT, name TEXT, version TEXT, description TEXT,
    tags TEXT, requires TEXT, python TEXT,
    PRIMARY KEY (repo, path)
);
CREATE INDEX IF NOT EXISTS manifests_by_name ON manifests (name);
-- What a folder repository looked like when last indexed, to tell in one read whether it
-- changed: its folders' and manifests' paths (the folders first, NUL-separated) and their
-- stamps (int64: each folder's change time, then each manifest's mtime and size).
CREATE TABLE IF NOT EXISTS snapshots (
    repo TEXT PRIMARY KEY,
    folders INTEGER NOT NULL,
    paths TEXT NOT NULL,
    stamps BLOB NOT NULL
);
"""
# A folder changed less than this before the walk that recorded it may change again within
# the same tick of a coarse file-system clock (a second or two on some): it is recorded as
# changed, so that the next command walks it again.
_RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class Entry:
    """One component version in one repository."""

    repository: str
    kind: str
    name: str
    version: str
    path: str  # the manifest, relative to the repository's folder
    description: str = ""
    tags: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()  # component requirements, the model's dataset included
    python: tuple[str, ...] = ()
    root: str = ""  # the repository's folder
    trusted: bool = False

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def manifest_path(self) -> Path:
        return Path(self.root) / self.path

    @property
    def directory(self) -> Path:
        return self.manifest_path.parent

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["manifest"] = str(self.manifest_path)
        return data


@dataclass
class RepositoryIndex:
    repository: Repository
    entries: list[Entry] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)  # manifest path -> first problem
    parsed: int = 0  # manifests read by the last refresh


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != INDEX_FORMAT:
            db.executescript(
                "DROP TABLE IF EXISTS manifests; DROP TABLE IF EXISTS repos; "
                "DROP TABLE IF EXISTS snapshots;"
            )
            db.execute(f"PRAGMA user_version = {INDEX_FORMAT}")
        db.executescript(_SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


_SCRATCH: ContextVar[bool] = ContextVar("reef_index_scratch", default=False)


@contextlib.contextmanager
def scratch() -> Iterator[None]:
    """Within this block the index is kept in memory only, for commands that promise to write
    nothing (``reef init --dry-run``): each lookup then reads the manifests afresh."""
    token = _SCRATCH.set(True)
    try:
        yield
    finally:
        _SCRATCH.reset(token)


def in_scratch() -> bool:
    """Whether the command promised to write nothing (within ``scratch()``)."""
    return _SCRATCH.get()


def _writable(path: Path) -> bool:
    """Whether the index can be kept on disk: its folder (made if missing) and the file can be
    written. ``os.access`` answers for root too on a read-only mount."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


@contextlib.contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    path = config.index_dir() / "index.db"
    if _SCRATCH.get() or not _writable(path):
        # A dry run, or a read-only REEF_HOME: the index is only a cache of the repositories,
        # so it is built in memory and every command that reads components still works.
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.executescript(_SCHEMA)
        try:
            yield db
        finally:
            db.close()
        return
    try:
        db = _open(path)
    except sqlite3.OperationalError as exc:
        raise _disk_failed(path, exc) from exc
    except sqlite3.DatabaseError:
        # A damaged index is rebuilt.
        path.unlink(missing_ok=True)
        db = _open(path)
    try:
        yield db
    except sqlite3.OperationalError as exc:
        raise _disk_failed(path, exc) from exc
    finally:
        db.close()


def _disk_failed(path: Path, exc: sqlite3.OperationalError) -> Exception:
    """SQLite's "database or disk is full" and its kind, as one line (exit 3); any other
    operational error is a bug, left as it is."""
    text = str(exc)
    if any(k in text for k in ("disk is full", "disk I/O error", "readonly", "unable to open")):
        return WriteFailed(path, f"the component index cannot be updated ({text})")
    return exc


def _walk(
    root: Path, folders: dict[str, int] | None = None
) -> Iterator[tuple[str, os.stat_result]]:
    """Every ``reef.yaml`` under ``root`` (hidden folders skipped), with its stat.

    ``folders`` receives every folder entered, relative to ``root`` ('' for itself), with its
    change time taken before it is listed (-1 when too recent to be trusted: ``_RACY_NS``)."""
    since = time.time_ns() - _RACY_NS

    def stamp(rel: str, st: os.stat_result) -> None:
        if folders is not None:
            folders[rel] = st.st_ctime_ns if st.st_ctime_ns < since else -1

    try:
        stamp("", os.stat(root))
    except OSError:
        return
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            it = os.scandir(folder)
        except OSError:
            continue
        with it:
            for item in it:
                if item.is_dir(follow_symlinks=False):
                    if not item.name.startswith(".") and item.name not in _SKIP_DIRS:
                        if folders is not None:
                            rel = os.path.relpath(item.path, root).replace(os.sep, "/")
                            try:
                                stamp(rel, item.stat(follow_symlinks=False))
                            except OSError:
                                continue
                        stack.append(item.path)
                elif item.name == MANIFEST and item.is_file(follow_symlinks=False):
                    rel = os.path.relpath(item.path, root).replace(os.sep, "/")
                    yield rel, item.stat(follow_symlinks=False)


@dataclass
class _Snapshot:
    folders: list[str]  # relative to the repository's folder, '' for itself
    manifests: list[str]
    stamps: list[int]  # each folder's ctime_ns (-1: to be walked), each manifest's mtime, size


def _read_snapshot(db: sqlite3.Connection, repo: Repository) -> _Snapshot | None:
    row = db.execute(
        "SELECT folders, paths, stamps FROM snapshots WHERE repo = ?", (repo.name,)
    ).fetchone()
    if row is None:
        return None
    count, paths, blob = row
    stamps = array.array("q")
    stamps.frombytes(blob)
    names = paths.split("\0") if paths else []
    if len(stamps) != count + 2 * (len(names) - count):
        return None
    return _Snapshot(names[:count], names[count:], stamps.tolist())


def _save_snapshot(
    db: sqlite3.Connection,
    repo: Repository,
    folders: dict[str, int],
    manifests: dict[str, tuple[int, int]],
) -> None:
    stamps = array.array("q", folders.values())
    for mtime, size in manifests.values():
        stamps.extend((mtime, size))
    db.execute(
        "INSERT OR REPLACE INTO snapshots (repo, folders, paths, stamps) VALUES (?, ?, ?, ?)",
        (repo.name, len(folders), "\0".join([*folders, *manifests]), stamps.tobytes()),
    )


def _edited(root: Path, snapshot: _Snapshot) -> list[tuple[str, os.stat_result]] | None:
    """The manifests edited in place since the snapshot, when no folder changed since (every
    file added, removed or renamed changes its folder's change time); None when one did.

    A stat of each folder and each manifest, relative to an open ``root``: a couple of
    microseconds each, where listing a folder costs tens."""
    if not snapshot.folders:
        return None
    fd: int | None = None
    if os.stat in os.supports_dir_fd:
        try:
            fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return None
    prefix = "" if fd is not None else str(root) + os.sep
    lstat = os.stat
    try:
        found = [
            lstat(prefix + (p or "."), dir_fd=fd, follow_symlinks=False) for p in snapshot.folders
        ]
        count = len(found)
        # The same change time is the same folder: anything put in its place since, a file
        # or a link included, was made at least _RACY_NS after it.
        if [st.st_ctime_ns for st in found] != snapshot.stamps[:count]:
            return None
        found = [lstat(prefix + p, dir_fd=fd, follow_symlinks=False) for p in snapshot.manifests]
    except OSError:
        return None  # gone, or unreadable: the walk finds out which
    finally:
        if fd is not None:
            os.close(fd)
    now = [n for st in found for n in (st.st_mtime_ns, st.st_size)]
    if now == snapshot.stamps[count:]:
        return []
    edited = []
    for i, st in enumerate(found):
        if now[2 * i : 2 * i + 2] != snapshot.stamps[count + 2 * i : count + 2 * i + 2]:
            if not stat.S_ISREG(st.st_mode):
                return None
            edited.append((snapshot.manifests[i], st))
    return edited


def _read_manifest(root: Path, rel: str) -> tuple[Any, ...]:
    """The indexed columns of one manifest (``_COLUMNS`` order)."""
    # Imported here: they bring pydantic, which a search of an unchanged index never needs.
    from reef.components.checksums import check_source_paths
    from reef.meta.component import split_requirement
    from reef.meta.load import load_manifest
    from reef.meta.model import ModelManifest

    path = root / rel
    manifest = load_manifest(path)
    requires = list(manifest.requires)
    if isinstance(manifest, ModelManifest) and manifest.dataset:
        # A model's dataset is a requirement too, unless it is a folder inside the model's.
        folder = (path.parent / manifest.dataset).resolve()
        inside = folder.is_relative_to(path.parent.resolve())
        if not (inside and (folder / MANIFEST).is_file()):
            try:
                dataset = split_requirement(manifest.dataset)[0]
            except ValueError as exc:
                raise ManifestError(
                    [
                        Problem(
                            str(path),
                            "dataset",
                            f"{manifest.dataset!r} is neither a dataset component "
                            "nor a folder inside the model's folder",
                        )
                    ]
                ) from exc
            if dataset not in {split_requirement(r)[0] for r in requires}:
                requires.append(manifest.dataset)
    columns = (
        manifest.kind,
        manifest.name,
        manifest.version,
        rel,
        manifest.description,
        json.dumps(manifest.tags, ensure_ascii=False),
        json.dumps(requires),
        json.dumps(manifest.python),
    )
    try:
        # As for a dataset above: a component is what its folder holds, and only that is packed.
        check_source_paths(getattr(manifest, "sources", ()), path)
    except ManifestError as exc:
        raise _Refused(exc, columns) from exc
    return columns


class _Refused(ManifestError):
    """A manifest that is valid but may not be used; its columns are kept with the problem, so
    that asking for the component by name says why it was refused, not that it is unknown."""

    def __init__(self, error: ManifestError, columns: tuple[Any, ...]) -> None:
        super().__init__(error.problems, error.hint)
        self.columns = columns


def _entry(repo: Repository, root: str, row: tuple[Any, ...]) -> Entry:
    """An entry from the indexed columns (``_COLUMNS`` order)."""
    kind, name, version, path, description, tags, requires, python = row
    return Entry(
        repository=repo.name,
        kind=kind,
        name=name,
        version=version,
        path=path,
        description=description,
        tags=tuple(json.loads(tags)),
        requires=tuple(json.loads(requires)),
        python=tuple(json.loads(python)),
        root=root,
        trusted=repo.trusted,
    )


def entry_from_manifest(repo: Repository, rel: str) -> Entry:
    """Read one manifest the way the index does (implied requirements included)."""
    return _entry(repo, str(repo.root), _read_manifest(repo.root, rel))


def _sync(db: sqlite3.Connection, repo: Repository, force: bool) -> int:
    """Bring one repository's rows up to date; the number of manifests parsed."""
    root = repo.root
    head = repository_stamp(repo)
    row = db.execute("SELECT root, head FROM repos WHERE name = ?", (repo.name,)).fetchone()
    fresh = row is not None and row[0] == str(root) and not force
    if fresh and head is not None and row[1] == head:
        return 0
    snapshot = _read_snapshot(db, repo) if fresh and head is None else None
    listing: Iterable[tuple[str, os.stat_result]] | None = None
    if snapshot is not None:
        listing = _edited(root, snapshot)
        if listing == []:
            return 0  # nothing changed

    known: dict[str, tuple[int, int]] = {}
    if fresh:
        for path, mtime, size in db.execute(
            "SELECT path, mtime_ns, size FROM manifests WHERE repo = ?", (repo.name,)
        ):
            known[path] = (mtime, size)
    folders: dict[str, int] | None = None
    if listing is None:
        # A folder changed, or the repository's stamp did: walk it all.
        folders = {} if head is None else None
        listing = _walk(root, folders)
        after: dict[str, tuple[int, int]] = {}
    else:
        after = dict(known)  # only edited in place: nothing was added or removed
    changed: list[tuple[Any, ...]] = []
    for rel, st in listing:
        stamp = (st.st_mtime_ns, st.st_size)
        after[rel] = stamp
        if known.get(rel) == stamp:
            continue
        try:
            columns: tuple[Any, ...] = (None, *_read_manifest(root, rel))
        except _Refused as exc:
            columns = (str(exc.problems[0]), *exc.columns)
        except ManifestError as exc:
            problem = str(exc.problems[0]) if exc.problems else exc.message
            columns = (problem, None, None, None, rel, None, None, None, None)
        except ReefError as exc:
            columns = (exc.message, None, None, None, rel, None, None, None, None)
        except (ValueError, OSError) as exc:
            # One manifest that cannot be read must not stop every command.
            columns = (f"{rel}: {exc}", None, None, None, rel, None, None, None, None)
        changed.append((repo.name, *stamp, *columns))
    gone = [(repo.name, p) for p in known.keys() - after.keys()]
    if snapshot is not None and folders is None:
        folders = dict(zip(snapshot.folders, snapshot.stamps, strict=False))
    if changed or gone or not fresh or (row is not None and row[1] != head) or folders:
        db.execute("BEGIN IMMEDIATE")
        try:
            if not fresh:
                db.execute("DELETE FROM manifests WHERE repo = ?", (repo.name,))
            db.executemany("DELETE FROM manifests WHERE repo = ? AND path = ?", gone)
            db.executemany(
                "INSERT OR REPLACE INTO manifests (repo, mtime_ns, size, problem, "
                f"{_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                changed,
            )
            db.execute("DELETE FROM snapshots WHERE repo = ?", (repo.name,))
            if folders:
                _save_snapshot(db, repo, folders, after)
            db.execute(
                "INSERT OR REPLACE INTO repos (name, root, head) VALUES (?, ?, ?)",
                (repo.name, str(root), head),
            )
            db.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (a full disk): then there is
            # nothing to roll back, and the error that says why must not be lost.
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return len(changed)


def _invalid(db: sqlite3.Connection, repo: Repository) -> dict[str, str]:
    rows = db.execute(
        "SELECT path, problem FROM manifests WHERE repo = ? AND problem IS NOT NULL", (repo.name,)
    )
    return dict(rows.fetchall())


def _entries(
    db: sqlite3.Connection, repos: list[Repository], where: str = "", params: tuple[Any, ...] = ()
) -> list[Entry]:
    """Valid rows of ``repos`` (in their priority order) that match ``where``."""
    out: list[Entry] = []
    for repo in repos:
        root = str(repo.root)  # computed once: it resolves REEF_HOME
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM manifests WHERE repo = ? AND problem IS NULL {where} "
            "ORDER BY path",
            (repo.name, *params),
        )
        out.extend(_entry(repo, root, row) for row in rows)
    return out


def refresh(repo: Repository, *, force: bool = False) -> RepositoryIndex:
    """The repository's index, brought up to date; reads only the manifests that changed."""
    with _connect() as db:
        parsed = _sync(db, repo, force)
        return RepositoryIndex(repo, _entries(db, [repo]), _invalid(db, repo), parsed)


def forget(name: str) -> None:
    """Drop a repository's rows (it was removed)."""
    with _connect() as db:
        db.execute("DELETE FROM manifests WHERE repo = ?", (name,))
        db.execute("DELETE FROM snapshots WHERE repo = ?", (name,))
        db.execute("DELETE FROM repos WHERE name = ?", (name,))


def query(
    *,
    name: str | None = None,
    kind: str | None = None,
    text: str | None = None,
    tags: list[str] | None = None,
    repos: list[Repository] | None = None,
) -> list[Entry]:
    """Up-to-date entries, filtered in the index: exact ``name`` and ``kind``, ``text`` in the
    name, description or tags (any case), and every tag of ``tags``; in priority order."""
    repos = repositories() if repos is None else repos
    where, params = "", []
    if name is not None:
        where += " AND name = ?"
        params.append(name)
    if kind is not None:
        where += " AND kind = ?"
        params.append(kind)
    # LIKE folds the case of ASCII letters as lower() does (and, like it, no other), without
    # a lower-cased copy of every row: half the time of instr(lower(...)) over 10,000 rows.
    like = "LIKE ? ESCAPE '\\'"
    if text:
        where += f" AND (name {like} OR description {like} OR tags {like})"
        params += [_contains(text.lower())] * 3
    for tag in tags or []:
        where += f" AND tags {like}"
        params.append(_contains(json.dumps(tag.lower(), ensure_ascii=False)))
    with _connect() as db:
        for repo in repos:
            _sync(db, repo, force=False)
        hits = _entries(db, repos, where, tuple(params))
    wanted = {t.lower() for t in tags or []}
    # LIKE on the JSON text can match inside a longer tag; the exact check is cheap here.
    return [e for e in hits if wanted <= {t.lower() for t in e.tags}]


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def invalid_counts(repos: list[Repository] | None = None) -> dict[str, int]:
    """How many manifests of each repository were skipped as invalid (as last indexed)."""
    names = [r.name for r in (repositories() if repos is None else repos)]
    with _connect() as db:
        rows = db.execute(
            "SELECT repo, count(*) FROM manifests WHERE problem IS NOT NULL GROUP BY repo"
        ).fetchall()
    return {repo: n for repo, n in rows if repo in names}


def refused(name: str, repos: list[Repository] | None = None) -> list[str]:
    """Why each manifest of a component named ``name`` was refused though it parsed (as last
    indexed), in repository priority order."""
    repos = repositories() if repos is None else repos
    order = {r.name: i for i, r in enumerate(repos)}
    with _connect() as db:
        rows = db.execute(
            "SELECT repo, problem FROM manifests WHERE name = ? AND problem IS NOT NULL", (name,)
        ).fetchall()
    hits = sorted((order[repo], problem) for repo, problem in rows if repo in order)
    return [problem for _, problem in hits]


def catalog(repos: list[Repository] | None = None) -> list[Entry]:
    """Every component version of every repository, in repository priority order."""
    return query(repos=repos)
