"""Everything Reef caches, of the three kinds together: listing and cleaning.

Three kinds live under ``reef.config.cache_dir()``: finished solution ``steps``
(``reef.solutions.cache``), fetched ``sources`` (``reef.components.cache``) and provisioned
``envs`` (``reef.environment.cache``). An environment that a live run holds a lease on is
never removed; it is reported as kept. Cleaning also removes what killed Reef processes left
behind (``reef.solutions.cache.leftovers``) and says how many bytes that was.

It lives with the solutions because it reaches the three packages that own a cache each; the
verbs (``reef.api.cache_list``, ``reef.api.cache_clean``) check the request and call it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, JsonValue

from reef.components import cache as sources
from reef.environment import cache as envs
from reef.solutions import cache as steps

__all__ = ["KINDS", "CacheClean", "CacheItem", "CacheLeftover", "Kind", "clean", "listing"]

Kind = Literal["steps", "sources", "envs"]
KINDS: tuple[Kind, ...] = ("steps", "sources", "envs")  # the order they are listed in
DAY_S = 86400.0


class CacheItem(BaseModel):
    """One cached thing. The fields after ``in_use_by`` belong to one kind each."""

    kind: Kind
    key: str = Field(description="the step's cache key, the source's sha256, the env's hash")
    path: str
    size_bytes: int
    created_at: datetime | None = None
    used_at: datetime | None = None
    in_use_by: list[int] = Field(
        default_factory=list, description="process ids of live runs using it (envs)"
    )
    # steps
    solution: str | None = None
    step: str | None = None
    uses: str | None = None
    duration_s: float | None = None
    output_sha256: str | None = None
    result: dict[str, JsonValue] | None = None
    # envs
    complete: bool | None = None
    python: str | None = None
    installer: str | None = None
    packages: int | None = None


class CacheLeftover(BaseModel):
    path: str
    size_bytes: int
    what: str


class CacheClean(BaseModel):
    """What ``cache_clean`` removed (with ``dry_run``, would remove), what it kept because a
    run is using it, and the leftovers of killed processes it swept."""

    dry_run: bool
    removed: list[CacheItem]
    kept: list[CacheItem] = Field(default_factory=list)
    freed_bytes: int = 0
    leftovers: list[CacheLeftover] = Field(default_factory=list)
    leftover_bytes: int = 0


def listing(kinds: Sequence[Kind] = KINDS, solution: str | None = None) -> list[CacheItem]:
    """Everything cached of ``kinds``, steps first; ``solution`` keeps only that solution's
    steps (of other kinds, nothing belongs to a solution: the caller asks for steps only)."""
    items: list[CacheItem] = []
    if "steps" in kinds:
        items += _steps(solution)
    if "sources" in kinds:
        items += _sources()
    if "envs" in kinds:
        items += _envs()
    return items


def clean(
    items: Sequence[CacheItem],
    *,
    everything: bool = False,
    unused_for_days: float | None = None,
    dry_run: bool = False,
) -> CacheClean:
    """Remove ``items`` (those unused for ``unused_for_days``, when given), except an
    environment in use by a live run, and sweep the leftovers of killed Reef processes
    (``everything``: an unowned step folder at once, not after a day). With ``dry_run``
    nothing is removed: the result says what would be."""
    if unused_for_days is not None:
        cutoff = time.time() - unused_for_days * DAY_S
        items = [i for i in items if i.used_at is None or i.used_at.timestamp() <= cutoff]
    removed: list[CacheItem] = []
    kept: list[CacheItem] = []
    for item in items:
        if item.in_use_by:
            kept.append(item)
        elif dry_run or _remove(item):
            removed.append(item)
        else:
            kept.append(item.model_copy(update={"in_use_by": list(envs.users(Path(item.path)))}))
    found = steps.leftovers(everything=everything)
    if not dry_run:
        steps.sweep_leftovers(everything=everything)
    leftovers = [
        CacheLeftover(path=str(x.path), size_bytes=x.size_bytes, what=x.what) for x in found
    ]
    return CacheClean(
        dry_run=dry_run,
        removed=removed,
        kept=kept,
        freed_bytes=sum(i.size_bytes for i in removed),
        leftovers=leftovers,
        leftover_bytes=sum(x.size_bytes for x in leftovers),
    )


def _remove(item: CacheItem) -> bool:
    """Remove one item; False when it is an environment that a run took a lease on meanwhile."""
    path = Path(item.path)
    if item.kind == "envs":
        return envs.remove(path)
    if item.kind == "sources":
        sources.remove(path)
    else:
        steps.remove(path)
    return True


def _steps(solution: str | None) -> list[CacheItem]:
    return [
        CacheItem(
            kind="steps",
            key=e.key,
            path=str(e.path),
            size_bytes=e.size_bytes(),
            created_at=e.created_at,
            used_at=e.used_at,
            solution=e.solution,
            step=e.step,
            uses=e.uses,
            duration_s=e.duration_s,
            output_sha256=e.output_sha256,
            result=e.result,
        )
        for e in steps.of_solution(solution)
    ]


def _sources() -> list[CacheItem]:
    return [
        CacheItem(
            kind="sources",
            key=s.sha256,
            path=str(s.path),
            size_bytes=s.size_bytes,
            used_at=s.used_at,
        )
        for s in sources.sources()
    ]


def _envs() -> list[CacheItem]:
    return [
        CacheItem(
            kind="envs",
            key=e.hash,
            path=str(e.path),
            size_bytes=e.size_bytes,
            created_at=e.created_at,
            used_at=e.used_at,
            in_use_by=list(e.users),
            complete=e.complete,
            python=e.python,
            installer=e.installer,
            packages=e.packages,
        )
        for e in envs.environments()
    ]
