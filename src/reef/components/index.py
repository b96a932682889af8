"""An index of each repository's components, so that search and lookup need not parse YAML.

Each repository's index lives in ``REEF_HOME/index/<name>.json`` and remembers, for every
``reef.yaml``, its size and modification time: a refresh walks the folder but parses only the
manifests that changed. A git clone only changes through ``reef repo update``, so while its
checked-out commit is the one indexed, the index is used without walking at all.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reef import config
from reef.components import git
from reef.components.files import write_atomic
from reef.components.repository import BUILTIN, Repository, repositories
from reef.errors import ReefError
from reef.meta.component import split_requirement

MANIFEST = "reef.yaml"
INDEX_FORMAT = 1
_SKIP_DIRS = {"__pycache__", "node_modules"}


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


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every ``reef.yaml`` under ``root`` (hidden folders skipped), with its stat."""
    stack = [root]
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
                        stack.append(Path(item.path))
                elif item.name == MANIFEST and item.is_file(follow_symlinks=False):
                    yield os.path.relpath(item.path, root), item.stat(follow_symlinks=False)


def _entry_from_manifest(repo: Repository, rel: str) -> Entry:
    from reef.meta.load import load_manifest
    from reef.meta.model import ModelManifest

    path = repo.root / rel
    manifest = load_manifest(path)
    requires = list(manifest.requires)
    if isinstance(manifest, ModelManifest) and manifest.dataset:
        named = {split_requirement(r)[0] for r in requires}
        local = (path.parent / manifest.dataset / MANIFEST).is_file()
        if not local and split_requirement(manifest.dataset)[0] not in named:
            requires.append(manifest.dataset)
    return Entry(
        repository=repo.name,
        kind=manifest.kind,
        name=manifest.name,
        version=manifest.version,
        path=rel,
        description=manifest.description,
        tags=tuple(manifest.tags),
        requires=tuple(requires),
        python=tuple(manifest.python),
    )


def _index_file(repo: Repository) -> Path:
    return config.index_dir() / f"{repo.name}.json"


def _read_stored(repo: Repository) -> dict[str, Any]:
    if repo.name == BUILTIN:
        return {}
    try:
        data = json.loads(_index_file(repo).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if data.get("format") != INDEX_FORMAT or data.get("root") != str(repo.root):
        return {}
    return data if isinstance(data, dict) else {}


def _finish(repo: Repository, raw: list[dict[str, Any]]) -> list[Entry]:
    out = []
    for e in raw:
        e = dict(e, root=str(repo.root), trusted=repo.trusted, repository=repo.name)
        e["tags"], e["requires"], e["python"] = (
            tuple(e["tags"]),
            tuple(e["requires"]),
            tuple(e["python"]),
        )
        out.append(Entry(**e))
    return out


def refresh(repo: Repository, *, force: bool = False) -> RepositoryIndex:
    """The repository's index, brought up to date; reads only the manifests that changed."""
    from reef.errors import ManifestError

    stored = {} if force else _read_stored(repo)
    head = git.head(repo.root) if repo.kind == "git" else None
    if stored and head is not None and stored.get("head") == head:
        return RepositoryIndex(repo, _finish(repo, stored["entries"]), stored.get("invalid", {}))

    old_files: dict[str, list[int]] = stored.get("files", {})
    old_entries = {e["path"]: e for e in stored.get("entries", [])}
    old_invalid: dict[str, str] = stored.get("invalid", {})
    files: dict[str, list[int]] = {}
    entries: list[dict[str, Any]] = []
    invalid: dict[str, str] = {}
    parsed = 0
    for rel, st in _walk(repo.root):
        stamp = [st.st_mtime_ns, st.st_size]
        files[rel] = stamp
        if old_files.get(rel) == stamp:
            if rel in old_entries:
                entries.append(old_entries[rel])
                continue
            if rel in old_invalid:
                invalid[rel] = old_invalid[rel]
                continue
        parsed += 1
        try:
            entry = _entry_from_manifest(repo, rel)
        except ManifestError as exc:
            invalid[rel] = str(exc.problems[0]) if exc.problems else exc.message
            continue
        except ReefError as exc:
            invalid[rel] = exc.message
            continue
        data = asdict(entry)
        del data["root"], data["trusted"], data["repository"]
        entries.append(data)
    entries.sort(key=lambda e: e["path"])
    changed = parsed > 0 or files.keys() != old_files.keys() or stored.get("head") != head
    if repo.name != BUILTIN and (changed or not stored):
        payload = {
            "format": INDEX_FORMAT,
            "root": str(repo.root),
            "head": head,
            "files": files,
            "entries": entries,
            "invalid": invalid,
        }
        # An index that cannot be saved is rebuilt next time; not worth failing over.
        with contextlib.suppress(OSError):
            write_atomic(_index_file(repo), json.dumps(payload).encode())
    return RepositoryIndex(repo, _finish(repo, entries), invalid, parsed)


def catalog(repos: list[Repository] | None = None) -> list[Entry]:
    """Every component version of every repository, in repository priority order."""
    return [e for repo in (repos or repositories()) for e in refresh(repo).entries]
