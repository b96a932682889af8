"""``reef.results.skyline.dominators``: with two objectives, the run of frontier rows found by
binary search is the one every frontier row compared gives, ties and duplicates included."""

from __future__ import annotations

import numpy as np
import pytest

from reef.results.skyline import _dominators, dominators, skyline


@pytest.mark.parametrize("size", [2, 5, 60, 1500])
@pytest.mark.parametrize("spread", [3, 40, 10_000])
def test_two_objectives_by_search_match_the_comparison(size: int, spread: int) -> None:
    rng = np.random.default_rng(size * spread)
    # Few distinct values: equal costs and duplicate rows, on and off the frontier.
    cost = rng.integers(0, spread, size=(size, 2)).astype(float)
    cost = cost[np.lexsort(cost.T[::-1])]
    on_front = skyline(cost)
    front, rows = cost[on_front], cost[~on_front]
    ids = [f"f{i}" for i in range(len(front))]
    picks, counts = dominators(rows, front, ids)
    assert (picks, counts) == _dominators(rows, front, ids)
    assert all(c >= 1 for c in counts)


def test_three_objectives_still_compare() -> None:
    cost = np.array([[0.0, 0, 0], [1, 1, 1], [0, 2, 2]])
    on_front = skyline(cost)
    picks, counts = dominators(cost[~on_front], cost[on_front], ["a"])
    assert (picks, counts) == ([["a"], ["a"]], [1, 1])
