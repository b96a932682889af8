"""sha256 of files, and verification of a declared source before it is used."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from reef import config
from reef.errors import ChecksumError, ManifestError, Problem, ReefError
from reef.meta.common import Source, package_folder

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cached_path(sha256: str) -> Path:
    """Where a fetched source with this sha256 lives: ``REEF_HOME/cache/<sha256>``."""
    return config.cache_dir() / sha256


def package_file(package: str, path: str, site_packages: Sequence[Path] = ()) -> Path:
    """The file at ``path`` inside the installed Python package ``package``, not yet verified.

    ``site_packages`` are the site-packages folders of a provisioned environment; without
    them the package is looked for in this interpreter. The package is never imported.
    """
    folder = package_folder(package, site_packages)
    where = "this interpreter" if not site_packages else ", ".join(map(str, site_packages))
    if folder is None:
        raise ReefError(
            f"{package} is not installed in {where}: run `reef init <solution>`",
            hint="reef init provisions an environment from the python requirements of the "
            "component that names this package",
        )
    root = folder.resolve()
    file = (root / path).resolve()
    if not file.is_relative_to(root):
        raise ReefError(f"{package}:{path}: the path leads outside the package folder {root}")
    if not file.is_file():
        raise ReefError(
            f"{package}:{path}: no such file in the installed package ({file})",
            hint="the installed version may not be the one the component's python requirements "
            "pin: run `reef init <solution>` again",
        )
    return file


def verified_source(
    source: Source,
    base_dir: Path,
    manifest_file: str,
    where: str,
    site_packages: Sequence[Path] = (),
) -> Path:
    """The local path of a source after its sha256 was checked; never returns a mismatch.

    A url source is fetched into the cache first (or found there). A package source is found
    in ``site_packages`` (a provisioned environment's) or, when none are given, in this
    interpreter.
    """
    if source.package is not None:
        assert source.path is not None  # the schema requires it
        path = package_file(source.package, source.path, site_packages)
    elif source.path is None:
        # fetch imports this module; importing it here keeps the import graph acyclic.
        from reef.components.fetch import fetch

        return fetch(str(source.url), source.sha256)
    else:
        path = (base_dir / source.path).resolve()
        if not path.is_file():
            problem = Problem(manifest_file, f"{where}.path", f"file not found: {path}")
            raise ManifestError([problem])
    actual = sha256_file(path)
    if actual != source.sha256:
        raise ChecksumError(str(path), source.sha256, actual)
    return path
