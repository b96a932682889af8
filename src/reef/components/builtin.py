"""The built-in component repository shipped inside the package.

Each component is a folder of ``reef/builtin`` holding ``reef.yaml`` and its files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from reef.errors import ReefError
from reef.meta.dataset import DatasetManifest
from reef.meta.load import load_manifest
from reef.meta.model import ModelManifest

MANIFEST = "reef.yaml"


class ComponentNotFound(ReefError):
    pass


@dataclass(frozen=True)
class Component:
    manifest: ModelManifest | DatasetManifest
    path: Path  # the manifest file

    @property
    def directory(self) -> Path:
        return self.path.parent


def builtin_root() -> Path:
    return Path(__file__).resolve().parent.parent / "builtin"


def builtin_components() -> list[Component]:
    root = builtin_root()
    return [
        Component(load_manifest(p), p) for p in sorted(root.glob(f"*/{MANIFEST}")) if p.is_file()
    ]


def parse_ref(ref: str) -> tuple[str, str]:
    """``name@1.0.0`` or ``name@>=1,<2`` -> (name, constraint)."""
    name, _, version = ref.partition("@")
    if version and version[0].isdigit():
        version = f"=={version}"
    return name, version


def find_builtin(ref: str, kind: str | None = None) -> Component:
    name, constraint = parse_ref(ref)
    try:
        spec = SpecifierSet(constraint)
    except InvalidSpecifier:
        raise ReefError(f"{ref!r}: {constraint!r} is not a version or constraint") from None
    components = builtin_components()
    named = [c for c in components if c.manifest.name == name and kind in (None, c.manifest.kind)]
    matching = [c for c in named if spec.contains(Version(c.manifest.version), prereleases=True)]
    if not matching:
        if named:
            versions = ", ".join(c.manifest.version for c in named)
            raise ComponentNotFound(
                f"no version of {name!r} satisfies {constraint!r}", hint=f"available: {versions}"
            )
        known = ", ".join(sorted({c.manifest.name for c in components}))
        raise ComponentNotFound(
            f"no component named {name!r}", hint=f"built-in components: {known}"
        )
    return max(matching, key=lambda c: Version(c.manifest.version))
