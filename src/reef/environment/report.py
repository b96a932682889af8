"""The environment's typed results: a fingerprint as ``reef detect --json`` prints it and a
run records it, a fingerprint file read back, and what differs between two fingerprints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reef.environment.diff import diff
from reef.errors import ReefError

__all__ = [
    "DetectionProblem",
    "EnvDiff",
    "EnvDifference",
    "Fingerprint",
    "env_diff",
    "fingerprint_file",
]


class DetectionProblem(BaseModel):
    """A detector that did not give its facts, or gave only part of them."""

    detector: str
    kind: Literal["failed", "skipped"]
    message: str
    hint: str | None = None


class Fingerprint(BaseModel):
    """An environment fingerprint (``reef.environment.fingerprint``), as ``reef detect --json``
    prints it and a run records it.

    The sections are typed; what is inside ``hardware``, ``os`` and ``software`` is what the
    detectors found, keyed by detector, and is open-ended: a detector plugin or a detector
    component adds its own facts. ``hash`` is the sha256 of those three sections; ``volatile``
    holds facts that change between two processes (free memory, the load, paths) and
    ``problems`` what went wrong, both outside the hash.
    """

    model_config = ConfigDict(extra="allow")  # a section a later Reef adds is kept

    hardware: dict[str, Any] = Field(default_factory=dict)
    os: dict[str, Any] = Field(default_factory=dict)
    software: dict[str, Any] = Field(default_factory=dict)
    hash: str
    volatile: dict[str, Any] = Field(default_factory=dict)
    problems: list[DetectionProblem] = Field(default_factory=list)


class EnvDifference(BaseModel):
    """One environment fact that differs (``reef.environment.diff.Difference``)."""

    group: str  # hardware, os, software (or the top-level key it sits under)
    key: str  # a dotted path inside the group, e.g. packages.onnxruntime
    a: Any  # a fact's value, as detected (None when absent on that side)
    b: Any


class EnvDiff(BaseModel):
    """What differs between two environments."""

    a: str  # what was compared: a run id or a file
    b: str
    a_hash: str | None
    b_hash: str | None
    identical: bool
    differences: list[EnvDifference]


def fingerprint_file(ref: str) -> tuple[str, dict[str, Any]] | None:
    """The fingerprint file ``ref`` names (``reef detect --json > fp.json``), as its path and
    contents; None when ``ref`` names no file and does not look like a path (a run id, then).
    A file that is not a fingerprint, or a path that is not there, is a ``ReefError``."""
    path = Path(ref)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ReefError(f"{ref}: not a fingerprint file ({exc})") from exc
        if not isinstance(data, dict) or not ({"hardware", "os", "software"} & data.keys()):
            raise ReefError(
                f"{ref}: not a fingerprint file (no hardware, os or software section)",
                hint="`reef detect --json > fingerprint.json` writes one",
            )
        return str(path), data
    if path.suffix == ".json" or "/" in ref:
        raise ReefError(f"{ref}: file not found")
    return None


def env_diff(
    a: tuple[str, dict[str, Any]], b: tuple[str, dict[str, Any]], *, volatile: bool = False
) -> EnvDiff:
    """What differs between two named fingerprints (each a name, such as a run id or a file,
    and the fingerprint); ``volatile`` facts are compared too when asked for."""
    (name_a, fp_a), (name_b, fp_b) = a, b
    found = diff(fp_a, fp_b, volatile=volatile)
    return EnvDiff(
        a=name_a,
        b=name_b,
        a_hash=fp_a.get("hash"),
        b_hash=fp_b.get("hash"),
        identical=not found,
        differences=[EnvDifference(group=d.group, key=d.key, a=d.a, b=d.b) for d in found],
    )
