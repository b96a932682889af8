"""The solution verbs: run, bench, validate and reproduce a solution, and its step cache.

The work is done in ``reef.solutions``: loading (``load``), the built-in step actions
(``actions``), running (``run``), benchmarking (``bench``), checking (``validate``),
reproducing a run (``rerun``) and the step cache (``cache``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reef.errors import EXIT_FAILED
from reef.solutions.bench import bench_solution
from reef.solutions.engine import log_tail
from reef.solutions.load import NotASolution, is_solution, load
from reef.solutions.rerun import CannotReproduce, ReproduceReport
from reef.solutions.run import RunFailed, environment_key, run
from reef.solutions.validate import Validation

if TYPE_CHECKING:
    from reef.bench.progress import Reporter
    from reef.meta.run import RunRecord
    from reef.solutions.cache import CacheEntry


def validate(
    subject: str | RunRecord, *, reporter: Reporter | None = None, in_process: bool = False
) -> Validation:
    """Run a solution's checks: on a new benchmark of ``subject`` when it is a solution, or on
    the runs recorded for ``subject`` when it is a run (an id, or a ``RunRecord``: a
    ``reef run`` or one benchmark). ``passed`` says whether every check passed."""
    from reef.solutions.validate import validate as check

    chosen = subject if isinstance(subject, str) else subject.id
    return check(chosen, reporter=reporter, in_process=in_process)


def reproduce(
    run: str | RunRecord,
    *,
    reporter: Reporter | None = None,
    in_process: bool = False,
    progress: Any = None,
    alpha: float = 0.05,
    latency_tolerance: float = 0.05,
    repeat: int | None = None,
) -> ReproduceReport:
    """Run a recorded benchmark (an id, a unique prefix or its ``RunRecord``) again from its
    record and lock alone: rebuild its environment, fetch the same checksummed components, run
    the same settings in ``repeat`` worker processes (default: the original's count when it had
    several, else 5), and compare. ``verdict`` is ``reproduced``, ``differs`` (with the
    reasons) or ``inconclusive`` (with its causes and ``advice``: a busy machine, or processes
    spread wider than the difference); ``CannotReproduce`` when the run kept no lock or its
    components are not here."""
    from reef.solutions.rerun import reproduce as rerun

    return rerun(
        run if isinstance(run, str) else run.id,
        reporter=reporter,
        in_process=in_process,
        progress=progress,
        alpha=alpha,
        latency_tolerance=latency_tolerance,
        repeat=repeat,
    )


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
