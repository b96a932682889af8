"""The built-in CodeReef demo (SSD-MobileNet on a COCO subset), run against stand-ins.

The real model and COCO's archives come from the network. Here small files of the same kind
stand in for them (an ONNX model with the real one's input and outputs, COCO-style zips of a
few JPEGs and an instances file), served by a local HTTP server; the three built-in
components are copied with only their urls, sha256 and sample count changed, so that their
fetch, pre-processing, box post-processing and mAP paths run as they would for real.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

import reef
from reef import api
from reef.bench.coco import load_coco
from reef.meta.dataset import DatasetManifest
from reef.meta.load import load_manifest

BUILTIN = Path(reef.__file__).parent / "builtin"
COMPONENTS = ("ssd-mobilenet-v1", "coco-subset", "ssd-mobilenet-coco")
DETECTIONS = 100  # what the TensorFlow SSD post-processing answers per image

# Each stand-in image holds a person and a dog at the same place relative to its size; the
# stand-in model finds both there. Image sizes differ, so the pixel boxes do too.
SIZES = [(320, 240), (200, 300), (128, 128), (640, 480), (300, 200)]
PERSON = (0.10, 0.20, 0.50, 0.60)  # ymin, xmin, ymax, xmax (normalised)
DOG = (0.55, 0.40, 0.95, 0.90)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stand_in_model() -> bytes:
    """image_tensor:0 uint8 [N, H, W, 3] -> TF Object Detection API outputs, batch-sized.

    Three real detections (person, dog, a cat where there is none); a fourth row past
    num_detections that would be a confident false positive if it were read.
    """
    boxes = np.zeros((1, DETECTIONS, 4), np.float32)
    classes = np.zeros((1, DETECTIONS), np.float32)
    scores = np.zeros((1, DETECTIONS), np.float32)
    rows = [(PERSON, 1, 0.9), (DOG, 18, 0.8), ((0.0, 0.0, 0.2, 0.2), 17, 0.3)]
    rows.append(((0.3, 0.3, 0.4, 0.4), 1, 0.99))  # padding: not counted
    for i, (box, cls, score) in enumerate(rows):
        boxes[0, i], classes[0, i], scores[0, i] = box, cls, score
    consts = {
        "B": boxes,
        "C": classes,
        "S": scores,
        "K": np.array([3.0], np.float32),
        "start": np.array([0], np.int64),
        "one": np.array([1], np.int64),
        "tail4": np.array([DETECTIONS, 4], np.int64),
        "tail": np.array([DETECTIONS], np.int64),
    }
    nodes = [
        helper.make_node("Shape", ["image_tensor:0"], ["shape"]),
        helper.make_node("Slice", ["shape", "start", "one"], ["n"]),
        helper.make_node("Concat", ["n", "tail4"], ["boxes_shape"], axis=0),
        helper.make_node("Concat", ["n", "tail"], ["rows_shape"], axis=0),
        helper.make_node("Expand", ["B", "boxes_shape"], ["detection_boxes:0"]),
        helper.make_node("Expand", ["C", "rows_shape"], ["detection_classes:0"]),
        helper.make_node("Expand", ["S", "rows_shape"], ["detection_scores:0"]),
        helper.make_node("Expand", ["K", "n"], ["num_detections:0"]),
    ]
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "ssd-stand-in",
        [helper.make_tensor_value_info("image_tensor:0", TensorProto.UINT8, ["n", "h", "w", 3])],
        [
            helper.make_tensor_value_info("detection_boxes:0", f32, ["n", DETECTIONS, 4]),
            helper.make_tensor_value_info("detection_classes:0", f32, ["n", DETECTIONS]),
            helper.make_tensor_value_info("detection_scores:0", f32, ["n", DETECTIONS]),
            helper.make_tensor_value_info("num_detections:0", f32, ["n"]),
        ],
        initializer=[numpy_helper.from_array(v, name=k) for k, v in consts.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def jpeg(size: tuple[int, int], seed: int, mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(seed)
    w, h = size
    pixels = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    buf = io.BytesIO()
    image.save(buf, format="JPEG")
    return buf.getvalue()


def pixel_box(box: tuple[float, ...], size: tuple[int, int]) -> list[float]:
    ymin, xmin, ymax, xmax = box
    w, h = size
    return [xmin * w, ymin * h, (xmax - xmin) * w, (ymax - ymin) * h]


def instances(missed: bool) -> dict[str, Any]:
    """COCO-style ground truth: a person and a dog per image; with ``missed``, the last image
    also holds a second person that the stand-in model does not find."""
    data: dict[str, Any] = {"images": [], "annotations": [], "categories": []}
    data["categories"] = [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}]
    for i, size in enumerate(SIZES):
        image_id = 1000 + i * 7  # ids out of file order: the subset is taken by id
        data["images"].append(
            {
                "id": image_id,
                "file_name": f"{image_id:012d}.jpg",
                "width": size[0],
                "height": size[1],
            }
        )
        objects = [(1, PERSON), (18, DOG)]
        if missed and i == len(SIZES) - 1:
            objects.append((1, (0.6, 0.0, 0.9, 0.3)))
        for cat, box in objects:
            bbox = pixel_box(box, size)
            data["annotations"].append(
                {
                    "id": len(data["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": cat,
                    "bbox": bbox,
                    "area": bbox[2] * bbox[3],
                    "iscrowd": 0,
                }
            )
    return data


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def images() -> dict[str, bytes]:
    return {
        f"{1000 + i * 7:012d}.jpg": jpeg(size, i, "L" if i == 2 else "RGB")
        for i, size in enumerate(SIZES)
    }


def rewrite(path: Path, change: dict[str, Any]) -> None:
    data = yaml.safe_load(path.read_text())
    data.update(change)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def stand_in_repo(tmp_path: Path, http_server: Any) -> Path:
    """The three components in a trusted repository, their sources served locally."""
    model = stand_in_model()
    annotations = zipped(
        {"annotations/instances_val2017.json": json.dumps(instances(True)).encode()}
    )
    val = zipped({f"val2017/{name}": data for name, data in images().items()})
    repo = tmp_path / "repo"
    for name in COMPONENTS:
        shutil.copytree(BUILTIN / name, repo / name)
        # Above the built-in 1.0.0, so that names resolve to these copies.
        rewrite(repo / name / "reef.yaml", {"version": "9.0.0"})
    rewrite(
        repo / "ssd-mobilenet-v1" / "reef.yaml",
        {"sources": [{"url": http_server.route("/model.onnx", model), "sha256": sha(model)}]},
    )
    ann_url = http_server.route("/annotations_trainval2017.zip", annotations)
    val_url = http_server.route("/val2017.zip", val)
    rewrite(
        repo / "coco-subset" / "reef.yaml",
        {
            "sources": [
                {"url": ann_url, "sha256": sha(annotations)},
                {"url": val_url, "sha256": sha(val)},
            ],
            "samples": len(SIZES),
        },
    )
    api.repo_add(str(repo), name="stand-ins", trusted=True)
    return repo


def test_fetch_then_bench_scores_the_boxes(stand_in_repo: Path, http_server: Any) -> None:
    fetched = api.fetch("ssd-mobilenet-coco")
    assert {f.location.rsplit("/", 1)[-1] for f in fetched} == {
        "model.onnx",
        "annotations_trainval2017.zip",
        "val2017.zip",
    }
    assert {f.status for f in fetched} == {"downloaded"}
    assert all(f.path.read_bytes() and f.path.name == f.sha256 for f in fetched)

    # `reef check` of each copy: sources against their sha256, the model's signature.
    for name in COMPONENTS:
        assert api.check(stand_in_repo / name).name == name
    assert "signature" in api.check(stand_in_repo / "ssd-mobilenet-v1").checks

    settings = api.bench_settings(["SingleStream"], mode="accuracy", duration_s=0.05)
    (record,) = api.bench("ssd-mobilenet-v1", settings, in_process=True, store=False)
    # Nothing more was downloaded: the bench read the cache that fetch filled.
    assert all(http_server.hits(p) == 1 for p in ("/model.onnx", "/val2017.zip"))
    assert record.samples["count"] == len(SIZES)
    assert record.samples["shapes"] == {"image_tensor:0": [300, 300, 3]}
    acc = record.accuracy
    assert acc is not None and acc.metric == "coco_map" and acc.samples == len(SIZES)
    # Person: 5 of 6 found, all at IoU 1 (recall 0..5/6 at precision 1: 84 of 101 points);
    # dog: all found. The cat has no ground truth; the padding row past the count is not read.
    assert acc.value == pytest.approx((84 / 101 + 1.0) / 2, abs=1e-6)
    assert acc.reference == 0.23 and acc.passed is True


def test_the_loader_reads_single_files_too(tmp_path: Path, http_server: Any) -> None:
    """Images and the instances file as separate url sources, not archives."""
    files = {"instances.json": json.dumps(instances(False)).encode(), **images()}
    sources = [{"url": http_server.route(f"/{n}", d), "sha256": sha(d)} for n, d in files.items()]
    dataset = DatasetManifest.model_validate(
        {
            "name": "coco-files",
            "version": "1.0.0",
            "format": "coco",
            "sources": sources,
            "coco": {"annotations": "instances.json", "image_ids": [1014, 1000]},
            "samples": 2,
        }
    )
    from reef.components.fetch import fetch

    first = fetch(sources[0]["url"], sources[0]["sha256"])
    features, labels = load_coco(dataset, first, None)
    assert features.dtype == np.uint8 and len(features) == 2
    assert Image.open(io.BytesIO(features[0].tobytes())).size == SIZES[2]
    assert labels.shape == (2, 3, 6)
    assert list(labels[0, 0, :4]) == [1014, 128, 128, 2]
    assert labels[1, 1, 0] == 1 and labels[1, 1, 1:5] == pytest.approx(pixel_box(PERSON, SIZES[0]))


def test_the_real_manifests_are_valid_and_pinned() -> None:
    """Schema, steps and metric of the shipped manifests (their files need the network)."""
    from reef.bench.checks import plugin_problems

    manifests = {n: load_manifest(BUILTIN / n / "reef.yaml") for n in COMPONENTS}
    model, dataset, solution = (manifests[n] for n in COMPONENTS)
    assert plugin_problems(model, "ssd-mobilenet-v1") == []  # type: ignore[arg-type]
    for m in (model, dataset):
        for source in m.sources:  # type: ignore[union-attr]
            assert source.url is not None and source.url.startswith("https://")
            assert re.fullmatch(r"[0-9a-f]{64}", source.sha256)
    assert solution.kind == "solution" and [s.name for s in solution.steps] == [  # type: ignore[union-attr]
        "fetch",
        "bench",
        "validate",
    ]
    assert {c.uses for c in solution.checks} == {"accuracy", "latency"}  # type: ignore[union-attr]


def test_the_solution_runs_fetch_bench_validate(stand_in_repo: Path) -> None:
    from reef.api import solutions

    rewrite(
        stand_in_repo / "ssd-mobilenet-coco" / "reef.yaml",
        {
            "bench": {
                "models": ["ssd-mobilenet-v1"],
                "scenarios": ["SingleStream"],
                "settings": {"mode": "both", "duration_s": 0.2, "warmup_queries": 5},
            }
        },
    )
    record = solutions.run("ssd-mobilenet-coco", in_process=True)
    assert [s.name for s in record.steps] == ["fetch", "bench", "validate"]
    checks = {c["uses"]: c for s in record.steps for c in (s.checks or [])}
    assert checks["accuracy"]["passed"] and checks["latency"]["passed"]
