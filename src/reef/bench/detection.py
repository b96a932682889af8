"""Object detection accuracy: COCO's mAP@[.5:.95], in numpy.

The computation follows pycocotools' ``COCOeval`` for ``iouType="bbox"``, area range "all"
and at most 100 detections: ten IoU thresholds 0.50, 0.55, ..., 0.95; 101 recall points
0.00, 0.01, ..., 1.00 at which the interpolated precision (the best precision at that recall
or beyond) is read; AP averaged over the thresholds and over every category that has at least
one ground-truth box that is not a crowd. Crowd boxes (``iscrowd``) are never missed: a
detection that falls on one is neither a hit nor a false positive, its overlap being the
intersection over the detection's own area. As in pycocotools, the 100-detection cap applies
per image and per category, best scores first.

**Labels** (what a ``format: coco`` dataset holds, one array per sample, float64,
``[1 + max_boxes, 6]``)::

    row 0:       image_id, width, height, boxes, 0, 0      (the image, in pixels)
    rows 1..n:   category_id, x, y, w, h, iscrowd          (COCO's bbox: top-left corner and
                                                            size, in pixels of the original)

and zeros after the image's ``boxes`` rows.

**Predictions** (one per sample: a mapping of the model's outputs after post-processing)::

    boxes:    [K, 4] ymin, xmin, ymax, xmax, normalised to 0..1 (the TensorFlow Object
              Detection API's layout, which MLPerf's SSD models output)
    classes:  [K] category ids as the dataset numbers them (COCO's 1..90 for those models)
    scores:   [K]
    count:    optional: only the first ``count`` detections are valid

Boxes are scaled to the original image's pixels with the width and height of row 0, as
MLPerf's COCO post-processing does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from reef.errors import ReefError

Array = npt.NDArray[Any]

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETECTIONS = 100
LABEL_COLUMNS = 6


@dataclass(frozen=True)
class Image:
    """One image's ground truth and detections, boxes as x, y, w, h in pixels."""

    gt_boxes: Array  # [G, 4]
    gt_classes: Array  # [G] int
    gt_crowd: Array  # [G] bool
    dt_boxes: Array  # [D, 4]
    dt_classes: Array  # [D] int
    dt_scores: Array  # [D]


def box_iou(dt: Array, gt: Array, crowd: Array) -> Array:
    """IoU of each detection [D, 4] with each ground-truth box [G, 4] (x, y, w, h); for a
    crowd box the intersection is divided by the detection's area alone."""
    if len(dt) == 0 or len(gt) == 0:
        return np.zeros((len(dt), len(gt)))
    dx1, dy1 = dt[:, 0:1], dt[:, 1:2]
    dx2, dy2 = dx1 + dt[:, 2:3], dy1 + dt[:, 3:4]
    gx1, gy1 = gt[:, 0], gt[:, 1]
    gx2, gy2 = gx1 + gt[:, 2], gy1 + gt[:, 3]
    iw = np.clip(np.minimum(dx2, gx2) - np.maximum(dx1, gx1), 0, None)
    ih = np.clip(np.minimum(dy2, gy2) - np.maximum(dy1, gy1), 0, None)
    inter = iw * ih
    dt_area = dt[:, 2:3] * dt[:, 3:4]
    union = np.where(crowd[None, :], dt_area, dt_area + gt[:, 2] * gt[:, 3] - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return np.asarray(iou, dtype=np.float64)


def _match(image: Image, category: int) -> tuple[Array, Array, Array, int]:
    """One image and category: the detections' scores, and per IoU threshold whether each
    was matched [T, D] and whether it is ignored [T, D]; and the count of boxes to find."""
    g = image.gt_classes == category
    gt, crowd = image.gt_boxes[g], image.gt_crowd[g]
    # Boxes that need not be found go last, so that a real box is preferred in a match.
    gorder = np.argsort(crowd, kind="stable")
    gt, crowd = gt[gorder], crowd[gorder]
    d = image.dt_classes == category
    dorder = np.argsort(-image.dt_scores[d], kind="stable")[:MAX_DETECTIONS]
    dt, scores = image.dt_boxes[d][dorder], image.dt_scores[d][dorder]
    ious = box_iou(dt, gt, crowd)
    t_count, d_count = len(IOU_THRESHOLDS), len(dt)
    matched = np.zeros((t_count, d_count), dtype=bool)
    ignored = np.zeros((t_count, d_count), dtype=bool)
    for ti, threshold in enumerate(IOU_THRESHOLDS):
        taken = np.zeros(len(gt), dtype=bool)
        for di in range(d_count):
            best, best_iou = -1, min(threshold, 1 - 1e-10)
            for gi in range(len(gt)):
                if taken[gi] and not crowd[gi]:
                    continue
                if best > -1 and not crowd[best] and crowd[gi]:
                    break  # a real box is matched already; only crowds are left
                if ious[di, gi] < best_iou:
                    continue
                best, best_iou = gi, ious[di, gi]
            if best > -1:
                taken[best] = True
                matched[ti, di] = True
                ignored[ti, di] = bool(crowd[best])
    return scores, matched, ignored, int((~crowd).sum())


def average_precision(images: Sequence[Image]) -> float:
    """COCO's mAP@[.5:.95] over ``images``; NaN when no image has a box to find."""
    categories = sorted({int(c) for im in images for c in im.gt_classes})
    per_category: list[Array] = []
    for category in categories:
        parts = [_match(im, category) for im in images]
        positives = sum(p[3] for p in parts)
        if positives == 0:
            continue  # only crowds: pycocotools leaves the category out
        scores = np.concatenate([p[0] for p in parts])
        matched = np.concatenate([p[1] for p in parts], axis=1)
        ignored = np.concatenate([p[2] for p in parts], axis=1)
        order = np.argsort(-scores, kind="mergesort")
        matched, ignored = matched[:, order], ignored[:, order]
        tps = np.cumsum(matched & ~ignored, axis=1, dtype=np.float64)
        fps = np.cumsum(~matched & ~ignored, axis=1, dtype=np.float64)
        ap = np.zeros(len(IOU_THRESHOLDS))
        for ti in range(len(IOU_THRESHOLDS)):
            tp, fp = tps[ti], fps[ti]
            recall = tp / positives
            precision = tp / (fp + tp + np.spacing(1))
            # The interpolated precision: the best precision at this recall or any higher one.
            precision = np.maximum.accumulate(precision[::-1])[::-1]
            at = np.searchsorted(recall, RECALL_POINTS, side="left")
            valid = at < len(precision)
            sampled = np.zeros(len(RECALL_POINTS))
            sampled[valid] = precision[at[valid]]
            ap[ti] = sampled.mean()
        per_category.append(ap)
    if not per_category:
        return float("nan")
    return float(np.mean(per_category))


def _field(prediction: Mapping[str, Any], key: str) -> Array:
    if key not in prediction:
        raise ReefError(
            f"coco_map: the prediction has no {key!r} (it has {', '.join(map(str, prediction))})",
            hint="declare accuracy.output as a mapping: {boxes: OUTPUT, classes: OUTPUT, "
            "scores: OUTPUT, count: OUTPUT}",
        )
    return np.asarray(prediction[key])


def image_from(prediction: Any, label: Any) -> Image:
    """One sample's prediction (see the module's docs) and label, as an ``Image``."""
    if not isinstance(prediction, Mapping):
        raise ReefError(
            "coco_map scores several outputs together; got one output per sample",
            hint="declare accuracy.output as a mapping: {boxes: OUTPUT, classes: OUTPUT, "
            "scores: OUTPUT, count: OUTPUT}",
        )
    rows = np.asarray(label, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != LABEL_COLUMNS or len(rows) < 1:
        raise ReefError(f"coco_map: expected labels of shape [1 + boxes, 6], got {rows.shape}")
    width, height, count = rows[0, 1], rows[0, 2], int(rows[0, 3])
    gt = rows[1 : 1 + count]
    boxes = _field(prediction, "boxes").astype(np.float64).reshape(-1, 4)
    classes = _field(prediction, "classes").reshape(-1)
    scores = _field(prediction, "scores").astype(np.float64).reshape(-1)
    if not len(boxes) == len(classes) == len(scores):
        raise ReefError(
            f"coco_map: {len(boxes)} boxes, {len(classes)} classes and {len(scores)} scores"
        )
    if "count" in prediction:
        valid = int(np.asarray(prediction["count"]).reshape(-1)[0])
        boxes, classes, scores = boxes[:valid], classes[:valid], scores[:valid]
    ymin, xmin, ymax, xmax = (boxes[:, i] for i in range(4))
    pixels = np.stack(
        [xmin * width, ymin * height, (xmax - xmin) * width, (ymax - ymin) * height], axis=1
    )
    return Image(
        gt_boxes=gt[:, 1:5],
        gt_classes=gt[:, 0].astype(np.int64),
        gt_crowd=gt[:, 5] > 0,
        dt_boxes=pixels,
        dt_classes=np.rint(classes.astype(np.float64)).astype(np.int64),
        dt_scores=scores,
    )


def coco_map(predictions: Sequence[Any], labels: Any) -> float:
    """The ``coco_map`` metric: predictions and labels as the module's docs describe."""
    images = [image_from(p, label) for p, label in zip(predictions, labels, strict=True)]
    return average_precision(images)
