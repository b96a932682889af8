"""COCO mAP (reef.bench.detection) on hand-made cases, and against pycocotools when present."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import pytest

from reef.bench.detection import coco_map
from reef.bench.metrics import get_metric
from reef.errors import ReefError

W, H = 200.0, 100.0
# category, x, y, w, h, iscrowd (pixels)
CAT = [1.0, 20.0, 10.0, 60.0, 40.0, 0.0]
DOG = [18.0, 120.0, 50.0, 50.0, 30.0, 0.0]


def label(*boxes: list[float], image_id: int = 1, size: tuple[float, float] = (W, H)) -> Any:
    rows = np.zeros((1 + max(len(boxes), 1), 6))
    rows[0, :4] = [image_id, size[0], size[1], len(boxes)]
    for i, b in enumerate(boxes):
        rows[1 + i] = b
    return rows


def normalised(box: list[float], size: tuple[float, float] = (W, H)) -> list[float]:
    """A label row's box as the model answers it: ymin, xmin, ymax, xmax in 0..1."""
    _, x, y, w, h, _ = box
    return [y / size[1], x / size[0], (y + h) / size[1], (x + w) / size[0]]


def prediction(*dets: tuple[list[float], float, float], count: int | None = None) -> Any:
    """``dets``: (label row whose box is answered, class, score)."""
    out: dict[str, Any] = {
        "boxes": np.array([normalised(b) for b, _, _ in dets], dtype=np.float32).reshape(-1, 4),
        "classes": np.array([c for _, c, _ in dets], dtype=np.float32),
        "scores": np.array([s for _, _, s in dets], dtype=np.float32),
    }
    if count is not None:
        out["count"] = np.float32(count)
    return out


def shifted(box: list[float], dx: float) -> list[float]:
    return [box[0], box[1] + dx, *box[2:]]


def test_perfect_detections_score_one() -> None:
    preds = [prediction((CAT, 1, 0.9), (DOG, 18, 0.8))]
    assert coco_map(preds, [label(CAT, DOG)]) == pytest.approx(1.0)


def test_a_missed_box_halves_recall_of_its_category() -> None:
    cat2 = [1.0, 100.0, 5.0, 30.0, 30.0, 0.0]
    preds = [prediction((CAT, 1, 0.9), (DOG, 18, 0.8))]
    # cat: recall stops at 0.5, so 51 of 101 recall points have precision 1; dog: 1.
    expected = (51 / 101 + 1.0) / 2
    assert coco_map(preds, [label(CAT, DOG, cat2)]) == pytest.approx(expected)


def test_wrong_class_is_a_false_positive_and_a_miss() -> None:
    preds = [prediction((CAT, 18, 0.9), (DOG, 18, 0.8))]
    # cat: never found (AP 0); dog: found second, after a false positive: precision 1/2.
    assert coco_map(preds, [label(CAT, DOG)]) == pytest.approx((0.0 + 0.5) / 2)


def test_a_class_with_no_ground_truth_does_not_count() -> None:
    preds = [prediction((CAT, 1, 0.9), (DOG, 3, 0.99))]
    assert coco_map(preds, [label(CAT)]) == pytest.approx(1.0)


def test_count_drops_the_padding_rows() -> None:
    junk = [1.0, 0.0, 0.0, 10.0, 10.0, 0.0]
    preds = [prediction((CAT, 1, 0.5), (junk, 1, 0.99), count=1)]
    assert coco_map(preds, [label(CAT)]) == pytest.approx(1.0)


def test_iou_thresholds_average_over_point_five_to_point_nine_five() -> None:
    # A box shifted by 10 of its 60 pixels: IoU = 50*40 / (2*60*40 - 50*40) = 0.714...
    preds = [prediction((shifted(CAT, 10.0), 1, 0.9))]
    iou = 50 * 40 / (2 * 60 * 40 - 50 * 40)
    hits = sum(1 for t in np.linspace(0.5, 0.95, 10) if iou >= t)
    assert coco_map(preds, [label(CAT)]) == pytest.approx(hits / 10)


def test_a_detection_on_a_crowd_is_neither_hit_nor_false_positive() -> None:
    crowd = [1.0, 100.0, 0.0, 100.0, 100.0, 1.0]
    inside = [1.0, 110.0, 10.0, 30.0, 30.0, 0.0]  # lies within the crowd region
    preds = [prediction((inside, 1, 0.95), (CAT, 1, 0.9))]
    assert coco_map(preds, [label(CAT, crowd)]) == pytest.approx(1.0)
    # Without the crowd the same detection is a false positive ranked first.
    assert coco_map(preds, [label(CAT)]) == pytest.approx(0.5)


def test_boxes_scale_with_each_images_own_size() -> None:
    big = (640.0, 480.0)
    box = [1.0, 64.0, 48.0, 320.0, 240.0, 0.0]
    pred = {
        "boxes": np.array([normalised(box, big)], dtype=np.float32),
        "classes": np.array([1.0]),
        "scores": np.array([0.7]),
    }
    assert coco_map([pred], [label(box, size=big)]) == pytest.approx(1.0)


def test_the_registered_metric_and_its_errors() -> None:
    metric = get_metric("coco_map")
    assert metric.higher_is_better
    assert metric.score([prediction((CAT, 1, 0.9))], [label(CAT)]) == pytest.approx(1.0)
    with pytest.raises(ReefError, match="several outputs"):
        metric.score([np.zeros(4)], [label(CAT)])
    with pytest.raises(ReefError, match="no 'scores'"):
        metric.score([{"boxes": np.zeros((1, 4)), "classes": np.ones(1)}], [label(CAT)])


def _random_case(seed: int) -> tuple[list[Any], list[Any], dict[str, Any], list[dict[str, Any]]]:
    """Images with random boxes and noisy detections; also as pycocotools' ground truth and
    results."""
    rng = np.random.default_rng(seed)
    preds, labels = [], []
    gt: dict[str, Any] = {"images": [], "annotations": [], "categories": []}
    results: list[dict[str, Any]] = []
    cats = [1, 2, 3, 5]
    gt["categories"] = [{"id": c, "name": str(c)} for c in cats]
    for image_id in range(1, 9):
        w, h = float(rng.integers(100, 400)), float(rng.integers(100, 400))
        gt["images"].append({"id": image_id, "width": w, "height": h})
        rows = []
        for _ in range(int(rng.integers(0, 6))):
            bw, bh = rng.uniform(5, w / 2), rng.uniform(5, h / 2)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            cat, crowd = int(rng.choice(cats)), int(rng.random() < 0.1)
            rows.append([cat, x, y, bw, bh, crowd])
            gt["annotations"].append(
                {
                    "id": len(gt["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": cat,
                    "bbox": [x, y, bw, bh],
                    "area": bw * bh,
                    "iscrowd": crowd,
                }
            )
        labels.append(label(*rows, image_id=image_id, size=(w, h)))
        dets = []
        for row in rows:  # a jittered copy of most boxes, sometimes of the wrong class
            if rng.random() < 0.8:
                dx, dy, dw, dh = rng.normal(0, 4, 4)
                cat = row[0] if rng.random() < 0.85 else float(rng.choice(cats))
                size = [max(1.0, row[3] + dw), max(1.0, row[4] + dh)]
                dets.append([cat, row[1] + dx, row[2] + dy, *size])
        for _ in range(int(rng.integers(0, 4))):  # and some clutter
            corner = [rng.uniform(0, w / 2), rng.uniform(0, h / 2)]
            size = [rng.uniform(5, w / 2), rng.uniform(5, h / 2)]
            dets.append([float(rng.choice(cats)), *corner, *size])
        scores = rng.random(len(dets))
        boxes = [[d[2] / h, d[1] / w, (d[2] + d[4]) / h, (d[1] + d[3]) / w] for d in dets]
        preds.append(
            {
                "boxes": np.array(boxes, dtype=np.float64).reshape(-1, 4),
                "classes": np.array([d[0] for d in dets]),
                "scores": scores,
            }
        )
        for d, s in zip(dets, scores, strict=True):
            results.append(
                {"image_id": image_id, "category_id": int(d[0]), "bbox": d[1:5], "score": s}
            )
    return preds, labels, gt, results


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_pycocotools(seed: int) -> None:
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    preds, labels, gt, results = _random_case(seed)
    if not results or not gt["annotations"]:
        pytest.skip("an empty case")
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = gt
        truth.createIndex()
        answered = truth.loadRes(results)
        ev = COCOeval(truth, answered, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert coco_map(preds, labels) == pytest.approx(ev.stats[0], abs=1e-9)
