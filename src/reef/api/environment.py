"""The environment verbs: comparing fingerprints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from reef.errors import ReefError


class EnvDiff(BaseModel):
    a: str  # what was compared: a run id or a file
    b: str
    a_hash: str | None
    b_hash: str | None
    identical: bool
    differences: list[dict[str, Any]]


def _fingerprint(ref: str) -> tuple[str, dict[str, Any]]:
    """A fingerprint file (``reef detect --json > fp.json``) or a run's recorded one."""
    path = Path(ref)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ReefError(f"{ref}: not a fingerprint file ({exc})") from None
        if not isinstance(data, dict) or not ({"hardware", "os", "software"} & data.keys()):
            raise ReefError(
                f"{ref}: not a fingerprint file (no hardware, os or software section)",
                hint="`reef detect --json > fingerprint.json` writes one",
            )
        return str(path), data
    if path.suffix == ".json" or "/" in ref:
        raise ReefError(f"{ref}: file not found")
    from reef.api import runs_show

    record = runs_show(ref)
    return record.id, record.environment


def env_diff(a: str, b: str, *, volatile: bool = False) -> EnvDiff:
    """What differs between two runs' environments, or two fingerprint files."""
    from reef.environment.diff import diff

    name_a, fp_a = _fingerprint(a)
    name_b, fp_b = _fingerprint(b)
    found = diff(fp_a, fp_b, volatile=volatile)
    return EnvDiff(
        a=name_a,
        b=name_b,
        a_hash=fp_a.get("hash"),
        b_hash=fp_b.get("hash"),
        identical=not found,
        differences=[d.to_json() for d in found],
    )
