"""What the component verbs report, built from the repositories and their indexes: a
repository and what its index holds (``RepoInfo``), a search hit (``SearchHit``), a
component's details (``ComponentDetails``) and the copies a lock's components shadow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from packaging.version import Version
from pydantic import (
    BaseModel,
    Field,
    SerializationInfo,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from reef.components.index import catalog, query, refresh
from reef.components.lookup import find, shadowing
from reef.components.shadow import Shadow
from reef.meta.component import ComponentBase

if TYPE_CHECKING:
    from reef.components.index import Entry
    from reef.components.repository import Repository
    from reef.meta.lock import Lock

__all__ = [
    "ComponentDetails",
    "ComponentVersion",
    "RepoInfo",
    "SearchHit",
    "details",
    "hit",
    "lock_shadows",
    "repo_info",
]


class RepoInfo(BaseModel):
    """A registered component repository, and what its index holds."""

    name: str
    kind: str
    location: str
    root: str
    trusted: bool
    components: int
    invalid: dict[str, str]
    parsed: int = 0  # manifests read by the refresh that produced this


class SearchHit(BaseModel):
    """One component version found by ``search``, in one repository."""

    repository: str
    kind: str
    name: str
    version: str
    path: str  # the manifest, relative to the repository's folder
    description: str = ""
    tags: list[str] = []
    requires: list[str] = []  # component requirements, the model's dataset included
    python: list[str] = []
    root: str = ""  # the repository's folder
    trusted: bool = False
    manifest: str  # the manifest's absolute path


class ComponentVersion(BaseModel):
    """One version of a component, and the repository that holds it."""

    version: str
    repository: str


class ComponentDetails(BaseModel):
    """A component's manifest, with where it is: its repository, manifest file, the absolute
    paths of its files, the versions of it available, and the copies it shadows.

    Its JSON (``model_dump``) is one flat mapping, as ``reef show --json`` prints it: the
    manifest's fields as written, then the others; ``shadows`` only when there are some.
    """

    manifest: SerializeAsAny[ComponentBase] = Field(exclude=True)  # laid out flat, below
    repository: str
    trusted: bool
    path: str  # the manifest file
    files: list[str]
    versions: list[ComponentVersion]
    shadows: list[Shadow] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _flat(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        where: dict[str, Any] = handler(self)
        if not self.shadows:
            where.pop("shadows", None)
        return self.manifest.model_dump(mode=info.mode, exclude_none=True) | where


def repo_info(repo: Repository, *, indexed: bool = True) -> RepoInfo:
    """What ``reef repo`` says about a repository; ``indexed`` refreshes its index first."""
    index = refresh(repo) if indexed else None
    return RepoInfo(
        name=repo.name,
        kind=repo.kind,
        location=repo.location,
        root=str(repo.root),
        trusted=repo.trusted,
        components=len(index.entries) if index else 0,
        invalid=index.invalid if index else {},
        parsed=index.parsed if index else 0,
    )


def hit(e: Entry) -> SearchHit:
    """An index entry as ``search`` reports it."""
    return SearchHit(
        repository=e.repository,
        kind=e.kind,
        name=e.name,
        version=e.version,
        path=e.path,
        description=e.description,
        tags=list(e.tags),
        requires=list(e.requires),
        python=list(e.python),
        root=e.root,
        trusted=e.trusted,
        manifest=str(e.manifest_path),
    )


def details(ref: str) -> ComponentDetails:
    """The component ``ref`` selects: its manifest, repository, the other versions available
    and the absolute paths of its files."""
    from reef.meta.load import load_manifest

    entries = catalog()
    entry = find(ref, entries=entries)
    manifest = load_manifest(entry.manifest_path)
    others = [e for e in entries if e.name == entry.name and e.kind == entry.kind]
    return ComponentDetails(
        manifest=manifest,
        repository=entry.repository,
        trusted=entry.trusted,
        path=str(entry.manifest_path),
        files=[
            str((entry.directory / s.path).resolve())
            for s in manifest.sources
            if s.path is not None and s.package is None
        ],
        versions=[
            ComponentVersion(version=e.version, repository=e.repository)
            for e in sorted(others, key=lambda e: Version(e.version))
        ],
        # The copy shown is the first of its version (``find`` takes it), the one that shadows.
        shadows=shadowing(entry.kind, entry.name, entry.version, others),
    )


def lock_shadows(lock: Lock) -> list[Shadow]:
    """For each component a lock pins, the copies of the same version with other content
    that the locked one hides (an installed pack over a built-in component, say), or that
    hide it; each one's ``message`` is the warning."""
    out = []
    for c in lock.components:
        out.extend(shadowing(c.kind, c.name, c.version, query(name=c.name)))
    return out
