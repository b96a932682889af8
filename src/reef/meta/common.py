"""Field types and base models shared by every manifest."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

if TYPE_CHECKING:
    from importlib.metadata import Distribution

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Names and versions become parts of file names (run folders, reports, figures, packs, index
# entries), and a file name longer than 255 bytes cannot be created: a 5,000-character name
# once made `reef report -o x.md` fail for every run in the database. 100 characters leave room
# for what is added around a name (version, scenario, suffixes).
MAX_NAME_LENGTH = 100
MAX_VERSION_LENGTH = 100


def _check_length(value: str, limit: int, what: str) -> None:
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value):,} characters long; at most {limit} are allowed")


def check_semver(value: str) -> str:
    from packaging.version import InvalidVersion, Version

    _check_length(value, MAX_VERSION_LENGTH, "the version")
    if not _SEMVER.match(value):
        raise ValueError(f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)")
    try:
        Version(value)  # versions are compared and constrained with Python packaging's rules
    except InvalidVersion as exc:
        raise ValueError(
            f"{value!r}: a pre-release must be one Python packaging can order "
            "(e.g. 1.0.0-rc.1, 1.0.0-beta.2, 1.0.0-dev.3)"
        ) from exc
    return value


def check_name(value: str) -> str:
    _check_length(value, MAX_NAME_LENGTH, "the name")
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
    """A manifest section: unknown fields are errors, not silently dropped.

    Numbers must be finite: YAML reads ``.nan`` and ``.inf`` as floats, and a NaN reference or
    scale factor would pass every comparison-free check only to make the benchmark meaningless.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Source(Strict):
    """A file a component needs, always with its sha256, at exactly one location: a ``path``
    relative to its manifest, a ``url``, or a ``package`` and the ``path`` of the file inside
    that installed Python package (provisioned from the component's ``python`` requirements)."""

    path: str | None = None
    url: str | None = None
    package: str | None = Field(
        None,
        description="an installed Python package (import or distribution name); 'path' is then "
        "the file inside it",
    )
    sha256: Sha256

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if self.package is not None:
            if self.url is not None:
                raise ValueError("a package source takes 'path' (the file inside it), not 'url'")
            if self.path is None:
                raise ValueError("a package source needs 'path': the file inside the package")
            if not _PACKAGE.match(self.package):
                raise ValueError(f"{self.package!r} is not a Python package name")
            parts = PurePosixPath(self.path).parts
            if not parts or self.path.startswith(("/", "\\")) or ".." in parts or ":" in self.path:
                raise ValueError(
                    f"{self.path!r} must be a relative path inside the package, without '..'"
                )
        elif (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' or 'url' (or 'package' with 'path')")
        return self

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Sources without a package serialise as they always did, so lock files and the
        # hashes taken of them do not change.
        data: dict[str, Any] = handler(self)
        if data.get("package", "") is None:
            del data["package"]
        return data

    @property
    def location(self) -> str:
        if self.package is not None:
            return f"{self.package}:{self.path}"
        return self.path if self.path is not None else str(self.url)


def package_folder(package: str, site_packages: Sequence[Path] = ()) -> Path | None:
    """The folder of an installed Python package, found without importing it; None if absent.

    ``package`` is an import name (``rapidocr_onnxruntime``) or a distribution name
    (``rapidocr-onnxruntime``). With ``site_packages`` (an environment's site-packages
    folders) only those are searched; without, this interpreter's import path is.
    """
    import importlib.metadata
    import importlib.util

    names = [package] if package.isidentifier() else []
    if site_packages:
        for folder in site_packages:
            for name in names:
                if (Path(folder) / name).is_dir():
                    return Path(folder) / name
        dists = importlib.metadata.distributions(path=[str(f) for f in site_packages])
    else:
        for name in names:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            locations = list(spec.submodule_search_locations or []) if spec else []
            if locations:
                return Path(locations[0])
        dists = importlib.metadata.distributions()
    return _distribution_folder(package, dists)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_folder(package: str, dists: Iterable[Distribution]) -> Path | None:
    """The top-level folder of the installed distribution named ``package``."""
    wanted = _canonical(package)
    for dist in dists:
        if _canonical(dist.metadata["Name"] or "") != wanted:
            continue
        tops = (dist.read_text("top_level.txt") or "").split()
        for file in dist.files or []:
            if len(file.parts) > 1 and (not tops or file.parts[0] in tops):
                folder = Path(str(dist.locate_file(file.parts[0])))
                if folder.is_dir() and not file.parts[0].endswith((".dist-info", ".data")):
                    return folder
    return None


Attributes = dict[str, Any]
