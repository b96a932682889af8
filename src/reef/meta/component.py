"""What every component shares: identity, requirements on other components and on Python
packages, and the kinds that are not a model or a dataset.

A component is a folder holding a ``reef.yaml``; its ``kind`` picks the schema.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from reef.meta.common import MAX_NAME_LENGTH, Name, SemVer, Source, Strict, VersionConstraint

_REQUIREMENT = re.compile(r"^\s*([a-z0-9][a-z0-9._-]*)\s*(?:@\s*)?(.*?)\s*$")


def split_requirement(text: str) -> tuple[str, str]:
    """``digits >=1.0,<2`` (or ``digits@>=1.0,<2``, ``digits@1.0.0``) -> (name, specifier).

    A bare version means exactly that version; no specifier means any version.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    match = _REQUIREMENT.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a component requirement (a name, then an optional constraint, "
            "e.g. 'digits >=1.0,<2')"
        )
    name, spec = match.group(1), match.group(2).replace(" ", "")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"a component name is {len(name):,} characters long; at most {MAX_NAME_LENGTH} "
            "are allowed"
        )
    if spec and spec[0].isdigit():
        spec = f"=={spec}"
    try:
        SpecifierSet(spec)
    except InvalidSpecifier as exc:
        raise ValueError(
            f"{text!r}: {spec!r} is not a version constraint (e.g. '>=1.0,<2')"
        ) from exc
    return name, spec


def _requirement(value: str) -> str:
    split_requirement(value)
    return value


def _python_requirement(value: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(value)
    except InvalidRequirement as exc:
        raise ValueError(f"{value!r} is not a Python requirement: {exc}") from exc
    return value


ComponentRequirement = Annotated[
    str,
    AfterValidator(_requirement),
    Field(description="another component: a name and an optional constraint, e.g. 'digits >=1,<2'"),
]
PythonRequirement = Annotated[
    str,
    AfterValidator(_python_requirement),
    Field(description="a PEP 508 requirement, e.g. 'onnxruntime>=1.17'"),
]

KINDS = ("model", "dataset", "solution", "program", "detector")


class ComponentBase(Strict):
    """The fields of every kind."""

    kind: str
    name: Name
    version: SemVer
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    requires: list[ComponentRequirement] = Field(
        default_factory=list, description="other components this one needs"
    )
    python: list[PythonRequirement] = Field(
        default_factory=list, description="Python packages this component needs"
    )
    requires_software: dict[Name, VersionConstraint] = Field(
        default_factory=dict,
        description="software the machine must have, checked against `reef detect` before a "
        "run: {gcc: '>=10', onnxruntime: '>=1.17'}",
    )
    license: str | None = None


class ProgramManifest(ComponentBase):
    """A command that a workflow step runs; it only runs from a trusted repository."""

    kind: Literal["program"] = "program"
    command: list[str] = Field(
        min_length=1, description="argv; {dir} is replaced by the component's folder"
    )
    env: dict[str, str] = Field(default_factory=dict)
    sources: list[Source] = Field(default_factory=list)


class DetectorManifest(ComponentBase):
    """A command that prints JSON describing one piece of installed software."""

    kind: Literal["detector"] = "detector"
    software: Name = Field(description="what it detects, e.g. gcc")
    command: list[str] = Field(min_length=1, description="argv; prints a JSON object on stdout")
    sources: list[Source] = Field(default_factory=list)
