"""Calibrate Reef's latency verdicts on this machine (issue 15).

Each attempt is what ``reef reproduce`` judges: an original run and a new one, both measured
in ``--repeat`` fresh worker processes, compared by ``reef.results.decision`` (the one rule
compare, reproduce and solution checks share). Both sides are measured afresh in every attempt,
so that attempts are independent. Cases, for each model:

- ``quiet``: the same model, settings and machine, twice;
- ``hog``: the same, while a CPU hog (a process this script starts and stops) keeps a core busy;
- ``threads``: 2 intra-op threads against 1 (a real change);
- ``graph-opt``: ONNX Runtime's graph optimisation off against on (a real change);
- ``delay-N``: a planted slowdown of N% of the model's quiet p50, through a predictor plugin
  (``delayed-onnxruntime``, installed for the run in a temporary site) that spins for a fixed
  time after each predict.

Prints, per case: how many attempts came out reproduced, differs and inconclusive, the median
ratio, and, for every verdict, that its reason is stated. Targets: false ``differs`` (quiet and
hog) at most 5% of attempts; planted changes of 10% and more ``differs`` in 95% or more.

    python benchmarks/verdicts.py [--models digits-cnn digits-classifier] [--attempts 20]
        [--repeat 5] [--duration 1] [--cases quiet hog threads graph-opt delay-3 ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

PLUGIN = '''
import os
import time

from reef.predictors.onnxruntime import OnnxRuntimePredictor

DELAY_NS = int(float(os.environ.get("REEF_CALIB_DELAY_US", "0")) * 1000)


class DelayedPredictor(OnnxRuntimePredictor):
    """ONNX Runtime, then a spin of a fixed time: a slowdown planted where the model runs."""

    name = "delayed-onnxruntime"

    def open(self, model_path, options):
        signature = super().open(model_path, options)
        fast = self.predict  # ONNX Runtime's own bound call (see OnnxRuntimePredictor.open)
        if DELAY_NS:

            def predict(feeds):
                out = fast(feeds)
                end = time.perf_counter_ns() + DELAY_NS
                while time.perf_counter_ns() < end:
                    pass
                return out

            self.predict = predict
        return signature


thing = DelayedPredictor
'''
CASES = ["quiet", "hog", "threads", "graph-opt", "delay-3", "delay-5", "delay-10", "delay-25"]


def install_plugin(root: Path) -> None:
    """A real distribution declaring the ``delayed-onnxruntime`` predictor, on PYTHONPATH so
    that the workers find it too."""
    info = root / "reef_calibration_delay-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: reef-calibration-delay\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[reef.predictors]\ndelayed-onnxruntime = reef_calib_delay:thing\n"
    )
    (root / "reef_calib_delay.py").write_text(textwrap.dedent(PLUGIN))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH")) if p
    )
    sys.path.insert(0, str(root))


def delayed_manifest(model: str, root: Path) -> str:
    """A copy of the built-in ``model`` whose framework is the delayed predictor."""
    import reef

    source = Path(reef.__file__).parent / "builtin" / model
    target = root / f"{model}-delayed"
    shutil.copytree(source, target)
    manifest = target / "reef.yaml"
    text = manifest.read_text().replace("name: onnxruntime", "name: delayed-onnxruntime", 1)
    manifest.write_text(text.replace(f"name: {model}\n", f"name: {model}-delayed\n", 1))
    return str(manifest)


def bench(target: str, repeat: int, duration: float, **extra: object) -> object:
    from reef import api

    graph = extra.pop("graph_optimization", None)
    predictor = api.predictor_settings(graph) if graph else None  # type: ignore[arg-type]
    (record,) = api.bench(
        target,
        scenarios=["SingleStream"],
        mode="performance",
        duration_s=duration,
        repeat=repeat,
        predictor=predictor,
        **extra,
    )
    return record


class Hog:
    """A process spinning on one core of this process's, for the ``hog`` case."""

    def __enter__(self) -> Hog:
        core = max(os.sched_getaffinity(0))
        code = f"import os; os.sched_setaffinity(0, {{{core}}})\nwhile True: pass"
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(0.2)
        return self

    def __exit__(self, *_: object) -> None:
        self.proc.kill()
        self.proc.wait()


def attempt(case: str, model: str, delayed: str, p50_us: float, args: argparse.Namespace) -> object:
    """One original and one new run for ``case``; the decision."""
    from reef.results.decision import decide

    a_target, b_target = model, model
    a_extra: dict[str, object] = {"threads": 1}
    b_extra: dict[str, object] = {"threads": 1}
    if case == "threads":
        b_extra["threads"] = 2
    elif case == "graph-opt":
        b_extra["graph_optimization"] = "none"
    elif case.startswith("delay-"):
        a_target = b_target = delayed
    if case.startswith("delay-"):
        os.environ["REEF_CALIB_DELAY_US"] = "0"
    a = bench(a_target, args.repeat, args.duration, **a_extra)
    if case.startswith("delay-"):
        pct = float(case.split("-")[1])
        os.environ["REEF_CALIB_DELAY_US"] = f"{p50_us * pct / 100:.3f}"
    if case == "hog":
        with Hog():
            b = bench(b_target, args.repeat, args.duration, **b_extra)
    else:
        b = bench(b_target, args.repeat, args.duration, **b_extra)
    os.environ["REEF_CALIB_DELAY_US"] = "0"
    return decide(a, b)  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["digits-cnn", "digits-classifier"])
    ap.add_argument("--attempts", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--cases", nargs="+", default=CASES, choices=CASES)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="reef-verdicts-")
    os.environ["REEF_HOME"] = home
    install_plugin(Path(home) / "site")
    print(
        f"{args.attempts} attempts per case; each side {args.repeat} processes of "
        f"{args.duration:g} s SingleStream; load {os.getloadavg()[0]:.1f}"
    )
    header = f"{'model':18} {'case':10} {'reproduced':>10} {'differs':>8} {'inconcl.':>8} "
    print(header + f"{'ratio':>7}  seconds  reasons stated")
    for model in args.models:
        delayed = delayed_manifest(model, Path(home) / "lab")
        quiet = bench(model, args.repeat, args.duration, threads=1)
        p50_us = quiet.performance.latency_ms.p50 * 1000  # type: ignore[attr-defined]
        for case in args.cases:
            counts: Counter[str] = Counter()
            ratios, stated = [], True
            started = time.monotonic()
            for _ in range(args.attempts):
                found = attempt(case, model, delayed, p50_us, args)
                counts[found.verdict] += 1  # type: ignore[attr-defined]
                if found.ratio is not None:  # type: ignore[attr-defined]
                    ratios.append(found.ratio)  # type: ignore[attr-defined]
                why = found.causes if found.verdict == "inconclusive" else [found.sentence]  # type: ignore[attr-defined]
                stated = stated and bool(why and all(why))
            per = (time.monotonic() - started) / args.attempts
            ratio = f"{statistics.median(ratios):7.3f}" if ratios else "      -"
            print(
                f"{model:18} {case:10} {counts['reproduced']:>10} {counts['differs']:>8} "
                f"{counts['inconclusive']:>8} {ratio}  {per:7.1f}  {'yes' if stated else 'NO'}",
                flush=True,
            )
    print(f"\n(model p50 used for the planted delays: the quiet run's; REEF_HOME {home})")


if __name__ == "__main__":
    main()
