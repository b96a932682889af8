"""Finding components across repositories: by reference, and by text, kind and tags."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from reef.components.index import Entry, catalog, invalid_counts, query
from reef.errors import ReefError
from reef.meta.component import split_requirement


class ComponentNotFound(ReefError):
    pass


def parse_ref(ref: str) -> tuple[str, SpecifierSet]:
    """``name``, ``name@1.0.0``, ``name@>=1,<2`` or ``name >=1,<2`` -> (name, specifier)."""
    try:
        name, spec = split_requirement(ref)
    except ValueError as exc:
        raise ReefError(str(exc)) from None
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
