"""Accuracy metrics: scores against labels, the pass rule, and the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reef.bench.metrics import get_metric, known_metrics, ranked_classes, rmse, top1, top5
from reef.errors import ReefError


def test_ranked_classes_from_a_score_vector() -> None:
    assert ranked_classes(np.array([0.1, 0.7, 0.2])) == [1, 2, 0]


def test_ranked_classes_from_a_batch_of_one() -> None:
    assert ranked_classes(np.array([[0.1, 0.7, 0.2]])) == [1, 2, 0]


def test_ranked_classes_from_a_class_index() -> None:
    assert ranked_classes(np.int64(4)) == [4]
    assert ranked_classes(np.array([4])) == [4]
    assert ranked_classes(3) == [3]


def test_ranked_classes_from_top_k() -> None:
    assert ranked_classes({"indices": [5, 2, 9], "scores": [0.5, 0.3, 0.1]}) == [5, 2, 9]


def test_ranked_classes_ties_keep_index_order() -> None:
    assert ranked_classes(np.array([0.2, 0.4, 0.4, 0.0])) == [1, 2, 0, 3]


def test_ranked_classes_from_unsigned_scores() -> None:
    assert ranked_classes(np.array([3, 200, 7], dtype=np.uint8)) == [1, 2, 0]


def test_ranked_classes_refuses_a_matrix() -> None:
    with pytest.raises(ReefError) as info:
        ranked_classes(np.zeros((2, 3)))
    assert "(2, 3)" in info.value.message


def test_top1() -> None:
    predictions = [np.array([0.9, 0.1]), np.array([0.2, 0.8]), {"indices": [0, 1]}, np.int64(1)]
    assert top1.score(predictions, [0, 0, 0, 1]) == pytest.approx(0.75)


def test_top5() -> None:
    scores = np.arange(10, dtype=np.float32)  # best first: 9, 8, 7, 6, 5, 4, ...
    assert top5.score([scores, scores], np.array([5, 4])) == pytest.approx(0.5)
    assert top1.score([scores], [9]) == 1.0


def test_rmse() -> None:
    value = rmse.score([np.array([1.0]), np.array([3.0])], [2.0, 2.0])
    assert value == pytest.approx(1.0)
    assert rmse.score([np.array([[0.5, 1.5]])], np.array([[0.5, 1.5]])) == 0.0


def test_higher_is_better_passes_at_the_threshold() -> None:
    assert top1.passes(0.99 * 0.8, 0.8, 0.99)
    assert not top1.passes(0.99 * 0.8 - 1e-6, 0.8, 0.99)
    assert top1.passes(0.9, 0.8, 0.99)


def test_lower_is_better_passes_within_the_threshold() -> None:
    assert rmse.passes(1.0, 1.0, 0.99)
    assert rmse.passes(1.0 / 0.99, 1.0, 0.99)
    assert not rmse.passes(1.0 / 0.99 + 1e-6, 1.0, 0.99)
    assert rmse.passes(0.5, 1.0, 0.99)


def test_nan_never_passes() -> None:
    assert not top1.passes(math.nan, 0.9, 0.99)
    assert not rmse.passes(math.nan, 0.9, 0.99)


def test_registry() -> None:
    assert {"top1", "top5", "rmse"} <= set(known_metrics())
    assert get_metric("top1") is top1
    assert get_metric("rmse").higher_is_better is False


def test_unknown_metric_lists_known_ones() -> None:
    with pytest.raises(ReefError) as info:
        get_metric("f1")
    assert "'f1'" in info.value.message
    assert info.value.hint is not None
    for name in ("top1", "top5", "rmse"):
        assert name in info.value.hint
