"""The lock file (``reef.lock``): exactly which components a target resolved to.

``reef resolve`` writes it, ``reef bench``, ``reef fetch`` and ``reef pack`` read it, and the
environment is provisioned from its ``python`` requirements. It is JSON with sorted keys, so the
same resolution gives the same bytes, and its sha256 names the environment built for it.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from packaging.version import InvalidVersion, Version
from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from reef.meta.common import Name, SemVer, Sha256, Source, Strict

LOCK_VERSION = 1

# A distribution name as PEP 508 allows it: the pins become `name==version` requirements, so
# anything else (spaces, extras, URLs, markers) could make the installer read another thing.
_DIST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


class LockedComponent(Strict):
    kind: str
    name: Name
    version: SemVer
    repository: str = Field(description="the repository it was found in")
    repository_location: str = Field(description="that repository's folder or git URL")
    path: str = Field(description="its reef.yaml, relative to the repository's folder")
    sha256: Sha256 = Field(description="content hash: sha256 of the sha256sum listing of its files")
    sources: list[Source] = Field(default_factory=list, description="as its manifest declares")
    requires: list[str] = Field(
        default_factory=list, description="exact pins of the components it requires ('name==x')"
    )
    python: list[str] = Field(default_factory=list)


class LockedEnvironment(Strict):
    """What ``reef init`` installed for the lock: rebuilding installs exactly these."""

    python: str = Field(description="the interpreter's version, e.g. 3.11.7")
    implementation: str = Field("cpython", description="sys.implementation.name")
    packages: dict[str, str] = Field(
        default_factory=dict,
        description="every distribution installed (normalised name) and its exact version",
    )

    @field_validator("packages")
    @classmethod
    def _plain_pins(cls, packages: dict[str, str]) -> dict[str, str]:
        for name, version in packages.items():
            if not _DIST_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a distribution name")
            try:
                Version(version)
            except InvalidVersion as exc:
                raise ValueError(f"{name}: {version!r} is not a plain version") from exc
            # Version() tolerates surrounding whitespace; a pin is written exactly.
            if version != version.strip():
                raise ValueError(f"{name}: {version!r} is not a plain version")
        return packages


class Lock(Strict):
    lock_version: Literal[1] = 1
    target: str = Field(description="what was resolved, as the user wrote it")
    root: Name = Field(description="the component the target selected")
    components: list[LockedComponent] = Field(description="sorted by name")
    python: list[str] = Field(
        default_factory=list, description="every component's Python requirements, merged"
    )
    reef_version: str = ""
    environment: LockedEnvironment | None = Field(
        None, description="the provisioned environment (reef init); not part of its hash"
    )

    @model_serializer(mode="wrap")
    def _without_empty_environment(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A lock that was never provisioned keeps the bytes it had before this section existed.
        data: dict[str, Any] = handler(self)
        if self.environment is None:
            data.pop("environment", None)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Lock:
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"components: {', '.join(dupes)} locked more than once")
        if self.root not in names:
            raise ValueError(f"root {self.root!r} is not one of the locked components")
        return self

    def component(self, name: str) -> LockedComponent:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def root_component(self) -> LockedComponent:
        return self.component(self.root)
