"""Accuracy metrics: the built-in ones and those of the ``reef.metrics`` entry-point group.

A metric scores the post-processed predictions of every sample against the dataset's labels.
Predictions arrive in whatever form the output's last step left them: a score vector, a class
index (``argmax``), or ``top_k``'s ``{"indices": [...], ...}``.

``METRICS`` is their group in ``reef.plugins``: a plugin is imported when a manifest first
names it, and one with a built-in's name is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reef.errors import BenchError, PluginError, ReefError
from reef.plugins import PluginGroup

GROUP = "reef.metrics"


class MetricError(BenchError):
    """An accuracy metric that no built-in or plugin provides."""


class MetricPluginError(PluginError, MetricError):
    """A metric plugin could not be loaded, or does not provide a ``Metric`` (exit 3)."""


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    score: Callable[[Sequence[Any], Any], float]
    description: str = ""

    def passes(self, value: float, reference: float, threshold: float) -> bool:
        """MLPerf's rule: reach ``threshold`` of the reference (or stay within it, for errors)."""
        if self.higher_is_better:
            return value >= reference * threshold
        return value <= reference / threshold


def ranked_classes(prediction: Any) -> list[int]:
    """Class indices, best first, from any of the shapes a classifier's output takes."""
    import numpy as np

    if isinstance(prediction, dict) and "indices" in prediction:
        return [int(i) for i in prediction["indices"]]
    arr = np.asarray(prediction)
    if arr.ndim == 0 or (arr.size == 1 and np.issubdtype(arr.dtype, np.integer)):
        return [int(arr.reshape(-1)[0])]
    scores = arr.reshape(-1) if arr.ndim > 1 and arr.shape[0] == 1 else arr
    if scores.ndim != 1:
        raise ReefError(f"expected a vector of class scores per sample, got shape {arr.shape}")
    return [int(i) for i in np.argsort(-scores.astype("float64"), kind="stable")]


def _top(k: int) -> Callable[[Sequence[Any], Any], float]:
    def score(predictions: Sequence[Any], labels: Any) -> float:
        hits = sum(
            int(label) in ranked_classes(p)[:k]
            for p, label in zip(predictions, labels, strict=True)
        )
        return hits / len(predictions)

    return score


def _rmse(predictions: Sequence[Any], labels: Any) -> float:
    import numpy as np

    pred = np.stack([np.asarray(p, dtype="float64").reshape(-1) for p in predictions])
    truth = np.asarray(labels, dtype="float64").reshape(pred.shape)
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


top1 = Metric("top1", True, _top(1), "fraction of samples whose best class is the label")
top5 = Metric("top5", True, _top(5), "fraction of samples whose label is among the best five")
rmse = Metric("rmse", False, _rmse, "root mean squared error against numeric labels")


def _coco_map(predictions: Sequence[Any], labels: Any) -> float:
    from reef.bench.detection import coco_map as score

    return score(predictions, labels)


# Detection: several outputs per sample (accuracy.output as a mapping); see bench.detection.
coco_map = Metric("coco_map", True, _coco_map, "COCO mAP@[.5:.95] of detected boxes")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions from a to b."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _cer(predictions: Sequence[Any], labels: Any) -> float:
    edits = sum(edit_distance(str(p), str(t)) for p, t in zip(predictions, labels, strict=True))
    chars = sum(len(str(t)) for t in labels)
    return edits / chars if chars else float(edits > 0)


# Text recognition: predictions and labels are strings.
cer = Metric("cer", False, _cer, "character error rate: edits / characters of the labels")


def _metric(name: str, obj: Any) -> Metric:
    if not isinstance(obj, Metric):
        raise TypeError(f"it provides {type(obj).__name__}, not a reef.bench.metrics.Metric")
    return obj


METRICS: PluginGroup[Metric] = PluginGroup(
    GROUP,
    kind="metric",
    builtins={m.name: m for m in (top1, top5, rmse, coco_map, cer)},
    error=MetricPluginError,
    accept=_metric,
)


def known_metrics() -> list[str]:
    return METRICS.names()


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise MetricError(
            f"unknown accuracy metric {name!r}", hint=f"known metrics: {', '.join(known_metrics())}"
        )
    return METRICS.load(name)
