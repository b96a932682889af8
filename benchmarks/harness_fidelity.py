"""Harness fidelity on a millisecond model (the built-in digits-cnn).

Compares what Reef reports with a bare ``InferenceSession.run`` loop on the same model,
inputs and thread settings, measured in the same process session:

- SingleStream: Reef's p50 / the bare loop's p50 (target: at most 1.03)
- Offline: Reef's throughput / the bare loop's throughput at the same batch size
  (target: at least 0.97)

Each round measures bare, then Reef; the medians over rounds are printed.

    python benchmarks/harness_fidelity.py [--rounds 3] [--duration 5] [--batch 16]

With ``--backend NAME`` (repeatable) each named backend is measured instead, SingleStream
only, on a model of about a millisecond in its own format, against that backend's own bare
loop (its predictor's ``predict`` over the same feeds); the two sides alternate in order from
round to round, and the median and range of the ratios are printed per backend:

- ``onnxruntime``: digits-cnn (ONNX);
- ``openvino``: digits-cnn's ONNX converted to OpenVINO IR (``.xml`` + ``.bin``);
- ``tflite``: ``tests/data/bench_cnn.tflite`` (``tools/build_tflite_fixture.py``);
- ``torch``: a CNN of the same layers as the LiteRT one (3x64x64 in), exported with
  ``torch.export`` (``.pt2``); ``torch-script`` the same CNN traced to TorchScript (``.pt``);
- ``sklearn``: a random forest (10 trees, depth 8) on the digits data, ``predict`` and
  ``predict_proba``.

    python benchmarks/harness_fidelity.py --backend torch --backend tflite --rounds 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from _common import bare_batch_throughput, bare_single_p50, median, prepared, use_temp_home

from reef.bench import target
from reef.bench.runner import Prepared, execute, prepare
from reef.meta.settings import BenchSettings

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("onnxruntime", "openvino", "tflite", "torch", "torch-script", "sklearn")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="digits-cnn")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="measure this backend's SingleStream fidelity on its own ~1 ms model; repeatable",
    )
    args = ap.parse_args()
    use_temp_home()
    if args.backend:
        backends(args)
        return

    ss_ratios, off_ratios = [], []
    for r in range(args.rounds):
        # SingleStream
        p = prepared(
            args.model,
            scenario="SingleStream",
            mode="performance",
            duration_s=args.duration,
            threads=args.threads,
        )
        bare = bare_single_p50(p, args.duration)
        record = execute(p)
        assert record.performance is not None, record.reasons
        reef = record.performance.latency_ms.p50 * 1e6
        ss_ratios.append(reef / bare)
        print(
            f"round {r}: SingleStream p50 bare {bare / 1e6:.4f} ms, reef {reef / 1e6:.4f} ms, "
            f"ratio {reef / bare:.4f}  [{record.status}]"
        )

        # Offline
        p = prepared(
            args.model,
            scenario="Offline",
            mode="performance",
            duration_s=args.duration,
            threads=args.threads,
            batch_size=args.batch,
        )
        bare_tput = bare_batch_throughput(p, args.batch, args.duration)
        record = execute(p)
        assert record.performance is not None, record.reasons
        reef_tput = record.performance.throughput_qps
        off_ratios.append(reef_tput / bare_tput)
        print(
            f"round {r}: Offline batch {args.batch} bare {bare_tput:,.0f}/s, reef "
            f"{reef_tput:,.0f}/s, ratio {reef_tput / bare_tput:.4f}  [{record.status}]"
        )

    print(
        f"\nSingleStream p50 ratio (reef / bare), median of {args.rounds}: {median(ss_ratios):.4f}"
        "  (target <= 1.03)"
    )
    print(
        f"Offline throughput ratio (reef / bare), median of {args.rounds}: "
        f"{median(off_ratios):.4f}  (target >= 0.97)"
    )


def backends(args: Any) -> None:
    """SingleStream p50 of Reef / the backend's bare loop, per backend, in alternating order.

    A round Reef's interference sampler calls busy (others used a fifth of the CPUs) is kept
    and marked; the summary gives the median over every round and over the quiet ones."""
    folder = Path(tempfile.mkdtemp(prefix="reef-fidelity-models-"))
    summary = []
    for name in args.backend:
        model, backend = backend_model(name, folder)
        ratios, quiet, bares = [], [], []
        for r in range(args.rounds):
            p = prepare_backend(model, backend, args)
            if r % 2 == 0:
                bare = bare_single_p50(p, args.duration)
                reef, status, busy = reef_p50(p)
            else:
                reef, status, busy = reef_p50(p)
                p = prepare_backend(model, backend, args)  # a fresh predictor, as bare-first has
                bare = bare_single_p50(p, args.duration)
            p.predictor.close()
            ratios.append(reef / bare)
            bares.append(bare)
            if not busy:
                quiet.append(reef / bare)
            flag = f"{status}, busy" if busy else status
            print(
                f"{name} round {r}: SingleStream p50 bare {bare / 1e6:.4f} ms, reef "
                f"{reef / 1e6:.4f} ms, ratio {reef / bare:.4f}  [{flag}]",
                flush=True,
            )
        summary.append((name, median(bares), ratios, quiet))
    print(
        "\nbackend        bare p50 ms   ratio (reef / bare): median [range] of all rounds; "
        "median of the quiet ones   target <= 1.03"
    )
    for name, bare, ratios, quiet in summary:
        calm = f"{median(quiet):.4f} ({len(quiet)} quiet)" if quiet else "- (none quiet)"
        print(
            f"{name:<14} {bare / 1e6:>10.3f}   {median(ratios):.4f} "
            f"[{min(ratios):.4f}, {max(ratios):.4f}]; {calm}"
        )


def reef_p50(p: Prepared) -> tuple[float, str, bool]:
    record = execute(p)
    assert record.performance is not None, record.reasons
    busy = bool(record.interference is not None and record.interference.busy)
    return record.performance.latency_ms.p50 * 1e6, record.status, busy


def prepare_backend(model: str, backend: str, args: Any) -> Prepared:
    settings = BenchSettings(
        scenario="SingleStream", mode="performance", duration_s=args.duration, threads=args.threads
    )
    return prepare(target.job_for(target.resolve(model), settings, backend=backend))


def backend_model(name: str, folder: Path) -> tuple[str, str]:
    """(the model to bench, the backend that runs it), built in ``folder`` where needed."""
    if name == "onnxruntime":
        return "digits-cnn", "onnxruntime"
    if name == "openvino":
        import openvino as ov

        from reef.components.lookup import find

        onnx = find("digits-cnn", kind="model").manifest_path.parent / "model.onnx"
        xml = folder / "digits-cnn.xml"
        ov.save_model(ov.convert_model(str(onnx)), str(xml), compress_to_fp16=False)
        return str(xml), "openvino"
    if name == "tflite":
        return str(ROOT / "tests" / "data" / "bench_cnn.tflite"), "tflite"
    if name in ("torch", "torch-script"):
        return str(torch_cnn(folder, script=name == "torch-script")), "torch"
    if name == "sklearn":
        return str(forest(folder)), "sklearn"
    raise SystemExit(f"unknown backend {name}")


def torch_cnn(folder: Path, *, script: bool) -> Path:
    """The LiteRT CNN's layers in torch (NCHW, 3x64x64 in, 10 out), seeded weights."""
    import json

    import torch

    torch.manual_seed(0)

    def conv(cin: int, cout: int) -> list[torch.nn.Module]:
        return [torch.nn.Conv2d(cin, cout, 3, padding=1), torch.nn.ReLU()]

    net = torch.nn.Sequential(
        *conv(3, 16), torch.nn.MaxPool2d(2), *conv(16, 32), torch.nn.MaxPool2d(2),
        *conv(32, 64), *conv(64, 64), torch.nn.MaxPool2d(2), *conv(64, 64),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10),
    ).eval()  # fmt: skip
    example = torch.zeros(2, 3, 64, 64)
    if script:
        path = folder / "cnn.pt"
        signature = {
            "inputs": [{"name": "image", "element_type": "float32", "shape": [None, 3, 64, 64]}],
            "outputs": [{"name": "logits", "element_type": "float32", "shape": [None, 10]}],
        }
        traced = torch.jit.trace(net, example)
        torch.jit.save(
            traced, str(path), _extra_files={"reef_signature.json": json.dumps(signature)}
        )
        return path
    path = folder / "cnn.pt2"
    batch = torch.export.Dim("batch")
    program = torch.export.export(net, (example,), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    return path


def forest(folder: Path) -> Path:
    import joblib
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from reef.components.lookup import find

    data = np.load(find("digits", kind="dataset").manifest_path.parent / "digits.npz")
    x, y = data["features"].astype(np.float32), data["labels"]
    model = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0, n_jobs=1)
    path = folder / "forest.joblib"
    joblib.dump(model.fit(x, y), path)
    return path


if __name__ == "__main__":
    main()
