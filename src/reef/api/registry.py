"""The component registry's verbs: ``publish`` packs a component and uploads it to a Reef
server; the ``registry_*`` verbs are what the server's REST routes call on its own registry
(``reef.components.registry``), kept in ``REEF_HOME/server/components`` unless a root is
given."""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reef.components.registry import RegistryEntry

if TYPE_CHECKING:
    from reef.components.registry import ComponentManifest, Published

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


class RegistryPage(BaseModel):
    """A page of published versions; ``next_cursor`` (None on the last page) asks for the
    next one."""

    components: list[RegistryEntry]
    next_cursor: str | None = None


DEFAULT_COMPONENTS_PAGE = 100
MAX_COMPONENTS_PAGE = 1000


def registry_page(
    text: str | None = None,
    *,
    kind: str | None = None,
    tags: list[str] | None = None,
    yanked: bool = False,
    limit: int = DEFAULT_COMPONENTS_PAGE,
    cursor: str | None = None,
    root: Path | None = None,
) -> RegistryPage:
    """``registry_search``, a page at a time: at most ``limit`` versions after ``cursor``
    (a page's ``next_cursor``; None: from the first). A cursor this server did not give is a
    ``CursorError``."""
    from reef.api.server import CursorError
    from reef.components import registry

    if not 1 <= limit <= MAX_COMPONENTS_PAGE:
        raise CursorError(f"limit: must be 1 to {MAX_COMPONENTS_PAGE}, not {limit}")
    after = _after(cursor) if cursor else None
    found = registry.search(
        registry_root(root),
        text,
        kind=kind,
        tags=tags,
        yanked=yanked,
        after=after,
        limit=limit + 1,
    )
    page, more = found[:limit], len(found) > limit
    last = page[-1] if page else None
    next_cursor = _cursor(last.name, last.version) if more and last is not None else None
    return RegistryPage(components=page, next_cursor=next_cursor)


def _cursor(name: str, version: str) -> str:
    raw = json.dumps([name, version], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _after(cursor: str) -> tuple[str, str]:
    from reef.api.server import CursorError

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, version = json.loads(raw.decode("utf-8"))
        if not (isinstance(name, str) and isinstance(version, str)):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise CursorError(
            "cursor: not one this server gave",
            hint="start from the first page (no cursor) and follow next_cursor",
        ) from None
    return name, version


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
