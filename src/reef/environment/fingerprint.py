"""The environment fingerprint recorded with every run, and what ``reef detect --json`` prints.

It is built from the detectors (``reef.environment.detect``)::

    {"hardware": {"cpu": {...}, "memory": {...}, "gpu": {...}},
     "os": {"system": {...}},
     "software": {"python": {...}, "packages": {...}, "compilers": {...},
                  "frameworks": {...}, "blas": {...}, <detector components by software>},
     "hash": "<sha256>",
     "volatile": {"hardware": {...}, "os": {...}, "software": {...}},
     "problems": [{"detector": ..., "kind": "failed" | "skipped", "message": ..., "hint": ...}]}

The hash is the sha256 of the canonical JSON (sorted keys, no whitespace) of ``hardware``,
``os`` and ``software`` only: facts that change between two processes on one machine or that
name it rather than describe it (free memory, the current clock, the load, the hostname,
paths) live under ``volatile``, and what went wrong under ``problems``, both outside the hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from reef.environment.detect import GROUPS, Detection, Detector, detect_all
from reef.errors import EnvError

HASHED = GROUPS


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def build(detection: Detection) -> dict[str, Any]:
    """The fingerprint of what the detectors found."""
    fingerprint: dict[str, Any] = {g: _sorted(detection.facts.get(g, {})) for g in GROUPS}
    fingerprint["hash"] = fingerprint_hash(fingerprint)
    fingerprint["volatile"] = {g: _sorted(v) for g in GROUPS if (v := detection.volatile.get(g))}
    fingerprint["problems"] = [p.to_json() for p in detection.problems]
    return fingerprint


@cache
def collect(extra: tuple[Detector, ...] = ()) -> dict[str, Any]:
    """This machine's fingerprint from the registered detectors and ``extra`` ones; cached for
    the life of the process (the same ``extra``, the same answer). Do not modify the result."""
    return build(detect_all(extra=extra))


def fingerprint_hash(facts: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the hashed groups.

    Records made before detectors existed kept the hostname and the interpreter's path inside
    those groups; they are dropped here so that such a record still hashes as it did.
    """
    stable = json.loads(json.dumps({k: facts[k] for k in HASHED if k in facts}))
    stable.get("os", {}).pop("hostname", None)
    python = stable.get("software", {}).get("python")
    if isinstance(python, dict):
        python.pop("executable", None)
    return hashlib.sha256(canonical_json(stable).encode()).hexdigest()


# -- software requirements ----------------------------------------------------------------------


class RequirementsNotMet(EnvError):
    """Software a component requires is missing or has the wrong version."""

    def __init__(self, unmet: list[str], component: str | None = None) -> None:
        self.unmet = unmet
        who = (
            f"{component}: unmet software requirements"
            if component
            else "unmet software requirements"
        )
        super().__init__(
            f"{who}: " + "; ".join(unmet),
            hint="install or upgrade it, then check with `reef detect`",
        )

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data["unmet"] = self.unmet
        return data


@dataclass(frozen=True)
class Found:
    """One piece of software in a fingerprint: its version, and where it was seen."""

    version: str | None
    fact: str  # its place in the fingerprint, e.g. software.compilers.gcc
    path: str | None = None  # the file or folder it was found at, where known

    @property
    def where(self) -> str:
        return f"at {self.path}" if self.path else f"({self.fact})"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lookup(section: Mapping[str, Any], name: str) -> tuple[str, Any] | None:
    for key, value in section.items():
        if _normal(key) == name:
            return key, value
    return None


def _path(volatile: Any, fact: str) -> str | None:
    """The file or folder the volatile facts give for the fact at ``fact``."""
    node = volatile
    for part in fact.split(".")[1:]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        for key in ("path", "location", "executable"):
            if isinstance(node.get(key), str):
                return str(node[key])
    return None


def find_software(name: str, facts: Mapping[str, Any] | Detection) -> Found | None:
    """Where ``name`` appears in a fingerprint's software: a detector of its own
    (``software.<name>``), or an entry of a family (``software.compilers.gcc``,
    ``software.frameworks.onnxruntime``, ``software.packages.numpy``)."""
    if isinstance(facts, Detection):
        software, volatile = facts.facts.get("software", {}), facts.volatile.get("software", {})
    else:
        software = facts.get("software") or {}
        volatile = (facts.get("volatile") or {}).get("software", {})
    wanted = _normal(name)
    candidates: list[tuple[str, Any]] = []
    if (own := _lookup(software, wanted)) is not None:
        candidates.append((f"software.{own[0]}", own[1]))
    for family, members in software.items():
        if isinstance(members, dict) and (hit := _lookup(members, wanted)) is not None:
            candidates.append((f"software.{family}.{hit[0]}", hit[1]))
    for fact, value in candidates:
        if isinstance(value, str):
            return Found(value, fact)
        if isinstance(value, dict) and "version" in value:
            version = value["version"]
            path = value.get("path") if isinstance(value.get("path"), str) else None
            return Found(
                None if version is None else str(version), fact, path or _path(volatile, fact)
            )
    return None


def _release(text: str) -> str | None:
    """The leading dotted numbers of a version as a tool prints it (``12.2.0-14``)."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", text)
    return match.group(1) if match else None


def check_requirements(
    requirements: Mapping[str, str], facts: Mapping[str, Any] | Detection
) -> list[str]:
    """One message per unmet requirement ({software: version constraint}), e.g.
    ``gcc >=10 required, found 9.4.0 at /usr/bin/gcc`` or ``nvcc >=12 required, not found``.

    A constraint is a PEP 440 specifier set (``>=1.17,<2``); a bare version means exactly it;
    empty or ``*`` means any version. An empty list means every requirement is met.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    unmet: list[str] = []
    for name, constraint in requirements.items():
        spec_text = (constraint or "").replace(" ", "")
        if spec_text == "*":
            spec_text = ""
        if spec_text and spec_text[0].isdigit():
            spec_text = f"=={spec_text}"
        shown = f"{name} {constraint}".strip() if spec_text else name
        try:
            spec = SpecifierSet(spec_text)
        except InvalidSpecifier:
            unmet.append(f"{name}: {constraint!r} is not a version constraint (e.g. '>=1.17,<2')")
            continue
        found = find_software(name, facts)
        if found is None:
            unmet.append(f"{shown} required, not found")
            continue
        where = f" {found.where}"
        if not spec_text:
            continue
        if found.version is None:
            unmet.append(f"{shown} required, found it{where} but not its version")
            continue
        try:
            version = Version(found.version)
        except InvalidVersion:
            release = _release(found.version)
            if release is None:
                unmet.append(
                    f"{shown} required, found version {found.version!r}{where}, "
                    "which cannot be compared"
                )
                continue
            version = Version(release)
        if not spec.contains(version, prereleases=True):
            unmet.append(f"{shown} required, found {found.version}{where}")
    return unmet


def ensure_requirements(
    requirements: Mapping[str, str],
    facts: Mapping[str, Any] | Detection,
    *,
    component: str | None = None,
) -> None:
    """Raise ``RequirementsNotMet`` (exit 2) naming every unmet requirement."""
    unmet = check_requirements(requirements, facts)
    if unmet:
        raise RequirementsNotMet(unmet, component)
