"""Trust: a component's code runs, and its pickles load, only from a trusted repository.

The built-in repository is trusted; a user's repository is trusted when added with
``--trusted`` or marked with ``reef repo trust``. A manifest given by path outside every
repository is the user's own file, and trusted like a script they run.
"""

from __future__ import annotations

from pathlib import Path

from reef.components.repository import containing
from reef.errors import ReefError


class UntrustedComponent(ReefError):
    pass


def trust_of(manifest_path: Path) -> tuple[bool, str | None]:
    """(trusted, repository name) for the component whose manifest is ``manifest_path``."""
    repo = containing(manifest_path)
    if repo is None:
        return True, None
    return repo.trusted, repo.name


def ensure_trusted(component: str, manifest_path: Path, wants: str) -> None:
    """Refuse, naming the component, what it wanted and how to trust it, unless trusted."""
    trusted, repo = trust_of(manifest_path)
    if trusted:
        return
    raise UntrustedComponent(
        f"{component} from repository {repo!r} wants to {wants}, and {repo!r} is not trusted",
        hint=f"if you trust its authors: reef repo trust {repo}",
    )
