"""Calibrate Reef's latency verdicts on this machine (issue 15).

Each attempt is what ``reef reproduce`` judges: an original run and a new one, both measured
in ``--repeat`` fresh worker processes, compared by ``reef.results.decision`` (the one rule
compare, reproduce and solution checks share). Both sides are measured afresh in every attempt,
so that attempts are independent. Cases, for each model:

- ``quiet``: the same model, settings and machine, twice;
- ``hog``: the same, while a CPU hog (a process this script starts and stops) keeps a core busy;
- ``threads``: 2 intra-op threads against 1 (a real change);
- ``graph-opt``: ONNX Runtime's graph optimisation off against on (a real change);
- ``extra-op``: the same model with an extra branch of operators (a MatMul over the flattened
  input, summed and added times zero to the output) sized to cost about 10% of it, as a model
  file of its own;
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
CASES = [
    "quiet", "hog", "threads", "graph-opt", "extra-op",
    "delay-3", "delay-5", "delay-10", "delay-25",
]  # fmt: skip
EXTRA_COST = 0.10  # what the extra-op case's extra operators should cost, of the model


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


def _with_extra_branch(model_path: Path, width: int, out_path: Path) -> None:
    """The model with ``Add(output, 0 * ReduceSum(MatMul(Flatten(input), W[D, width])))``:
    the same answers, ``width`` columns of extra work per sample."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path))
    graph = model.graph
    source, output = graph.input[0], graph.output[0].name
    dims = [d.dim_value for d in source.type.tensor_type.shape.dim[1:]]
    features = int(np.prod(dims))
    for node in graph.node:
        node.output[:] = [f"{output}_before" if o == output else o for o in node.output]
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((features, width)).astype(np.float32)
    graph.initializer.extend(
        [
            numpy_helper.from_array(weight, "extra_w"),
            numpy_helper.from_array(np.zeros((), np.float32), "extra_zero"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Flatten", [source.name], ["extra_flat"], axis=1),
            helper.make_node("MatMul", ["extra_flat", "extra_w"], ["extra_mm"]),
            helper.make_node("ReduceSum", ["extra_mm"], ["extra_sum"], keepdims=0),
            helper.make_node("Mul", ["extra_sum", "extra_zero"], ["extra_nothing"]),
            helper.make_node("Add", [f"{output}_before", "extra_nothing"], [output]),
        ]
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(out_path))


def _bare_p50(path: Path, feed: object, seconds: float = 1.5) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for _ in range(50):
        session.run(None, {name: feed})
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter_ns()
        session.run(None, {name: feed})
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times)


def heavier_manifest(model: str, root: Path) -> str:
    """A copy of the built-in ``model`` whose file has an extra branch costing about
    ``EXTRA_COST`` of it (sized by timing the two files in a bare loop, twice)."""
    import hashlib

    import numpy as np
    import onnx

    import reef

    source = Path(reef.__file__).parent / "builtin" / model
    target = root / f"{model}-heavier"
    shutil.copytree(source, target)
    original = source / "model.onnx"
    dims = [
        d.dim_value or 1 for d in onnx.load(str(original)).graph.input[0].type.tensor_type.shape.dim
    ]
    dims[0] = 1
    feed = np.random.default_rng(1).random(dims, dtype=np.float32)
    base = _bare_p50(original, feed)
    width = 256
    for _ in range(5):
        _with_extra_branch(original, width, target / "model.onnx")
        cost = _bare_p50(target / "model.onnx", feed) / base - 1
        if abs(cost - EXTRA_COST) < 0.02:
            break
        # Below the noise: widen fourfold; else scale to the cost wanted.
        width = width * 4 if cost < 0.01 else max(8, round(width * EXTRA_COST / cost))
    digest = hashlib.sha256((target / "model.onnx").read_bytes()).hexdigest()
    manifest = target / "reef.yaml"
    text = manifest.read_text()
    old = hashlib.sha256(original.read_bytes()).hexdigest()
    text = text.replace(old, digest).replace(f"name: {model}\n", f"name: {model}-heavier\n", 1)
    manifest.write_text(text)
    print(f"({model}-heavier: an extra branch {width} wide, about {cost:+.1%} in a bare loop)")
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


def attempt(
    case: str, model: str, delayed: str, heavier: str, p50_us: float, args: argparse.Namespace
) -> object:
    """One original and one new run for ``case``; the decision."""
    from reef.results.decision import decide

    a_target, b_target = model, model
    a_extra: dict[str, object] = {"threads": 1}
    b_extra: dict[str, object] = {"threads": 1}
    if case == "threads":
        b_extra["threads"] = 2
    elif case == "graph-opt":
        b_extra["graph_optimization"] = "none"
    elif case == "extra-op":
        b_target = heavier
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
        heavier = heavier_manifest(model, Path(home) / "lab") if "extra-op" in args.cases else ""
        quiet = bench(model, args.repeat, args.duration, threads=1)
        p50_us = quiet.performance.latency_ms.p50 * 1000  # type: ignore[attr-defined]
        for case in args.cases:
            counts: Counter[str] = Counter()
            ratios, stated = [], True
            started = time.monotonic()
            for _ in range(args.attempts):
                found = attempt(case, model, delayed, heavier, p50_us, args)
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
