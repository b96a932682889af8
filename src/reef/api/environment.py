"""The environment verbs: this machine's fingerprint, and what differs between two.

The typed results and the reading of fingerprint files are ``reef.environment.report``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reef.environment import report
from reef.environment.noise import NoiseCheck, NoiseReport
from reef.environment.report import DetectionProblem, EnvDiff, EnvDifference, Fingerprint

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

__all__ = [
    "DetectionProblem",
    "EnvDiff",
    "EnvDifference",
    "Fingerprint",
    "NoiseCheck",
    "NoiseReport",
    "detect",
    "env_check",
    "env_diff",
]


def detect(*, components: bool = True) -> Fingerprint:
    """This machine's environment fingerprint (``reef.environment.fingerprint``): the built-in
    and plugin detectors, and, unless ``components`` is False, the repositories' detector
    components (trusted ones run; untrusted ones are reported as skipped)."""
    import copy

    from reef.bench.fingerprint import run_fingerprint

    # A copy: the fingerprint is cached for the process, and a caller may change its result.
    return Fingerprint.model_validate(copy.deepcopy(run_fingerprint(components=components)))


def _fingerprint(ref: str | RunRecord) -> tuple[str, dict[str, Any]]:
    """A fingerprint file (``reef detect --json > fp.json``) or a run's recorded one."""
    if not isinstance(ref, str):
        return ref.id, ref.environment
    found = report.fingerprint_file(ref)
    if found is not None:
        return found
    from reef.api.runs import runs_show

    record = runs_show(ref)
    return record.id, record.environment


def env_diff(a: str | RunRecord, b: str | RunRecord, *, volatile: bool = False) -> EnvDiff:
    """What differs between two runs' environments (ids or records), or two fingerprint
    files."""
    return report.env_diff(_fingerprint(a), _fingerprint(b), volatile=volatile)


def env_check() -> NoiseReport:
    """What makes this machine noisy for benchmarking, and what to change
    (``reef.environment.noise``): busy processes, steal, governor, turbo, SMT, swap, power."""
    from reef.environment import noise

    return noise.check()
