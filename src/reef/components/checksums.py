"""sha256 of files, and verification of a declared source before it is used."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PureWindowsPath

from reef import config
from reef.errors import ChecksumError, FileRefused, ManifestError, Problem, ReefError
from reef.files import ONNX_MAX_BYTES, open_regular, reason
from reef.meta.common import Source, package_folder

_CHUNK = 1 << 20
OUTSIDE_HINT = (
    "a component may use only the files inside its folder (they are what a pack carries): "
    "move the file there, or give it as a url with its sha256"
)


def size_cap(path: Path) -> tuple[str, int | None]:
    """What a file is called in messages, and the most bytes its format can hold."""
    if path.suffix.lower() == ".onnx":
        return "ONNX model", ONNX_MAX_BYTES
    return "file", None


def sha256_file(path: Path) -> str:
    """The sha256 of a regular file; anything else (a FIFO, a device, a folder, a symlink loop)
    or an ``.onnx`` file larger than protobuf allows is refused (``FileRefused``, exit 2)
    before a byte is read, where hashing it would hang or run for minutes."""
    what, cap = size_cap(path)
    digest = hashlib.sha256()
    with open_regular(path, what, cap) as f:
        try:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        except OSError as exc:
            raise FileRefused(path, f"cannot read the {what}: {reason(exc)}") from exc
    return digest.hexdigest()


def source_path_problem(path: str, folder: Path) -> str | None:
    """Why a component in ``folder`` may not use the source at ``path``: it is absolute, or it
    leads outside the folder (through ``..`` or a symbolic link). None when it stays inside."""
    if path.startswith(("/", "\\")) or os.path.isabs(path) or PureWindowsPath(path).drive:
        return f"{path!r} is an absolute path, outside the component's folder"
    root = folder.resolve()
    target = resolved(root / path)
    if target is not None and not target.is_relative_to(root):
        return f"{path!r} leads outside the component's folder"
    return None


def resolved(path: Path) -> Path | None:
    """``path`` with every link followed; None for a symbolic link loop (Python 3.11 raises
    RuntimeError there, later versions OSError), which opening it then reports."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return None


def check_source_paths(sources: Iterable[Source], manifest_path: Path) -> None:
    """Refuse (``ManifestError``, naming the file and the field) every source ``path`` of a
    component that is not a file inside its folder; a package's file is found in the package."""
    problems = []
    for i, source in enumerate(sources):
        if source.path is None or source.package is not None:
            continue
        problem = source_path_problem(source.path, manifest_path.parent)
        if problem is not None:
            problems.append(Problem(str(manifest_path), f"sources[{i}].path", problem))
    if problems:
        raise ManifestError(problems, hint=OUTSIDE_HINT)


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
        _check_inside(source.path, base_dir, manifest_file, where)
        path = resolved(base_dir / source.path) or base_dir / source.path
        if not os.path.lexists(path):
            problem = Problem(manifest_file, f"{where}.path", f"file not found: {path}")
            raise ManifestError([problem])
    # A FIFO, a device or an oversized model is refused before a byte is hashed.
    actual = sha256_file(path)
    if actual != source.sha256:
        raise ChecksumError(str(path), source.sha256, actual)
    return path


def _check_inside(path: str, base_dir: Path, manifest_file: str, where: str) -> None:
    """A component of a repository (or unpacked under ``REEF_HOME``) uses only files inside
    its folder: one outside could be another repository's, Reef's cache or any file of the
    user's, and a pack would silently leave it out. A manifest of the user's own, outside every
    repository, may point where it likes, like a script they run."""
    problem = source_path_problem(path, base_dir)
    if problem is None:
        return
    from reef.components.trust import trust_of

    if trust_of(Path(manifest_file))[1] is None:
        return
    raise ManifestError([Problem(manifest_file, f"{where}.path", problem)], hint=OUTSIDE_HINT)
