"""The component registry's verbs: ``publish`` packs a component and uploads it to a Reef
server; the ``registry_*`` verbs are what the server's REST routes call on its own registry
(``reef.components.registry``), kept in ``REEF_HOME/server/components`` unless a root is
given."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reef.components.registry import ComponentManifest, Published, RegistryEntry

REGISTRY_DIR = "components"


def registry_root(root: Path | None = None) -> Path:
    """The registry's folder: ``root``, else ``REEF_HOME/server/components``."""
    if root is not None:
        return root
    from reef.config import reef_home

    return reef_home() / "server" / REGISTRY_DIR


def registry_publish(
    pack: bytes | Path,
    *,
    publisher: str,
    root: Path | None = None,
    max_bytes: int | None = None,
    max_files: int | None = None,
) -> Published:
    """Publish a pack's root component, checked as ``reef install`` checks a pack; a version
    already published with other content is refused (``VersionConflict``), with the same
    content it changes nothing (status ``unchanged``)."""
    from reef.components import registry
    from reef.components.pack import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES

    return registry.publish(
        pack,
        registry_root(root),
        publisher,
        max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
        max_files=DEFAULT_MAX_FILES if max_files is None else max_files,
    )


def registry_search(
    text: str | None = None,
    *,
    kind: str | None = None,
    tags: list[str] | None = None,
    yanked: bool = False,
    root: Path | None = None,
) -> list[RegistryEntry]:
    """Published versions matching ``text`` (name, description, tags), ``kind`` and every
    tag of ``tags``; yanked ones only with ``yanked``."""
    from reef.components import registry

    return registry.search(registry_root(root), text, kind=kind, tags=tags, yanked=yanked)


def registry_versions(name: str, *, root: Path | None = None) -> list[RegistryEntry]:
    """Every published version of ``name``, oldest first, yanked ones marked."""
    from reef.components import registry

    return registry.versions(registry_root(root), name)


def registry_manifest(name: str, version: str, *, root: Path | None = None) -> ComponentManifest:
    """One published version with its manifest (a yanked one too)."""
    from reef.components import registry

    return registry.manifest(registry_root(root), name, version)


def registry_yank(name: str, version: str, *, root: Path | None = None) -> RegistryEntry:
    """Yank a published version: no longer offered, still downloadable by locks that pin it."""
    from reef.components import registry

    return registry.yank(registry_root(root), name, version)


def registry_pack_path(sha256: str, *, root: Path | None = None) -> Path:
    """The file of the published pack with this sha256 (``NotPublished`` otherwise)."""
    from reef.components import registry

    return registry.open_pack(registry_root(root), sha256)


def publish(
    component: str,
    server: str,
    token: str | None = None,
    *,
    progress: Any = None,
) -> Published:
    """Pack ``component`` (a name[@version], a folder or a lock, as ``reef pack`` takes) and
    upload it to the Reef server at ``server`` (``POST /api/v1/components``), with ``token``
    (else ``REEF_TOKEN``) as its bearer token; the server's answer."""
    from reef.api.components import pack
    from reef.components import remote
    from reef.components.registry import Published

    with tempfile.TemporaryDirectory(prefix="reef-publish-") as tmp:
        report = pack(component, Path(tmp), progress=progress)
        data = report.path.read_bytes()
    answer = remote.request(
        server,
        "POST",
        "/components",
        body=data,
        content_type="application/gzip",
        token=token,
        timeout_s=300,
    )
    return Published.model_validate(answer)
