"""A component's content hash: one sha256 over every file in its folder.

The listing is ``sha256sum``'s format (``<hex>  <relative/posix/path>``, sorted by path), so a
user can check a folder with the tools they have; its own sha256 is the content hash. Folders
of nested components (holding their own ``reef.yaml``) and hidden entries are not content,
except a model's own dataset: the folder inside the model's that its manifest names as
``dataset`` is part of the model, since nothing else pins or ships it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from reef.components.checksums import sha256_file
from reef.errors import FileRefused, ManifestError, ReefError
from reef.files import kind_of, open_regular

MANIFEST = "reef.yaml"
# Only the ``kind`` and ``dataset`` fields are read here; a manifest this large is not one a
# person wrote, and reading it whole must not be how a pack exhausts memory.
MAX_MANIFEST_BYTES = 1 << 20


def local_dataset(manifest: bytes) -> str | None:
    """The folder (relative posix path, normalised) that a model's manifest names as its
    dataset, when the name could be a folder inside the model's: not absolute, no ``..``.

    Whether that folder holds a ``reef.yaml`` is the caller's to check. A manifest that does not
    parse names nothing here: validating it is the loader's job, which reports it properly.
    """
    from reef.meta.load import parse_yaml

    try:
        data = parse_yaml(manifest, "reef.yaml")
    except ManifestError:
        return None
    if not isinstance(data, dict) or data.get("kind") != "model":
        return None
    ref = data.get("dataset")
    if not isinstance(ref, str) or ref.startswith("/") or "\\" in ref:
        return None
    parts = [p for p in ref.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _read_manifest(path: Path) -> bytes | None:
    if not os.path.lexists(path):
        return None
    # A regular file only: a FIFO named reef.yaml would hang every command that hashes it.
    with open_regular(path, "manifest") as f:
        data = f.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise ReefError(f"{path}: larger than {MAX_MANIFEST_BYTES >> 20} MiB, not a manifest")
    return data


def component_files(directory: Path) -> list[str]:
    """The relative posix paths of the files that make up the component in ``directory``."""
    manifest = _read_manifest(directory / MANIFEST)
    own_dataset = local_dataset(manifest) if manifest is not None else None
    out: list[str] = []
    stack = [directory]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            for item in it:
                if item.name.startswith("."):
                    continue
                path = Path(item.path)
                if item.is_symlink():
                    raise ReefError(
                        f"{path}: components may not contain symbolic links",
                        hint="replace the link with the file it points to",
                    )
                rel = path.relative_to(directory).as_posix()
                if item.is_dir():
                    if rel == own_dataset or not (path / MANIFEST).exists():
                        stack.append(path)
                elif item.is_file():
                    out.append(rel)
                else:
                    # Left out, a FIFO or a device would make the content hash say nothing of
                    # it; read, it would hang the hash or never end.
                    raise FileRefused(
                        path,
                        f"is {kind_of(item.stat(follow_symlinks=False).st_mode)}; a component "
                        "may hold only regular files and folders",
                        hint="remove it from the component's folder",
                    )
    return sorted(out)


def listing(directory: Path) -> list[tuple[str, str]]:
    """(sha256, relative path) of every file of the component, sorted by path."""
    return [(sha256_file(directory / rel), rel) for rel in component_files(directory)]


def format_listing(entries: list[tuple[str, str]]) -> str:
    return "".join(f"{digest}  {rel}\n" for digest, rel in entries)


def content_sha256(directory: Path) -> str:
    return hashlib.sha256(format_listing(listing(directory)).encode()).hexdigest()
