"""An index of every repository's components, so that search and lookup need not parse YAML.

The index is one SQLite file, ``REEF_HOME/index.db``, holding a row per ``reef.yaml`` with its
size and modification time. A refresh walks a folder repository but parses only the manifests
whose stamp changed. A git clone only changes through ``reef repo update`` and the
``installed`` repository only through ``reef install``: while their stamp (the checked-out
commit, the install generation) is the indexed one, their rows are used without walking. Search runs
as a query, so it does not load the whole index.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reef import config
from reef.components.checksums import check_source_paths
from reef.components.repository import Repository, repositories
from reef.components.repository import stamp as repository_stamp
from reef.errors import ManifestError, Problem, ReefError, WriteFailed
from reef.meta.component import split_requirement

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
"""


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
            db.executescript("DROP TABLE IF EXISTS manifests; DROP TABLE IF EXISTS repos;")
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


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every ``reef.yaml`` under ``root`` (hidden folders skipped), with its stat."""
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
                        stack.append(item.path)
                elif item.name == MANIFEST and item.is_file(follow_symlinks=False):
                    rel = os.path.relpath(item.path, root).replace(os.sep, "/")
                    yield rel, item.stat(follow_symlinks=False)


def _read_manifest(root: Path, rel: str) -> tuple[Any, ...]:
    """The indexed columns of one manifest (``_COLUMNS`` order)."""
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
            except ValueError:
                raise ManifestError(
                    [
                        Problem(
                            str(path),
                            "dataset",
                            f"{manifest.dataset!r} is neither a dataset component "
                            "nor a folder inside the model's folder",
                        )
                    ]
                ) from None
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
        raise _Refused(exc, columns) from None
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


def _sync(db: sqlite3.Connection, repo: Repository, force: bool) -> tuple[int, dict[str, str]]:
    """Bring one repository's rows up to date: (manifests parsed, invalid manifests)."""
    root = repo.root
    head = repository_stamp(repo)
    row = db.execute("SELECT root, head FROM repos WHERE name = ?", (repo.name,)).fetchone()
    fresh = row is not None and row[0] == str(root) and not force
    if fresh and head is not None and row[1] == head:
        return 0, _invalid(db, repo)

    known: dict[str, tuple[int, int]] = {}
    if fresh:
        for path, mtime, size in db.execute(
            "SELECT path, mtime_ns, size FROM manifests WHERE repo = ?", (repo.name,)
        ):
            known[path] = (mtime, size)
    seen: set[str] = set()
    changed: list[tuple[Any, ...]] = []
    for rel, st in _walk(root):
        seen.add(rel)
        stamp = (st.st_mtime_ns, st.st_size)
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
    gone = [(repo.name, p) for p in known.keys() - seen]
    if changed or gone or not fresh or (row is not None and row[1] != head):
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
    return len(changed), _invalid(db, repo)


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
        parsed, invalid = _sync(db, repo, force)
        return RepositoryIndex(repo, _entries(db, [repo]), invalid, parsed)


def forget(name: str) -> None:
    """Drop a repository's rows (it was removed)."""
    with _connect() as db:
        db.execute("DELETE FROM manifests WHERE repo = ?", (name,))
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
    if text:
        where += (
            " AND (instr(lower(name), ?) OR instr(lower(description), ?) OR instr(lower(tags), ?))"
        )
        params += [text.lower()] * 3
    for tag in tags or []:
        where += " AND instr(lower(tags), ?)"
        params.append(json.dumps(tag.lower(), ensure_ascii=False))
    with _connect() as db:
        for repo in repos:
            _sync(db, repo, force=False)
        hits = _entries(db, repos, where, tuple(params))
    wanted = {t.lower() for t in tags or []}
    # instr() on the JSON text can match inside a longer tag; the exact check is cheap here.
    return [e for e in hits if wanted <= {t.lower() for t in e.tags}]


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
