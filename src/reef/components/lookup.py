"""Finding components across repositories: by reference, and by text, kind and tags."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from reef.components.index import Entry, catalog, invalid_counts, query, refused
from reef.errors import ComponentError, ReefError

if TYPE_CHECKING:
    from reef.components.shadow import Shadow


class ComponentNotFound(ComponentError):
    pass


class ComponentRefused(ComponentError):
    """A component whose manifest parses but may not be used (a source outside its folder)."""


def parse_ref(ref: str) -> tuple[str, SpecifierSet]:
    """``name``, ``name@1.0.0``, ``name@>=1,<2`` or ``name >=1,<2`` -> (name, specifier)."""
    # Imported here, as below: reef.meta brings pydantic, which search never needs.
    from reef.meta.component import split_requirement

    try:
        name, spec = split_requirement(ref)
    except ValueError as exc:
        raise ReefError(str(exc)) from exc
    return name, SpecifierSet(spec)


def matching(name: str, spec: SpecifierSet, entries: list[Entry]) -> list[Entry]:
    """The entries of ``name`` that ``spec`` accepts, highest version first (ties: priority)."""
    hits = [e for e in entries if e.name == name and spec.contains(e.version, prereleases=True)]
    # sorted() is stable, so among equal versions the higher-priority repository stays first.
    return sorted(hits, key=lambda e: Version(e.version), reverse=True)


def versions_note(name: str, entries: list[Entry]) -> str:
    """'available: 1.0.0 (builtin), 2.0.0 (lab)' for a hint."""
    named = [e for e in entries if e.name == name]
    named.sort(key=lambda e: Version(e.version))
    return "available: " + ", ".join(f"{e.version} ({e.repository})" for e in named)


def find(ref: str, kind: str | None = None, entries: list[Entry] | None = None) -> Entry:
    """The highest version of a component that ``ref`` selects."""
    name, spec = parse_ref(ref)
    if entries is None:
        entries = query(name=name)
        if not entries:  # the hint lists what exists
            entries = catalog()
    of_kind = [e for e in entries if kind in (None, e.kind)]
    hits = matching(name, spec, of_kind)
    if hits:
        return hits[0]
    if any(e.name == name for e in of_kind):
        raise ComponentNotFound(
            f"no version of {name!r} satisfies {str(spec)!r}", hint=versions_note(name, of_kind)
        )
    other = sorted({e.kind for e in entries if e.name == name})
    if other:
        raise ComponentNotFound(f"{name!r} is a {', '.join(other)}, not a {kind}")
    why = refused(name)
    if why:
        from reef.components.checksums import OUTSIDE_HINT

        # It exists, but may not be used: say why rather than that it is unknown.
        raise ComponentRefused(why[0], hint=OUTSIDE_HINT)
    known = sorted({e.name for e in of_kind})
    shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
    hint = f"known {kind or 'component'}s: {shown}; `reef search` finds by text"
    skipped = invalid_counts()
    if skipped:
        repos = ", ".join(f"{n} in {r!r}" for r, n in sorted(skipped.items()))
        hint += f"; invalid manifests were skipped ({repos}): `reef repo update` lists them"
    raise ComponentNotFound(f"no component named {name!r}", hint=hint)


def search(
    text: str | None = None,
    *,
    kind: str | None = None,
    tags: list[str] | None = None,
) -> list[Entry]:
    """Components whose name, description or tags contain ``text`` (any case), of ``kind``,
    carrying every tag in ``tags``; sorted by name, then newest version first."""
    hits = query(kind=kind, text=text, tags=tags)
    hits.sort(key=lambda e: Version(e.version), reverse=True)
    hits.sort(key=lambda e: e.name)
    return hits


def shadowing(
    kind: str, name: str, version: str, entries: list[Entry] | None = None
) -> list[Shadow]:
    """The copies of ``name@version`` that the one in the first repository hides although
    their content differs (an installed pack over a built-in component, say). Identical copies
    are not reported: which one is used makes no difference. Hashes the copies' folders, so
    it costs nothing unless two repositories hold the version."""
    pool = query(name=name) if entries is None else entries
    same = [e for e in pool if (e.kind, e.name, e.version) == (kind, name, version)]
    if len(same) < 2:
        return []
    used, *others = same
    used_sha = _content(used)
    if used_sha is None:
        return []
    from reef.components.shadow import Shadow  # pydantic: only where a version is held twice

    return [
        Shadow(
            kind=kind,
            component=used.ref,
            used=used.repository,
            used_sha256=used_sha,
            hidden=e.repository,
            hidden_sha256=sha,
        )
        for e in others
        if (sha := _content(e)) is not None and sha != used_sha
    ]


def _content(entry: Entry) -> str | None:
    from reef.components.content import content_sha256
    from reef.components.remote import published_content

    # A server's version not fetched yet is its manifest alone here: what it holds is what
    # the server published.
    published = published_content(Path(entry.root), entry.name, entry.version)
    if published is not None:
        return published
    try:
        return content_sha256(entry.directory)
    except (ReefError, OSError):
        return None  # a component that cannot be hashed is refused where it is used
