"""Checks that the installed framework satisfies a manifest's version constraint."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from reef.errors import ManifestError, Problem
from reef.meta.model import ModelManifest


def check_framework_version(manifest: ModelManifest, installed: str, file: str) -> None:
    constraint = manifest.framework.version
    if not constraint:
        return
    try:
        version = Version(installed)
    except InvalidVersion:
        return  # a local build with an odd version string: nothing sound to compare
    if not SpecifierSet(constraint).contains(version, prereleases=True):
        raise ManifestError(
            [
                Problem(
                    file,
                    "framework.version",
                    f"{manifest.framework.name} {installed} is installed but the model "
                    f"requires {constraint}",
                )
            ],
            hint=f"install a matching version: pip install '{manifest.framework.name}{constraint}'",
        )
