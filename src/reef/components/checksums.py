"""sha256 of files, and verification of a declared source before it is used."""

from __future__ import annotations

import hashlib
from pathlib import Path

from reef import config
from reef.errors import ChecksumError, ManifestError, Problem
from reef.meta.common import Source

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


def verified_source(source: Source, base_dir: Path, manifest_file: str, where: str) -> Path:
    """The local path of a source after its sha256 was checked; never returns a mismatch.

    A url source is fetched into the cache first (or found there).
    """
    if source.path is None:
        # fetch imports this module; importing it here keeps the import graph acyclic.
        from reef.components.fetch import fetch

        return fetch(str(source.url), source.sha256)
    path = (base_dir / source.path).resolve()
    if not path.is_file():
        raise ManifestError([Problem(manifest_file, f"{where}.path", f"file not found: {path}")])
    actual = sha256_file(path)
    if actual != source.sha256:
        raise ChecksumError(str(path), source.sha256, actual)
    return path
