"""What differs between two environment fingerprints, grouped as hardware, OS and software."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

GROUPS = ("hardware", "os", "software")
_MISSING = object()
_NOT_COMPARED = ("hash", "problems")
# Outside the hash: where a run was made (free memory, paths, which provisioned environment)
# rather than what it ran on.
_VOLATILE = ("volatile", "provisioned")


@dataclass(frozen=True)
class Difference:
    group: str  # hardware, os, software (or the top-level key it sits under)
    key: str  # a dotted path inside the group, e.g. packages.onnxruntime
    a: Any  # None when absent on that side
    b: Any

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        # An empty section is no fact: a group one side lacks must not show as a row.
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def diff(a: dict[str, Any], b: dict[str, Any], *, volatile: bool = False) -> list[Difference]:
    """Every fact whose value differs, was added or was removed.

    Lists (GPUs, flags) are compared whole: a reordered list is a different list.
    ``volatile`` facts (free memory, the interpreter's path, the provisioned environment) are
    left out unless asked for, as they are from the fingerprint's hash.
    """
    groups = [*GROUPS, *sorted((a.keys() | b.keys()) - {*GROUPS, *_NOT_COMPARED, *_VOLATILE})]
    if volatile:
        groups.extend(_VOLATILE)
    out: list[Difference] = []
    for group in groups:
        flat_a: dict[str, Any] = {}
        flat_b: dict[str, Any] = {}
        _flatten(a.get(group, {}), "", flat_a)
        _flatten(b.get(group, {}), "", flat_b)
        for key in sorted(flat_a.keys() | flat_b.keys()):
            left, right = flat_a.get(key, _MISSING), flat_b.get(key, _MISSING)
            if left != right:
                out.append(
                    Difference(
                        group,
                        key,
                        None if left is _MISSING else left,
                        None if right is _MISSING else right,
                    )
                )
    return out
