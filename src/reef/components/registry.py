"""The component registry a Reef server keeps: published packs, and an index of them.

Everything lives in one folder, the server's data dir (``root``)::

    packs/<sha256>          every published pack, named by the sha256 of its bytes
    index/<name>.json       one file per component name: each published version's entry
    registry.lock           held while a publish or a yank changes the index

A pack is checked exactly as ``reef install`` checks one (``pack.unpack``: names, links,
devices, sizes, member counts, every member's sha256, the components' content hashes), into
a staging folder inside ``root`` that is removed afterwards; a pack that fails leaves ``root``
as it was. The pack's root component (its lock's ``root``) is what is published: its entry
holds the manifest, the content sha256 and the pack's sha256. The pack carries the
components it requires too, so that it installs on a machine without network.

A published version never changes: publishing the same name and version with other content
is refused (``VersionConflict``), with the same content it changes nothing. A version can be
yanked: it is no longer offered by ``search``, but its manifest and pack stay available, so
a lock that pins it still fetches it. Index files are JSON, written atomically (a reader never
sees half of one).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict

from reef import owner
from reef.components.lookup import ComponentNotFound
from reef.components.pack import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, PackError, unpack
from reef.errors import (
    EXIT_ENVIRONMENT,
    ComponentError,
    FileRefused,
    ManifestError,
    Problem,
    WriteFailed,
)
from reef.files import read_regular, reason, write_atomic
from reef.locking import file_lock

FORMAT_VERSION = 1
STAGING = "publish"  # root/.publish-<owner>-*: a pack being checked
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
_MAX_INDEX_BYTES = 64 << 20
_STORED_ONLY = ("manifest", "manifests")  # kept in the index, not part of an entry

PublishStatus = Literal["published", "unchanged"]


class VersionConflict(ComponentError):
    """A name and version already published with other content: published versions never
    change (HTTP 409)."""

    http_status = 409


class RegistryDamaged(ComponentError):
    """An index file of the registry that cannot be read: the server's fault (exit 3)."""

    exit_code = EXIT_ENVIRONMENT


class NotPublished(ComponentNotFound):
    """No such component, version or pack in the registry (HTTP 404)."""

    http_status = 404


class RegistryEntry(BaseModel):
    """One published component version."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    version: str
    description: str = ""
    tags: list[str] = []
    requires: list[str] = []  # component requirements, a model's dataset included
    python: list[str] = []
    sha256: str  # of the pack
    size: int  # of the pack, in bytes
    content_sha256: str  # of the component's files (see reef.components.content)
    published_at: str  # ISO 8601, UTC
    publisher: str
    yanked: bool = False
    yanked_at: str | None = None


class ComponentManifest(RegistryEntry):
    """A published version's entry with its manifest: the ``reef.yaml`` text as published,
    and in ``manifests`` every ``reef.yaml`` of its content by relative path (a model's own
    dataset folder holds one too)."""

    manifest: str
    manifests: dict[str, str] = {}


class Published(RegistryEntry):
    """What ``publish`` did: ``unchanged`` when the same content was already published."""

    status: PublishStatus


# -- paths -----------------------------------------------------------------------------------


def _index_file(root: Path, name: str) -> Path:
    if not _NAME.match(name):
        # A name that no manifest can have is never a path: a '../x' stays a name.
        raise NotPublished(f"no component named {name!r} is published")
    return root / "index" / f"{name}.json"


def pack_file(root: Path, sha256: str) -> Path:
    """Where the pack with this sha256 is kept (it may not exist)."""
    if not _SHA256.match(sha256):
        raise NotPublished(
            f"no pack with sha256 {sha256[:80]!r}", hint="a pack is named by the 64 hex digits"
        )
    return root / "packs" / sha256


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- reading ---------------------------------------------------------------------------------


def _read_index(root: Path, name: str) -> dict[str, dict[str, Any]]:
    """version -> stored entry (the manifest included) of ``name``; empty when unpublished."""
    path = _index_file(root, name)
    try:
        raw = read_regular(path, "registry index file", _MAX_INDEX_BYTES)
    except FileRefused as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            return {}
        raise
    try:
        data = json.loads(raw)
        versions: dict[str, dict[str, Any]] = data["versions"]
        if not isinstance(versions, dict):
            raise TypeError("versions is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryDamaged(
            f"{path}: the registry's index file cannot be read ({exc})",
            hint="restore it from a backup; the packs it lists are in packs/",
        ) from exc
    return versions


def _write_index(root: Path, name: str, versions: dict[str, dict[str, Any]]) -> None:
    data = {"format_version": FORMAT_VERSION, "name": name, "versions": versions}
    path = _index_file(root, name)
    try:
        write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
    except OSError as exc:
        raise WriteFailed(path, reason(exc), hint="the registry is unchanged") from exc


def _names(root: Path) -> list[str]:
    folder = root / "index"
    try:
        files = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    return [f[: -len(".json")] for f in files if f.endswith(".json") and _NAME.match(f[:-5])]


def _entry(data: dict[str, Any]) -> RegistryEntry:
    return RegistryEntry.model_validate({k: v for k, v in data.items() if k not in _STORED_ONLY})


def _version_key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        return Version("0")


def _by_version(entries: list[RegistryEntry]) -> list[RegistryEntry]:
    return sorted(entries, key=lambda e: _version_key(e.version))


def _older(version: str, than: str) -> bool:
    return _version_key(version) < _version_key(than)


def versions(root: Path, name: str) -> list[RegistryEntry]:
    """Every published version of ``name``, yanked ones included (marked), oldest first."""
    stored = _read_index(root, name)
    if not stored:
        raise NotPublished(
            f"no component named {name!r} is published", hint="search the registry by text"
        )
    return _by_version([_entry(v) for v in stored.values()])


def manifest(root: Path, name: str, version: str) -> ComponentManifest:
    """One published version, with its manifest (yanked versions too)."""
    stored = _read_index(root, name)
    data = stored.get(version)
    if data is None:
        known = ", ".join(e.version for e in _by_version([_entry(v) for v in stored.values()]))
        raise NotPublished(
            f"{name}@{version} is not published",
            hint=f"published versions: {known}" if known else "search the registry by text",
        )
    return ComponentManifest.model_validate(data)


def search(
    root: Path,
    text: str | None = None,
    *,
    kind: str | None = None,
    tags: list[str] | None = None,
    yanked: bool = False,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[RegistryEntry]:
    """Published versions whose name, description or tags contain ``text`` (any case), of
    ``kind``, carrying every tag of ``tags``; yanked ones only with ``yanked``. Sorted by
    name, newest version first; those after the version ``after`` (a name and a version) in
    that order, at most ``limit`` (a page: the names before ``after``'s are not read)."""
    needle = (text or "").lower()
    wanted = {t.lower() for t in tags or []}
    out: list[RegistryEntry] = []
    for name in _names(root):
        if after is not None and name < after[0]:
            continue
        if limit is not None and len(out) >= limit:
            break
        hits = []
        for data in _read_index(root, name).values():
            entry = _entry(data)
            if entry.yanked and not yanked:
                continue
            if kind is not None and entry.kind != kind:
                continue
            own = {t.lower() for t in entry.tags}
            if not wanted <= own:
                continue
            if needle and not (
                needle in entry.name.lower()
                or needle in entry.description.lower()
                or any(needle in t for t in own)
            ):
                continue
            hits.append(entry)
        newest_first = list(reversed(_by_version(hits)))
        if after is not None and name == after[0]:
            versions = [e.version for e in newest_first]
            start = versions.index(after[1]) + 1 if after[1] in versions else 0
            if after[1] not in versions:
                # The version the page ended on is gone (yanked, say): those older than it.
                older = [e for e in newest_first if _older(e.version, after[1])]
                start = len(newest_first) - len(older)
            newest_first = newest_first[start:]
        out.extend(newest_first)
    return out if limit is None else out[:limit]


def open_pack(root: Path, sha256: str) -> Path:
    """The published pack with this sha256; ``ComponentNotFound`` for anything else (a
    sha256 that is not 64 hex digits never becomes a path)."""
    path = pack_file(root, sha256)
    if not path.is_file() or path.is_symlink():
        raise NotPublished(f"no pack with sha256 {sha256}")
    return path


# -- writing ---------------------------------------------------------------------------------


def _lock(root: Path) -> contextlib.AbstractContextManager[None]:
    return file_lock(root / "registry.lock", hint="the registry is unchanged")


def _stage_upload(pack: bytes | Path, staging: Path) -> tuple[Path, str, int]:
    """The pack as a file inside ``staging``, its sha256 and size."""
    path = staging / "upload.reef.tar.gz"
    digest = hashlib.sha256()
    size = 0
    with path.open("xb") as out:
        if isinstance(pack, bytes):
            digest.update(pack)
            out.write(pack)
            size = len(pack)
        else:
            from reef.files import open_regular

            with open_regular(pack, "pack") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
    return path, digest.hexdigest(), size


def _root_entry(
    staging: Path, name: str, version: str, kind: str, content: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The index columns of the pack's root component, read from its staged manifest the way
    the component index reads one (a model's dataset is a requirement), and the text of every
    ``reef.yaml`` of its content by relative path."""
    from reef.components.content import component_files
    from reef.components.index import MANIFEST, entry_from_manifest
    from reef.components.repository import Repository

    folder = staging / "unpacked" / "components"
    rel = f"{name}/{version}/{MANIFEST}"
    where = f"{name}@{version}/{MANIFEST}"
    path = folder / rel
    if not path.is_file():
        raise PackError(f"the pack's component {name}@{version} has no {MANIFEST}")
    staged = Repository("registry", "folder", str(folder), trusted=False)
    entry = entry_from_manifest(staged, rel)
    if (entry.kind, entry.name, entry.version) != (kind, name, version):
        raise ManifestError(
            [
                Problem(
                    where,
                    "",
                    f"declares {entry.kind} {entry.name}@{entry.version}, but the pack's lock "
                    f"pins {kind} {name}@{version}",
                )
            ]
        )
    columns = {
        "kind": entry.kind,
        "name": entry.name,
        "version": entry.version,
        "description": entry.description,
        "tags": list(entry.tags),
        "requires": list(entry.requires),
        "python": list(entry.python),
        "content_sha256": content,
    }
    own = folder / name / version
    texts = {
        rel: (own / rel).read_text(encoding="utf-8")
        for rel in component_files(own)
        if rel == MANIFEST or rel.endswith("/" + MANIFEST)
    }
    return columns, texts


def publish(
    pack: bytes | Path,
    root: Path,
    publisher: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> Published:
    """Check ``pack`` as ``reef install`` would, then publish its root component.

    Refused (exit 2, ``root`` unchanged): a pack that fails any check, and a name and version
    already published with other content (``VersionConflict``). The same content published
    again changes nothing (status ``unchanged``).
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        owner.sweep(root, STAGING)  # what a killed server left half-checked
        staging = Path(tempfile.mkdtemp(dir=root, prefix=owner.staging_prefix(STAGING)))
    except OSError as exc:
        raise WriteFailed(root, reason(exc), hint="nothing was published") from exc
    try:
        upload, sha256, size = _stage_upload(pack, staging)
        (staging / "unpacked").mkdir()
        lock = unpack(upload, staging / "unpacked", max_bytes=max_bytes, max_files=max_files)
        top = lock.root_component
        columns, texts = _root_entry(staging, top.name, top.version, top.kind, top.sha256)
        with _lock(root):
            stored = _read_index(root, top.name)
            before = stored.get(top.version)
            if before is not None:
                if before["content_sha256"] != top.sha256:
                    raise VersionConflict(
                        f"{top.name}@{top.version} is already published with other content "
                        f"(content sha256 {before['content_sha256']}; this pack holds "
                        f"{top.sha256}), and a published version never changes",
                        hint="publish it under a new version",
                    )
                return Published.model_validate(
                    {k: v for k, v in before.items() if k not in _STORED_ONLY}
                    | {"status": "unchanged"}
                )
            data = columns | {
                "sha256": sha256,
                "size": size,
                "published_at": _now(),
                "publisher": publisher,
                "yanked": False,
                "yanked_at": None,
                "manifest": texts["reef.yaml"],
                "manifests": texts,
            }
            final = pack_file(root, sha256)
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                if not final.is_file():
                    os.replace(upload, final)
            except OSError as exc:
                raise WriteFailed(final, reason(exc), hint="nothing was published") from exc
            _write_index(root, top.name, {**stored, top.version: data})
        return Published.model_validate(
            {k: v for k, v in data.items() if k not in _STORED_ONLY} | {"status": "published"}
        )
    except OSError as exc:
        raise WriteFailed(root, reason(exc), hint="nothing was published") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def yank(root: Path, name: str, version: str) -> RegistryEntry:
    """Mark a published version yanked: ``search`` no longer offers it, its manifest and pack
    stay available. Yanking a yanked version changes nothing."""
    with _lock(root):
        stored = _read_index(root, name)
        data = stored.get(version)
        if data is None:
            manifest(root, name, version)  # raises, naming the published versions
            raise AssertionError
        if not data.get("yanked"):
            data = data | {"yanked": True, "yanked_at": _now()}
            _write_index(root, name, {**stored, version: data})
    return _entry(data)
