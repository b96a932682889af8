"""The environment fingerprint a run records."""

from __future__ import annotations

from typing import Any

from reef.errors import ReefError


def run_fingerprint(*, components: bool = True) -> dict[str, Any]:
    """The built-in and plugin detectors' fingerprint, with the detector components of the
    configured repositories (trusted ones run, untrusted ones are reported as skipped), so
    that a run records the same fingerprint, and hash, that ``reef detect`` prints."""
    from reef.environment.detect import component_detectors
    from reef.environment.fingerprint import collect

    extra: list[Any] = []
    if components:
        from reef.components.index import query
        from reef.components.trust import ensure_trusted

        try:
            extra = component_detectors(query(kind="detector"), ensure_trusted)
        except ReefError:
            extra = []  # an unusable index must not stop a benchmark; `reef detect` says why
    return collect(tuple(extra))
