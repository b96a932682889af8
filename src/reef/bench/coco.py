"""Loading a ``format: coco`` dataset: images and a COCO instances file, as sample arrays.

The dataset's sources hold the files: a zip archive (COCO's own ``val2017.zip`` and
``annotations_trainval2017.zip``) is looked into by member name, any other file is known by
the last part of its path or url (single images and a JSON file served one by one). Nothing
is extracted to disk.

Each sample's features are the encoded image file's bytes, zero-padded to one uint8 row (the
``decode`` step reads them); its label is the image's size and boxes in the layout that
``reef.bench.detection`` documents.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import urllib.parse
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reef.bench.detection import LABEL_COLUMNS
from reef.errors import ManifestError, Problem
from reef.meta.common import Source
from reef.meta.dataset import DatasetManifest

Array = npt.NDArray[Any]
Reader = Callable[[], bytes]


def _source_paths(
    dataset: DatasetManifest, first: Path, sources_dir: Path | None, file: str
) -> list[Path]:
    """Every source's verified local file; the first one the caller verified already."""
    from reef.components.checksums import verified_source

    paths = [first]
    for i, source in enumerate(dataset.sources[1:], start=1):
        if source.path is not None and sources_dir is None:
            raise ManifestError(
                [Problem(file, f"sources[{i}].path", "the dataset's folder is not known here")],
                hint="give the dataset's extra sources as urls",
            )
        paths.append(verified_source(source, sources_dir or Path("."), file, f"sources[{i}]"))
    return paths


def _name(source: Source) -> str:
    location = source.location
    if source.url is not None:
        location = urllib.parse.unquote(urllib.parse.urlsplit(location).path)
    return location.rstrip("/").rsplit("/", 1)[-1]


def load_coco(
    dataset: DatasetManifest, first: Path, sources_dir: Path | None
) -> tuple[Array, Array]:
    """The features ([samples, longest file] uint8) and labels ([samples, 1 + boxes, 6])."""
    spec = dataset.coco
    assert spec is not None
    file = str(first)
    paths = _source_paths(dataset, first, sources_dir, file)
    with contextlib.ExitStack() as stack:
        files: dict[str, Reader] = {}
        for source, path in zip(dataset.sources, paths, strict=True):
            if zipfile.is_zipfile(path):
                archive = stack.enter_context(zipfile.ZipFile(path))
                for member in archive.namelist():
                    if not member.endswith("/"):
                        files.setdefault(member, _member_reader(archive, member))
            else:
                files.setdefault(_name(source), path.read_bytes)
        reader = files.get(spec.annotations)
        if reader is None:
            raise ManifestError(
                [Problem(file, "coco.annotations", f"no source holds {spec.annotations!r}")],
                hint="name a member of a zip source, or the file name of a source",
            )
        try:
            instances = json.loads(reader())
            images = {int(im["id"]): im for im in instances["images"]}
            annotations = instances.get("annotations", [])
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError(
                [Problem(file, "coco.annotations", f"not a COCO instances file: {exc!r}")]
            ) from exc
        ids = spec.image_ids or sorted(images)[: dataset.samples]
        unknown = [i for i in ids if i not in images]
        if unknown or len(ids) < dataset.samples:
            what = f"image ids {unknown[:5]} are not" if unknown else f"only {len(ids)} images are"
            raise ManifestError(
                [Problem(file, "coco", f"{what} in {spec.annotations}")],
                hint=f"the manifest says samples: {dataset.samples}",
            )
        encoded = []
        for image_id in ids:
            name = posixpath.join(spec.images, str(images[image_id]["file_name"]))
            image_reader = files.get(name)
            if image_reader is None:
                raise ManifestError(
                    [Problem(file, "coco.images", f"no source holds the image {name!r}")]
                )
            encoded.append(image_reader())
    return _features(encoded), _labels(ids, images, annotations)


def _member_reader(archive: zipfile.ZipFile, member: str) -> Reader:
    return lambda: archive.read(member)


def _features(encoded: list[bytes]) -> Array:
    rows = np.zeros((len(encoded), max(len(e) for e in encoded)), dtype=np.uint8)
    for i, data in enumerate(encoded):
        rows[i, : len(data)] = np.frombuffer(data, dtype=np.uint8)
    return rows


def _labels(ids: list[int], images: dict[int, Any], annotations: list[Any]) -> Array:
    wanted = set(ids)
    boxes: dict[int, list[list[float]]] = {i: [] for i in ids}
    for ann in annotations:
        image_id = int(ann["image_id"])
        if image_id in wanted:
            x, y, w, h = (float(v) for v in ann["bbox"])
            crowd = float(ann.get("iscrowd", 0))
            boxes[image_id].append([float(ann["category_id"]), x, y, w, h, crowd])
    longest = max((len(b) for b in boxes.values()), default=0)
    labels = np.zeros((len(ids), 1 + longest, LABEL_COLUMNS), dtype=np.float64)
    for row, image_id in enumerate(ids):
        image = images[image_id]
        found = boxes[image_id]
        labels[row, 0, :4] = [image_id, image["width"], image["height"], len(found)]
        if found:
            labels[row, 1 : 1 + len(found)] = found
    return labels
