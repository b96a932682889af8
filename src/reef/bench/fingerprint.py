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


def host_fingerprint_hash() -> str:
    """The hash of this machine's fingerprint (built-in and plugin detectors), remembered
    under ``REEF_HOME/cache`` while nothing it could depend on has changed.

    Detecting takes a few hundred milliseconds, mostly imports; a cached solution step must
    not pay that on every ``reef run``. What detection reads changes only through a reboot
    (hardware, kernel), this interpreter, or installing software: in a folder on ``sys.path``
    or ``PATH``, which changes that folder's mtime. All of those are in the memo's key.
    """
    import hashlib
    import json
    import os
    import sys
    from pathlib import Path

    from reef import config
    from reef.files import write_atomic

    stamp: dict[str, Any] = {"python": [sys.executable, sys.version]}
    try:
        stamp["boot"] = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        stamp["boot"] = None
    folders = [p for p in sys.path if p] + os.environ.get("PATH", "").split(os.pathsep)
    for folder in folders:
        try:
            stamp[folder] = os.stat(folder).st_mtime_ns
        except OSError:
            stamp[folder] = None
    key = hashlib.sha256(json.dumps(stamp, sort_keys=True).encode()).hexdigest()[:32]
    memo = config.cache_dir() / "fingerprints" / f"{key}.json"
    try:
        return str(json.loads(memo.read_text(encoding="utf-8"))["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    digest = str(run_fingerprint(components=False).get("hash"))
    write_atomic(memo, json.dumps({"hash": digest, "stamp": stamp}).encode())
    return digest
