"""The solution verbs: run, bench, validate and reproduce a solution, and its step cache.

The work is done in ``reef.solutions``: loading (``load``), the built-in step actions
(``actions``), running (``run``), benchmarking (``bench``), checking (``validate``),
reproducing a run (``rerun``) and the step cache (``cache``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reef.errors import EXIT_FAILED
from reef.solutions.bench import bench_solution
from reef.solutions.engine import log_tail
from reef.solutions.load import NotASolution, is_solution, load
from reef.solutions.rerun import CannotReproduce, ReproduceReport, reproduce
from reef.solutions.run import RunFailed, environment_key, run
from reef.solutions.validate import Validation, validate

if TYPE_CHECKING:
    from reef.solutions.cache import CacheEntry


def cache_list(solution: str | None = None) -> list[CacheEntry]:
    """The cached steps, or those of one solution."""
    from reef.solutions import cache

    return cache.of_solution(solution)


def cache_clean(
    *,
    everything: bool = False,
    unused_for_s: float | None = None,
    solution: str | None = None,
    dry_run: bool = False,
) -> list[CacheEntry]:
    """Remove cached steps: all of them, those unused for ``unused_for_s`` seconds, or one
    solution's; returns those removed (with ``dry_run``, those that would be)."""
    from reef.solutions import cache

    return cache.clean(
        everything=everything, unused_for_s=unused_for_s, solution=solution, dry_run=dry_run
    )


__all__ = [
    "EXIT_FAILED",
    "CannotReproduce",
    "NotASolution",
    "ReproduceReport",
    "RunFailed",
    "Validation",
    "bench_solution",
    "cache_clean",
    "cache_list",
    "environment_key",
    "is_solution",
    "load",
    "log_tail",
    "reproduce",
    "run",
    "validate",
]
