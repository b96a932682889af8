#!/usr/bin/env python3
"""Build Reef's ``digit-photos`` dataset: JPEG photos of held-out handwritten digits.

Writes ``src/reef/builtin/digit-photos/`` (``digit-photos.npz`` and its ``reef.yaml``).

Each photo shows one digit of the held-out 25% of scikit-learn's bundled digits (the split of
tools/build_builtin.py, so none of them trained the built-in models), drawn like chalk on a dark
board: the 8x8 digit is enlarged with bicubic interpolation and laid, light on dark, over a
blurred and darkened crop of one of the two photos scikit-learn ships
(``sklearn.datasets.load_sample_images``: china.jpg, flower.jpg). Size, aspect ratio, margins,
position, chalk tint and background differ from photo to photo; mild noise is added and each is
saved as a JPEG. The npz holds the encoded JPEG bytes, so a model's pre-processing starts with
``decode``:

* ``images``  uint8 [N, L]: each JPEG's bytes, zero-padded to the longest (L bytes)
* ``sizes``   int64 [N]: each JPEG's real length in bytes
* ``labels``  int64 [N]: the digit shown
* ``indices`` int64 [N]: the digit's row in ``sklearn.datasets.load_digits()``

The build is deterministic (one seeded numpy generator, Pillow's encoder with fixed settings, zip
entries with a fixed timestamp): running it twice gives identical bytes with the same numpy,
scikit-learn and Pillow (libjpeg) versions. ``--check`` rebuilds into a temporary folder and
compares. Needs numpy, scikit-learn and Pillow; Reef, when importable, validates the manifest.
See tools/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import sys
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from sklearn.datasets import load_digits, load_sample_images
from sklearn.model_selection import train_test_split

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "reef" / "builtin"
NAME = "digit-photos"
NPZ = f"{NAME}.npz"

SEED = 0
TEST_SIZE = 0.25  # the split of tools/build_builtin.py: stratified, random_state=SEED
PER_CLASS = 20  # the first 20 held-out samples of each digit, in held-out order: 200 photos

SHORT_SIDE = (60, 140)  # pixels, uniform
ASPECT = (1.0, 1.6)  # long side / short side, uniform; landscape or portrait at random
DIGIT_FRACTION = (0.78, 0.94)  # the enlarged 8x8 digit's side, as a fraction of the short side
OFFSET = 0.05  # the digit's centre moves up to this fraction of the short side each way
BLUR_RADIUS = (1.5, 4.0)  # Gaussian blur of the background crop, pixels
BACKGROUND_GAIN = (0.12, 0.3)  # the background's brightness is multiplied by this
CHALK = (200, 250)  # the chalk's brightness (0..255), before a slight per-channel tint
TINT = 12  # each chalk channel differs by up to this much
NOISE_SIGMA = 4.0  # Gaussian noise, in 0..255 levels
JPEG_QUALITY = 90

DESCRIPTION = (
    "Real JPEG photos of handwritten digits, made by tools/build_photos.py (seed {seed}): "
    "the first {per_class} samples of each class of the held-out 25% of scikit-learn's "
    "bundled UCI digits (train_test_split, stratified, random_state={seed}; the split of the "
    "digits dataset, so no built-in model trained on them). Each 8x8 digit (0..16 / 16) is "
    "enlarged with bicubic interpolation to {frac_lo:.0%}-{frac_hi:.0%} of the photo's "
    "shorter side and drawn like chalk (brightness {chalk_lo}-{chalk_hi}, slightly tinted) on "
    "a Gaussian-blurred (radius {blur_lo}-{blur_hi} px), darkened (x{gain_lo}-{gain_hi}) crop "
    "of china.jpg or flower.jpg from sklearn.datasets.load_sample_images(), centred within "
    "{offset:.0%} of the shorter side; photos are {side_lo}-{side_hi} px on the shorter side "
    "with aspect ratio {aspect_lo}-{aspect_hi}, landscape or portrait, with Gaussian noise "
    "(sigma {noise}) and saved as RGB JPEG (quality {quality}). 'images' holds each JPEG's "
    "bytes zero-padded to the longest, 'sizes' their real lengths, 'labels' the digits and "
    "'indices' their rows in sklearn.datasets.load_digits()."
)
LICENSE = (
    "digits: CC BY 4.0 (UCI ML hand-written digits, as bundled with scikit-learn); "
    "backgrounds: china.jpg and flower.jpg as bundled with scikit-learn, each CC BY 2.0 "
    "(Flickr; scikit-learn's sklearn/datasets/images/README.txt credits danielbuechele and "
    "links flower.jpg to vultilion)"
)


def log(message: str) -> None:
    print(message, flush=True)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    label: int
    index: int
    width: int
    height: int


def held_out() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The held-out digits of build_builtin.py's split: pixels (0..16), labels, row indices."""
    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = digits.target.astype(np.int64)
    rows = np.arange(len(y), dtype=np.int64)
    # Extra arrays do not change the split: it depends on the labels and the seed only.
    _, x_test, _, y_test, _, rows_test = train_test_split(
        x, y, rows, test_size=TEST_SIZE, random_state=SEED, stratify=y
    )
    return x_test, y_test, rows_test


def choose(labels: np.ndarray) -> np.ndarray:
    """Positions of the first PER_CLASS samples of each class, in held-out order."""
    taken: dict[int, int] = {}
    chosen = []
    for position, label in enumerate(labels.tolist()):
        if taken.get(label, 0) < PER_CLASS:
            taken[label] = taken.get(label, 0) + 1
            chosen.append(position)
    if sorted(taken.values()) != [PER_CLASS] * 10:
        raise SystemExit(f"the held-out split has too few samples of some digit: {taken}")
    return np.asarray(chosen, dtype=np.int64)


def background(
    rng: np.random.Generator, photos: list[np.ndarray], width: int, height: int
) -> np.ndarray:
    """A blurred, darkened crop of a sample photo, float32 [height, width, 3] in 0..255."""
    source = photos[int(rng.integers(len(photos)))]
    src_h, src_w = source.shape[:2]
    # Crop a region up to 3x larger than the photo, then shrink it: more of the scene shows.
    zoom = rng.uniform(1.0, min(3.0, src_w / width, src_h / height))
    crop_w, crop_h = int(width * zoom), int(height * zoom)
    left = int(rng.integers(0, src_w - crop_w + 1))
    top = int(rng.integers(0, src_h - crop_h + 1))
    image = Image.fromarray(source[top : top + crop_h, left : left + crop_w])
    image = image.resize((width, height), Image.Resampling.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(*BLUR_RADIUS)))
    return np.asarray(image, dtype=np.float32) * np.float32(rng.uniform(*BACKGROUND_GAIN))


def chalk_digit(pixels: np.ndarray, side: int) -> np.ndarray:
    """One 8x8 digit (0..16) enlarged to side x side, float32 coverage 0..1."""
    plane = Image.fromarray((pixels.reshape(8, 8) / np.float32(16)).astype(np.float32))
    enlarged = plane.resize((side, side), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(enlarged, dtype=np.float32), 0.0, 1.0)


def make_photo(
    rng: np.random.Generator, photos: list[np.ndarray], pixels: np.ndarray
) -> tuple[bytes, int, int]:
    short = int(rng.integers(SHORT_SIDE[0], SHORT_SIDE[1] + 1))
    long = round(short * rng.uniform(*ASPECT))
    width, height = (long, short) if rng.random() < 0.5 else (short, long)

    canvas = background(rng, photos, width, height)
    side = round(short * rng.uniform(*DIGIT_FRACTION))
    centre_x = width / 2 + rng.uniform(-OFFSET, OFFSET) * short
    centre_y = height / 2 + rng.uniform(-OFFSET, OFFSET) * short
    left = round(centre_x - side / 2)
    top = round(centre_y - side / 2)
    coverage = chalk_digit(pixels, side)
    # Clip the digit to the canvas (a large digit near an edge loses only blank border).
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + side, height), min(left + side, width)
    alpha = coverage[y0 - top : y1 - top, x0 - left : x1 - left, np.newaxis]
    brightness = rng.uniform(*CHALK)
    chalk = np.clip(brightness + rng.uniform(-TINT, TINT, size=3), 0, 255).astype(np.float32)
    region = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = region * (1 - alpha) + chalk * alpha

    canvas += rng.normal(0.0, NOISE_SIGMA, size=canvas.shape).astype(np.float32)
    rgb = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=False)
    return buffer.getvalue(), width, height


def make_photos() -> list[Photo]:
    x_test, y_test, rows_test = held_out()
    photos = [np.ascontiguousarray(img) for img in load_sample_images().images]
    rng = np.random.default_rng(SEED)
    result = []
    for position in choose(y_test).tolist():
        jpeg, width, height = make_photo(rng, photos, x_test[position])
        result.append(Photo(jpeg, int(y_test[position]), int(rows_test[position]), width, height))
    return result


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed .npz whose bytes depend only on the arrays (fixed zip timestamps)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(array), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data.getvalue(), compress_type=zipfile.ZIP_STORED)


def yaml_field(key: str, text: str, width: int = 100) -> str:
    """``key: "text"``, wrapped: YAML folds each line break in a quoted scalar into one space."""
    quoted = json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar
    lines = textwrap.wrap(
        quoted,
        width=width,
        initial_indent=f"{key}: ",
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(lines)


def manifest_text(digest: str, samples: int) -> str:
    description = DESCRIPTION.format(
        seed=SEED,
        per_class=PER_CLASS,
        frac_lo=DIGIT_FRACTION[0],
        frac_hi=DIGIT_FRACTION[1],
        chalk_lo=CHALK[0],
        chalk_hi=CHALK[1],
        blur_lo=BLUR_RADIUS[0],
        blur_hi=BLUR_RADIUS[1],
        gain_lo=BACKGROUND_GAIN[0],
        gain_hi=BACKGROUND_GAIN[1],
        offset=OFFSET,
        side_lo=SHORT_SIDE[0],
        side_hi=SHORT_SIDE[1],
        aspect_lo=ASPECT[0],
        aspect_hi=ASPECT[1],
        noise=NOISE_SIGMA,
        quality=JPEG_QUALITY,
    )
    lines = [
        "# Generated by tools/build_photos.py; edit that script, not this file.",
        "kind: dataset",
        f"name: {NAME}",
        "version: 1.0.0",
        yaml_field("description", description),
        "format: npz",
        "sources:",
        f"- path: {NPZ}",
        f"  sha256: {digest}",
        "features: images",
        "labels: labels",
        f"samples: {samples}",
        yaml_field("license", LICENSE),
        "tags: [image-classification, digits, photos, jpeg, uci, sklearn]",
    ]
    return "\n".join(lines) + "\n"


def verify(folder: Path) -> None:
    """Validate the manifest with Reef (when importable) and decode every stored image."""
    try:
        from reef.meta.load import load_manifest
    except ImportError:
        sys.path.insert(0, str(REPO / "src"))
        try:
            from reef.meta.load import load_manifest
        except ImportError:
            load_manifest = None  # Reef's own dependencies are missing: skip the schema check
    if load_manifest is not None:
        manifest = load_manifest(folder / "reef.yaml")
        assert manifest.name == NAME, manifest.name
        log(f"verified {folder / 'reef.yaml'} with Reef")
    with np.load(folder / NPZ, allow_pickle=False) as archive:
        images, sizes = archive["images"], archive["sizes"]
    for row, size in zip(images, sizes.tolist(), strict=True):
        assert not row[size:].any(), "padding must be zeros"
        with Image.open(io.BytesIO(row.tobytes())) as image:
            assert image.format == "JPEG", image.format
            image.load()


def build(out: Path) -> dict[str, str]:
    folder = out / NAME
    folder.mkdir(parents=True, exist_ok=True)
    photos = make_photos()
    longest = max(len(p.jpeg) for p in photos)
    images = np.zeros((len(photos), longest), dtype=np.uint8)
    for row, photo in enumerate(photos):
        images[row, : len(photo.jpeg)] = np.frombuffer(photo.jpeg, dtype=np.uint8)
    npz = folder / NPZ
    write_npz(
        npz,
        {
            "images": images,
            "sizes": np.asarray([len(p.jpeg) for p in photos], dtype=np.int64),
            "labels": np.asarray([p.label for p in photos], dtype=np.int64),
            "indices": np.asarray([p.index for p in photos], dtype=np.int64),
        },
    )
    (folder / "reef.yaml").write_text(manifest_text(sha256_of(npz), len(photos)), "utf-8")
    verify(folder)
    widths = [p.width for p in photos]
    heights = [p.height for p in photos]
    log(
        f"{NAME}: {len(photos)} photos, {min(widths)}-{max(widths)} x "
        f"{min(heights)}-{max(heights)} px, JPEGs of {min(len(p.jpeg) for p in photos)}-"
        f"{longest} bytes; {npz} ({npz.stat().st_size} bytes)"
    )
    return {p.name: sha256_of(p) for p in sorted(folder.iterdir()) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write")
    parser.add_argument(
        "--check",
        action="store_true",
        help="build into a temporary folder and compare with --out instead of writing there",
    )
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    if not args.check:
        shutil.rmtree(out / NAME, ignore_errors=True)
        for name, digest in build(out).items():
            log(f"  {digest}  {NAME}/{name}")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        fresh = build(Path(tmp))
    folder = out / NAME
    present = (
        {p.name: sha256_of(p) for p in sorted(folder.iterdir()) if p.is_file()}
        if folder.is_dir()
        else {}
    )
    if fresh == present:
        log(f"check: {folder} matches a fresh build")
        return 0
    for name in sorted(set(fresh) | set(present)):
        if fresh.get(name) != present.get(name):
            log(f"check: {name} differs (fresh {fresh.get(name)}, present {present.get(name)})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
