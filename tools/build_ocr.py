#!/usr/bin/env python3
"""Render Reef's built-in text-line datasets: images of known strings, for the PP-OCR models.

Writes, under ``src/reef/builtin/``:

* ``ocr-lines/``      100 text lines (Latin words and numbers) and their strings, for the
                      recogniser's character error rate
* ``ocr-direction/``  200 text lines, every other one (in a shuffled order) turned by 180
                      degrees; labels 0 (upright) and 1 (turned), for the direction classifier

Each line is drawn with Pillow's bundled font (``ImageFont.load_default(size=...)``: FreeType
Aileron Regular, shipped inside Pillow, so no system font is needed), in a dark colour on a
light background, with its size, margins and colours varied from line to line. Every choice
comes from a sha256 of (dataset, line, what), so the output depends only on the code, Pillow
(its FreeType) and zlib. The npz holds each line as PNG bytes in a zero-padded uint8 row
(``images``; ``sizes`` gives each PNG's length) and the labels (``<U32`` strings, or int64).

Needs numpy and Pillow (with FreeType). ``--check`` renders into a temporary folder and
compares the decoded pixels and labels with the shipped datasets.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image, ImageDraw, ImageFont, features

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src" / "reef" / "builtin"

LINES = 100
DIRECTIONS = 200
HEIGHT = 48  # the PP-OCR models' input height
MAX_RATIO = 6.4  # width / height that fits the recogniser's 320 pixels at height 48
LABEL_WIDTH = 32  # labels are stored as <U32

_WORD_TEXT = (
    "able about account address after again amount april area balance bank because before "
    "black blue board book bread bridge brown budget building call card case center change "
    "check city class clear close coffee color company copy corner count date delivery desk "
    "door down drive east entry every field file final first floor forest form friday "
    "garden glass green group harbor house index invoice island item july june kitchen lake "
    "large later level light limit line local march market metal model monday month north "
    "number office order orange page paper park party phone place plant point price print "
    "quick range receipt record report river road room route sales school second service "
    "seven share shop silver small south space station steel stone store street summer "
    "table total tower train travel unit valley value water west white window winter world "
    "yellow yard zone"
)
WORDS = tuple(_WORD_TEXT.split())


def pick(dataset: str, index: int, what: str, n: int) -> int:
    """A deterministic choice in range(n) for one decision about one line."""
    digest = hashlib.sha256(f"{dataset}/{index}/{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n


def word(dataset: str, i: int, what: str) -> str:
    w = WORDS[pick(dataset, i, what, len(WORDS))]
    style = pick(dataset, i, what + ".case", 6)
    return w.upper() if style == 0 else w.capitalize() if style < 3 else w


def number(dataset: str, i: int, what: str) -> str:
    p: Callable[[str, int], int] = lambda w, n: pick(dataset, i, f"{what}.{w}", n)  # noqa: E731
    form = p("form", 6)
    if form == 0:
        return str(p("int", 100000))
    if form == 1:
        return f"{p('a', 1000)}.{p('b', 100):02d}"
    if form == 2:
        return f"20{p('y', 30):02d}-{1 + p('m', 12):02d}-{1 + p('d', 28):02d}"
    if form == 3:
        return f"{1 + p('h', 23):02d}:{p('min', 60):02d}"
    if form == 4:
        return f"No.{p('no', 10000)}"
    return f"{p('pct', 100)}%"


def text_for(dataset: str, i: int, attempt: int) -> str:
    key = f"{i}.{attempt}"
    shape = pick(dataset, i, f"shape.{attempt}", 5)
    if shape == 0:
        return f"{word(dataset, i, key + '.w1')} {word(dataset, i, key + '.w2')}"
    if shape == 1:
        return f"{word(dataset, i, key + '.w1')} {number(dataset, i, key + '.n1')}"
    if shape == 2:
        return number(dataset, i, key + ".n1")
    if shape == 3:
        return word(dataset, i, key + ".w1")
    return f"{number(dataset, i, key + '.n1')} {word(dataset, i, key + '.w1')}"


def render_text(dataset: str, i: int, text: str) -> Image.Image:
    p: Callable[[str, int], int] = lambda w, n: pick(dataset, i, w, n)  # noqa: E731
    font = ImageFont.load_default(size=22 + p("size", 13))  # 22..34 pixels
    left, top, right, bottom = font.getbbox(text)
    mx, my = 3 + p("mx", 10), 3 + p("my", 8)
    width, height = right - left + 2 * mx, bottom - top + 2 * my
    grey = 215 + p("bg", 41)
    background = tuple(min(255, grey + p(f"tint{c}", 12) - 6) for c in range(3))
    ink = p("ink", 70)
    colour = tuple(min(255, ink + p(f"inkt{c}", 20)) for c in range(3))
    image = Image.new("RGB", (width, height), background)
    ImageDraw.Draw(image).text((mx - left, my - top), text, font=font, fill=colour)
    return image


def line(dataset: str, i: int) -> tuple[str, Image.Image]:
    """The i-th line of ``dataset``: its string and its upright image."""
    for attempt in range(100):
        text = text_for(dataset, i, attempt)
        if len(text) > LABEL_WIDTH:
            continue
        image = render_text(dataset, i, text)
        if image.width / image.height <= MAX_RATIO:
            return text, image
    raise AssertionError(f"{dataset}/{i}: no line narrow enough")


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=9)
    return buf.getvalue()


def images_array(encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(b) for b in encoded)
    rows = np.zeros((len(encoded), width), dtype=np.uint8)
    for r, b in enumerate(encoded):
        rows[r, : len(b)] = np.frombuffer(b, dtype=np.uint8)
    return rows, np.asarray([len(b) for b in encoded], dtype=np.int64)


def ocr_lines() -> tuple[list[Image.Image], np.ndarray]:
    texts, images = zip(*(line("ocr-lines", i) for i in range(LINES)), strict=True)
    return list(images), np.asarray(texts, dtype=f"<U{LABEL_WIDTH}")


def ocr_direction() -> tuple[list[Image.Image], np.ndarray]:
    images, labels = [], []
    for i in range(DIRECTIONS):
        _, image = line("ocr-direction", i)
        turned = pick("ocr-direction", i, "turned", 2)
        images.append(image.transpose(Image.Transpose.ROTATE_180) if turned else image)
        labels.append(turned)
    return images, np.asarray(labels, dtype=np.int64)


def font_note() -> str:
    freetype = features.version("freetype2")
    import PIL

    return (
        f"Rendered by tools/build_ocr.py with Pillow {PIL.__version__} (FreeType {freetype}) in "
        "Pillow's bundled font, ImageFont.load_default(size=22..34): Aileron Regular"
    )


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    # np.savez writes zip entries stamped with a fixed date, so equal arrays give equal bytes.
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


class _Dumper(yaml.SafeDumper):
    pass


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(x, str | int | float) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _list)


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    text = yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text("# Generated by tools/build_ocr.py; edit that script, not this file.\n" + text)


def build_dataset(
    out: Path, name: str, images: list[Image.Image], labels: np.ndarray, what: str, tags: list[str]
) -> None:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    rows, sizes = images_array([png(im) for im in images])
    file = folder / f"{name}.npz"
    write_npz(file, {"images": rows, "sizes": sizes, "labels": labels})
    manifest = {
        "kind": "dataset",
        "name": name,
        "version": "1.0.0",
        "description": f"{len(images)} {what}. {font_note()}. Each row of 'images' holds one "
        "RGB PNG, zero-padded ('sizes' gives its length).",
        "format": "npz",
        "sources": [{"path": file.name, "sha256": hashlib.sha256(file.read_bytes()).hexdigest()}],
        "features": "images",
        "labels": "labels",
        "samples": len(images),
        "license": "Apache-2.0 (rendered by Reef; the Aileron font is CC0)",
        "tags": tags,
    }
    write_manifest(folder / "reef.yaml", manifest)


def build(out: Path) -> None:
    images, texts = ocr_lines()
    build_dataset(
        out,
        "ocr-lines",
        images,
        texts,
        "single text lines of Latin words and numbers, dark on light, in varied sizes, "
        "margins and colours; labels are the strings drawn",
        ["text-recognition", "ocr", "rendered"],
    )
    images, directions = ocr_direction()
    build_dataset(
        out,
        "ocr-direction",
        images,
        directions,
        "single text lines of Latin words and numbers like ocr-lines', every other one "
        "(in a shuffled order) turned by 180 degrees; labels 0 (upright) and 1 (turned)",
        ["text-direction", "ocr", "rendered"],
    )


def decoded(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        rows, sizes, labels = archive["images"], archive["sizes"], archive["labels"]
    pixels = [
        np.asarray(Image.open(io.BytesIO(r[:n].tobytes())))
        for r, n in zip(rows, sizes, strict=True)
    ]
    return pixels, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="render into a temp dir, compare")
    args = parser.parse_args(argv)
    if not features.check("freetype2"):
        print("Pillow was built without FreeType; it cannot render the lines", file=sys.stderr)
        return 2
    if not args.check:
        build(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp))
        same = True
        for name in ("ocr-lines", "ocr-direction"):
            new_px, new_labels = decoded(Path(tmp) / name / f"{name}.npz")
            old_px, old_labels = decoded(args.out / name / f"{name}.npz")
            equal = (new_labels == old_labels).all() and all(
                a.shape == b.shape and (a == b).all() for a, b in zip(new_px, old_px, strict=False)
            )
            print(f"{name}: {'same' if equal else 'DIFFERENT'}")
            same = same and bool(equal)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
