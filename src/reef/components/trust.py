"""Trust: a component's code runs, and its pickles load, only from a trusted repository.

The built-in repository is trusted; a user's repository is trusted when added with
``--trusted`` or marked with ``reef repo trust``. A manifest given by path outside every
repository is the user's own file, and trusted like a script they run, except under
``REEF_HOME``: what Reef downloaded or unpacked there (the cache, an ``installed`` folder
whose repository was removed) came from someone else.
"""

from __future__ import annotations

from pathlib import Path

from reef import config
from reef.components.repository import containing
from reef.errors import ComponentError

REEF_HOME_LABEL = "REEF_HOME"


class UntrustedComponent(ComponentError):
    pass


def trust_of(manifest_path: Path) -> tuple[bool, str | None]:
    """(trusted, where) for the component whose manifest is ``manifest_path``: where is the
    repository's name, ``REEF_HOME`` for Reef's own folders, or None for the user's files."""
    repo = containing(manifest_path)
    if repo is not None:
        return repo.trusted, repo.name
    if manifest_path.resolve().is_relative_to(config.reef_home()):
        return False, REEF_HOME_LABEL
    return True, None


def ensure_trusted(component: str, manifest_path: Path, wants: str) -> None:
    """Refuse, naming the component, what it wanted and how to trust it, unless trusted."""
    trusted, where = trust_of(manifest_path)
    if trusted:
        return
    if where == REEF_HOME_LABEL:
        raise UntrustedComponent(
            f"{component} at {manifest_path} wants to {wants}, and it is in Reef's own "
            "folders outside any trusted repository",
            hint="only components of a trusted repository may; `reef repo list` shows them",
        )
    raise UntrustedComponent(
        f"{component} from repository {where!r} wants to {wants}, and {where!r} is not trusted",
        hint=f"if you trust its authors: reef repo trust {where}",
    )
