"""Cache verbs: list and clean what Reef keeps and can rebuild.

Steps, fetched sources and provisioned environments; the work (and why an environment in
use is kept, and what the leftovers of killed processes are) is in ``reef.solutions.caches``.
"""

from __future__ import annotations

from collections.abc import Sequence

from reef.errors import SettingsError
from reef.meta.choices import CACHE_KIND
from reef.solutions.caches import KINDS, CacheClean, CacheItem, CacheLeftover, Kind, clean, listing

__all__ = ["CacheClean", "CacheItem", "CacheLeftover", "cache_clean", "cache_list"]


def _kinds(kinds: Sequence[str] | None, solution: str | None) -> list[Kind]:
    chosen = [CACHE_KIND.parse(k) for k in kinds] if kinds else list(KINDS)
    if solution is not None:
        if "steps" not in chosen:
            raise SettingsError("--solution applies to cached steps", hint="add --kind steps")
        return ["steps"]
    return [k for k in KINDS if k in chosen]


def cache_list(
    kinds: Sequence[str] | None = None, *, solution: str | None = None
) -> list[CacheItem]:
    """Everything cached of ``kinds`` (all three by default; any spelling of ``steps``,
    ``sources``, ``envs``), steps first; ``solution`` keeps only that solution's steps."""
    return listing(_kinds(kinds, solution), solution)


def cache_clean(
    kinds: Sequence[str] | None = None,
    *,
    everything: bool = False,
    unused_for_days: float | None = None,
    solution: str | None = None,
    dry_run: bool = False,
) -> CacheClean:
    """Remove cached things of ``kinds`` (all three by default): all of them
    (``everything``), those unused for ``unused_for_days``, or one solution's steps. An
    environment in use by a live run is kept. Leftovers of killed Reef processes are swept
    too (listed only, with ``dry_run``). Asking for nothing, or a negative time, is refused
    before anything is removed."""
    if unused_for_days is not None and not unused_for_days >= 0:
        raise SettingsError(f"--unused-for: expected a number of days >= 0, got {unused_for_days}")
    if not (everything or unused_for_days is not None or solution is not None):
        raise SettingsError(
            "say what to remove",
            hint="--all, --unused-for DAYS or --solution NAME, with --kind to choose among "
            "steps, sources and envs (--dry-run shows it first)",
        )
    items = listing(_kinds(kinds, solution), solution)
    return clean(items, everything=everything, unused_for_days=unused_for_days, dry_run=dry_run)
