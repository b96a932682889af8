"""What ``reef init`` may install for a lock, decided before the installer is started.

Installing a Python requirement can run code: a direct reference (``pkg @ file:///x``,
``pkg @ https://...``, ``git+https://...``) hands the installer a source tree whose build
backend runs at once. So the rule for each requirement depends on who asked for it:

- a component of a trusted repository (or the user's own folder) may name anything;
- an untrusted component may name only plain requirements (``name``, ``name==1.2``,
  ``name>=1,<2``, extras and markers allowed), which are resolved from the configured index;
- a lock's merged ``python`` list may hold a direct reference only when a trusted component
  declares it, so a hand-edited lock cannot slip one in under an untrusted component's name;
- when any untrusted component is in the lock, the installer builds nothing from source
  (``--only-binary :all:``): a source distribution's build backend is code too.

Options (``--index-url``, ``-e``) and local paths are not requirements at all: ``packaging``
refuses them, and the installer's command line ends its options with ``--``.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from reef.components.index import catalog
from reef.components.lockfile import locate
from reef.components.trust import REEF_HOME_LABEL, UntrustedComponent, trust_of
from reef.meta.lock import Lock


@dataclass(frozen=True)
class InstallPolicy:
    """What the installer is allowed for one lock."""

    only_binary: bool  # build nothing from source: an untrusted component is in the lock
    untrusted: tuple[str, ...]  # the untrusted components, as name@version


def _direct_reference(text: str) -> Requirement | None:
    """The parsed requirement when it names a URL (a direct reference), else None.

    Text that is not a requirement at all is left to the provisioning plan, which refuses it
    with the lock's field name.
    """
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    return req if req.url is not None else None


def _key(req: Requirement) -> tuple[str, str]:
    assert req.url is not None
    return canonicalize_name(req.name), req.url


def check(lock: Lock) -> InstallPolicy:
    """Refuse (``UntrustedComponent``, exit 2) a lock whose installation would run code an
    untrusted component chose; otherwise say how the installer must be restricted."""
    entries = catalog()  # read once: every component is looked up in it
    allowed: set[tuple[str, str]] = set()
    untrusted: list[str] = []
    for locked in lock.components:
        entry = locate(locked, entries)
        trusted, where = trust_of(entry.manifest_path)
        # The manifest's own list (its content matches the lock's hash) and the lock's copy.
        declared = [*entry.python, *locked.python]
        if trusted:
            allowed.update(_key(r) for r in map(_direct_reference, declared) if r is not None)
            continue
        untrusted.append(f"{locked.name}@{locked.version}")
        for text in declared:
            if _direct_reference(text) is not None:
                raise _refusal(f"{locked.name}@{locked.version}", where, text)
    for text in lock.python:
        req = _direct_reference(text)
        if req is not None and _key(req) not in allowed:
            raise UntrustedComponent(
                f"the lock's python requirement {text!r} is a direct reference that no "
                "trusted component of the lock declares",
                hint="installing it would run its build code; resolve the target again "
                "(`reef resolve`) from trusted repositories",
            )
    return InstallPolicy(only_binary=bool(untrusted), untrusted=tuple(untrusted))


def _refusal(component: str, where: str | None, text: str) -> UntrustedComponent:
    origin = "Reef's own folders" if where == REEF_HOME_LABEL else f"repository {where!r}"
    hint = (
        f"if you trust its authors: reef repo trust {where}"
        if where not in (None, REEF_HOME_LABEL)
        else "only components of a trusted repository may name one; `reef repo list` shows them"
    )
    return UntrustedComponent(
        f"{component} from {origin} asks for the Python requirement {text!r}, a direct "
        "reference (URL, VCS or local path) whose installation would run its build code; "
        "an untrusted component may name only requirements resolved from the package index "
        "(name==version, name>=x)",
        hint=hint,
    )
