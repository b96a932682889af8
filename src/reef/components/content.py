"""A component's content hash: one sha256 over every file in its folder.

The listing is ``sha256sum``'s format (``<hex>  <relative/posix/path>``, sorted by path), so a
user can check a folder with the tools they have; its own sha256 is the content hash. Folders
of nested components (holding their own ``reef.yaml``) and hidden entries are not content.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from reef.components.checksums import sha256_file
from reef.errors import ReefError

MANIFEST = "reef.yaml"


def component_files(directory: Path) -> list[str]:
    """The relative posix paths of the files that make up the component in ``directory``."""
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
                if item.is_dir():
                    if not (path / MANIFEST).exists():
                        stack.append(path)
                elif item.is_file():
                    out.append(path.relative_to(directory).as_posix())
    return sorted(out)


def listing(directory: Path) -> list[tuple[str, str]]:
    """(sha256, relative path) of every file of the component, sorted by path."""
    return [(sha256_file(directory / rel), rel) for rel in component_files(directory)]


def format_listing(entries: list[tuple[str, str]]) -> str:
    return "".join(f"{digest}  {rel}\n" for digest, rel in entries)


def content_sha256(directory: Path) -> str:
    return hashlib.sha256(format_listing(listing(directory)).encode()).hexdigest()
