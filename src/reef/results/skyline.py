"""Which rows of a cost matrix nothing dominates, fast enough for 100,000 runs.

Every objective is turned into one to minimise, and the rows sorted lexicographically: a row
can then only be dominated by rows before it. Two objectives take one sweep with a running
minimum; three a blockwise skyline in numpy. Which frontier rows dominate each other row is,
with two objectives, a run of consecutive frontier rows found by two binary searches; with
three, a comparison with every frontier row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["MAX_DOMINATORS", "dominators", "front_mask", "skyline"]

MAX_DOMINATORS = 3  # frontier runs named per dominated run
_BLOCK = 1024  # runs compared at once by the three-objective skyline


def front_mask(values: Sequence[Sequence[float]], directions: Sequence[str]) -> list[bool]:
    """Which of ``values`` (one row per run, finite, one column per objective, 2 or 3 of
    them) nothing dominates, given each column's direction (``min`` or ``max``): the frontier
    of runs already in memory."""
    import numpy as np

    if not values:
        return []
    signs = np.array([1.0 if d == "min" else -1.0 for d in directions])
    cost = np.asarray(values, dtype=float) * signs
    order = np.lexsort(cost.T[::-1])
    on_front = skyline(cost[order])
    mask = np.zeros(len(values), dtype=bool)
    mask[order[on_front]] = True
    return [bool(v) for v in mask]


def skyline(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Non-dominated rows of ``cost`` (sorted lexicographically, minimised)."""
    return _skyline_2d(cost) if cost.shape[1] == 2 else _skyline(cost)


def _skyline_2d(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """A row is dominated exactly when some row strictly before it in lexicographic order has
    a second value no greater, so one running minimum over the groups of identical rows
    decides every row."""
    import numpy as np

    n = len(cost)
    if n == 0:
        return np.zeros(0, dtype=bool)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (cost[1:] != cost[:-1]).any(axis=1)
    starts = np.flatnonzero(new_group)
    group_start = starts[np.cumsum(new_group) - 1]
    best = np.minimum.accumulate(cost[:, 1])
    # The smallest second value among rows in earlier groups; none before the first group.
    before = np.where(group_start > 0, best[np.maximum(group_start - 1, 0)], np.inf)
    result: npt.NDArray[np.bool_] = before > cost[:, 1]
    return result


def _skyline(cost: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Block by block: rows only ever dominate rows after them, so the frontier found so far
    only grows."""
    import numpy as np

    n = len(cost)
    on_front = np.zeros(n, dtype=bool)
    front = cost[:0]
    for start in range(0, n, _BLOCK):
        block = cost[start : start + _BLOCK]
        alive = ~_dominated_by_any(block, front)
        candidates = block[alive]
        # Within the block, against each other (identical rows never dominate each other).
        inside = _dominates(candidates[:, None, :], candidates[None, :, :]).any(axis=0)
        keep = np.flatnonzero(alive)[~inside]
        on_front[start + keep] = True
        front = np.concatenate([front, block[keep]])
    return on_front


def _dominates(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Whether ``a`` dominates ``b`` (last axis: objectives), over the broadcast other axes."""
    import numpy as np

    no_worse = a[..., 0] <= b[..., 0]
    better = a[..., 0] < b[..., 0]
    for j in range(1, a.shape[-1]):
        no_worse &= a[..., j] <= b[..., j]
        better |= a[..., j] < b[..., j]
    return np.asarray(no_worse & better, dtype=bool)


def _dominated_by_any(
    rows: npt.NDArray[np.float64], front: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    import numpy as np

    if len(front) == 0 or len(rows) == 0:
        return np.zeros(len(rows), dtype=bool)
    return np.asarray(_dominates(front[None, :, :], rows[:, None, :]).any(axis=1), dtype=bool)


def dominators(
    rows: npt.NDArray[np.float64], front: npt.NDArray[np.float64], front_ids: list[str]
) -> tuple[list[list[str]], list[int]]:
    """For each row (each dominated by some frontier row), the ids of the first
    ``MAX_DOMINATORS`` frontier runs dominating it, in frontier order, and how many do.
    ``front`` is the frontier in lexicographic order."""
    if front.shape[1] == 2:
        return _dominators_2d(rows, front, front_ids)
    return _dominators(rows, front, front_ids)


def _dominators_2d(
    rows: npt.NDArray[np.float64], front: npt.NDArray[np.float64], front_ids: list[str]
) -> tuple[list[list[str]], list[int]]:
    """Along a two-objective frontier in lexicographic order the first cost never falls and
    the second never rises, so the frontier rows no worse than a row in the first cost are a
    prefix, those no worse in the second a suffix, and those dominating it (no worse in both,
    and not equal: a dominated row equals no frontier row) the run where they overlap."""
    import numpy as np

    upto = np.searchsorted(front[:, 0], rows[:, 0], side="right")
    # The second costs reversed are ascending: how many frontier rows are no worse in it.
    no_worse = np.searchsorted(front[::-1, 1], rows[:, 1], side="right")
    start = len(front) - no_worse
    counts = np.maximum(upto - start, 0)
    shown = np.minimum(counts, MAX_DOMINATORS)
    names = np.array(front_ids, dtype=object)
    picks: list[list[str]] = [None] * len(rows)  # type: ignore[list-item]  # all set below
    for at in np.flatnonzero(shown == 0).tolist():  # none for a dominated row; a guard
        picks[at] = []
    for width in range(1, MAX_DOMINATORS + 1):
        chosen = np.flatnonzero(shown == width)
        lists = names[start[chosen, None] + np.arange(width)].tolist()
        for at, ids in zip(chosen.tolist(), lists, strict=True):
            picks[at] = ids
    return picks, counts.tolist()


def _dominators(
    rows: npt.NDArray[np.float64], front: npt.NDArray[np.float64], front_ids: list[str]
) -> tuple[list[list[str]], list[int]]:
    """``dominators`` by comparing each row with every frontier row, in chunks to bound
    memory."""
    import numpy as np

    names = np.array(front_ids, dtype=object)
    picks: list[list[str]] = []
    counts: list[int] = []
    chunk = max(1, 4_000_000 // max(1, len(front)))
    for start in range(0, len(rows), chunk):
        mask = _dominates(front[None, :, :], rows[start : start + chunk, None, :])
        total = mask.sum(axis=1)
        counts.extend(total.tolist())
        # Each row's first few dominating frontier indices, in frontier order.
        taken = np.zeros((len(mask), MAX_DOMINATORS), dtype=int)
        left = mask.copy()
        every = np.arange(len(left))
        for slot in range(MAX_DOMINATORS):
            first = left.argmax(axis=1)
            taken[:, slot] = first
            left[every, first] = False
        # Every row has at least one (a dominated run is dominated by a frontier run).
        shown = np.minimum(total, MAX_DOMINATORS)
        part: list[list[str]] = [[] for _ in range(len(mask))]
        for width in range(1, MAX_DOMINATORS + 1):
            chosen = np.flatnonzero(shown == width)
            for at, ids in zip(chosen.tolist(), names[taken[chosen, :width]].tolist(), strict=True):
                part[at] = ids
        picks.extend(part)
    return picks, counts
