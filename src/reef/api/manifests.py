"""The manifest verbs: validate a manifest (``check``) and print a kind's JSON Schema.

The checking is ``reef.solutions.manifest_check``'s, the schemas ``reef.meta.schema``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reef.solutions.manifest_check import CheckResult


def check(path: Path) -> CheckResult:
    """Validate a manifest: schema, steps, metric, source files and checksums, and for a model
    its declared signature against the model file itself. Every problem found is reported."""
    from reef.solutions.manifest_check import check_manifest

    return check_manifest(path)


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a manifest kind, of any component (``component``), of the lock file
    or of the run record; an unknown ``kind`` is a ``ReefError``."""
    from reef.meta.schema import json_schema

    return json_schema(kind)
