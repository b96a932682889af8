"""Field types and base models shared by every manifest."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def check_semver(value: str) -> str:
    from packaging.version import InvalidVersion, Version

    if not _SEMVER.match(value):
        raise ValueError(f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)")
    try:
        Version(value)  # versions are compared and constrained with Python packaging's rules
    except InvalidVersion:
        raise ValueError(
            f"{value!r}: a pre-release must be one Python packaging can order "
            "(e.g. 1.0.0-rc.1, 1.0.0-beta.2, 1.0.0-dev.3)"
        ) from None
    return value


def check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name (lower-case letters, digits, '.', '_' and '-')"
        )
    return value


def _specifier(value: str) -> str:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(value)
    except InvalidSpecifier as exc:
        raise ValueError(f"{value!r} is not a version constraint (e.g. '>=1.17,<2')") from exc
    return value


SemVer = Annotated[str, AfterValidator(check_semver)]
Name = Annotated[str, AfterValidator(check_name)]
VersionConstraint = Annotated[str, AfterValidator(_specifier)]


def _sha256(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"{value!r} is not a sha256 (64 lower-case hex digits)")
    return value


Sha256 = Annotated[str, AfterValidator(_sha256), Field(description="lower-case hex sha256")]


class Strict(BaseModel):
    """A manifest section: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """A file a component needs: a path relative to its manifest, or a url; always a sha256."""

    path: str | None = None
    url: str | None = None
    sha256: Sha256

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' or 'url'")
        return self

    @property
    def location(self) -> str:
        return self.path if self.path is not None else str(self.url)


Attributes = dict[str, Any]
