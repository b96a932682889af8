"""``reef.results.skyline``: the frontier of points in memory, against a brute-force one."""

from __future__ import annotations

import numpy as np
import pytest

from reef.results.skyline import front_mask


def brute_force(values: list[list[float]], directions: list[str]) -> list[bool]:
    """Every pair compared: a row is on the frontier when no other row is no worse in every
    objective and better in one."""
    signs = np.array([1.0 if d == "min" else -1.0 for d in directions])
    cost = np.asarray(values) * signs
    no_worse = (cost[:, None, :] <= cost[None, :, :]).all(axis=2)  # [i, j]: i no worse than j
    better = (cost[:, None, :] < cost[None, :, :]).any(axis=2)
    dominated = (no_worse & better).any(axis=0)
    return [not d for d in dominated.tolist()]


@pytest.mark.parametrize("directions", [["min", "max"], ["max", "min", "max"], ["min"] * 3])
@pytest.mark.parametrize("size", [1, 2, 7, 300, 2500])  # 2500: more than one block of 1024
def test_front_mask_matches_brute_force(directions: list[str], size: int) -> None:
    rng = np.random.default_rng(size)
    # Few distinct values, so that ties and duplicates are common.
    values = rng.integers(0, 40, size=(size, len(directions))).astype(float).tolist()
    assert front_mask(values, directions) == brute_force(values, directions)


def test_front_mask_of_nothing() -> None:
    assert front_mask([], ["min", "max"]) == []
