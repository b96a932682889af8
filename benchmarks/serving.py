"""``reef serve``'s figures (issue 19), with the load in a second process on loopback.

1. **Sequential single-row latency** of a scikit-learn model (logistic regression on the
   digits, 64 features) served through Reef's sklearn backend and through its ONNX
   conversion: ``--requests`` JSON requests of one row, one after another over a keep-alive
   connection; p50 and p99 a round, the two servers alternating. The issue quotes MLflow's
   ``mlflow models serve`` at 3.42 ms p50 on this machine (it is not installed here:
   mlflow-skinny has no model server).
2. **Adaptive batching**: digits-cnn under ``--clients`` concurrent clients for ``--seconds``,
   served with batches of one (the baseline) and with ``--max-batch-size 32 --slo-p99-ms
   50``, alternating: throughput and p99.
3. **The online drift check's cost**: the sequential p50 of the sklearn model with and
   without ``--reference`` (64 features), per feature.

    python benchmarks/serving.py [--rounds 3] [--requests 2000] [--clients 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import print_table, spread

MLFLOW_P50_MS = 3.42
SLO_MS = 50.0

LOAD = Path(__file__).resolve().parent / "serving_load.py"


SERVED: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(home: Path, *args: str) -> Iterator[int]:
    """``reef serve ARGS`` on a free port, ready; its port (``SERVED[port]``: its process)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEF_")}
    env["REEF_HOME"] = str(home)
    process = subprocess.Popen(
        [sys.executable, "-m", "reef", "serve", *args, "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        end = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2):
                    break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > end:
                    why = process.stderr.read() if process.stderr else b""
                    raise RuntimeError(f"reef serve did not start: {why!r}") from exc
                time.sleep(0.1)
        SERVED[port] = process
        yield port
    finally:
        SERVED.pop(port, None)
        process.terminate()
        process.wait(30)


def sequential(port: int, model: str, requests: int) -> tuple[float, float]:
    import http.client

    import numpy as np

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/models/{model}", timeout=10) as a:
        (tensor,) = json.load(a)["inputs"]  # the model's input, as it names and types it
    x = (np.random.default_rng(0).random((1, 64)) * 16).astype(np.float32)
    body = json.dumps(
        {"inputs": [{"name": tensor["name"], "shape": [1, 64], "datatype": tensor["datatype"],
                     "data": x.reshape(-1).tolist()}]}
    ).encode()  # fmt: skip
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = f"/v2/models/{model}/infer"
    for _ in range(100):
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        connection.getresponse().read()
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        times.append(time.perf_counter() - t0)
        assert answer.status == 200
    connection.close()
    times.sort()
    return times[len(times) // 2] * 1000, times[int(0.99 * len(times))] * 1000


def sklearn_models(folder: Path) -> tuple[Path, Path, Path]:
    """A logistic regression on the digits as a joblib file, its ONNX conversion, and a
    reference of its inputs (.npz) for the drift check."""
    import joblib
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    model = LogisticRegression(max_iter=2000).fit(x, y)
    joblib_path = folder / "digits-logreg.joblib"
    joblib.dump(model, joblib_path)
    onnx_path = folder / "digits-logreg.onnx"
    onnx_path.write_bytes(
        to_onnx(
            model, x[:1], target_opset=17, options={id(model): {"zipmap": False}}
        ).SerializeToString()
    )
    reference = folder / "reference.npz"
    np.savez(reference, x=x)
    return joblib_path, onnx_path, reference


def load(port: int, model: str, shape: list[int], clients: int, seconds: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(LOAD), "--port", str(port), "--model", model,
         "--shape", ",".join(map(str, shape)), "--clients", str(clients),
         "--seconds", str(seconds)],
        capture_output=True, text=True, timeout=seconds + 120, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--skip", nargs="*", default=[], choices=["sequential", "batching", "drift"])
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="reef-serving-") as tmp:
        folder = Path(tmp)
        joblib_path, onnx_path, reference = sklearn_models(folder)
        if "sequential" not in args.skip or "drift" not in args.skip:
            p50: dict[str, list[float]] = {"sklearn": [], "onnx": [], "drift": []}
            p99: dict[str, list[float]] = {"sklearn": [], "onnx": [], "drift": []}
            kinds = {
                "sklearn": [str(joblib_path)],
                "onnx": [str(onnx_path)],
                "drift": [str(joblib_path), "--reference", str(reference)],
            }
            for r in range(args.rounds):
                order = list(kinds) if r % 2 == 0 else list(reversed(kinds))
                for kind in order:
                    with serving(folder / f"home-{kind}", *kinds[kind]) as port:
                        a, b = sequential(port, "digits-logreg", args.requests)
                    p50[kind].append(a)
                    p99[kind].append(b)
                    print(f"  round {r + 1} {kind}: p50 {a:.3f} ms, p99 {b:.3f} ms", flush=True)
            for kind in ("sklearn", "onnx"):
                rows.append(
                    (
                        f"sequential single-row p50 (p99), {kind}",
                        f"{spread(p50[kind], ' ms', 3)} ({statistics.median(p99[kind]):.3f})",
                        f"<= {MLFLOW_P50_MS / 3:.2f} ms (1/3 of MLflow's {MLFLOW_P50_MS} ms)",
                    )
                )
            added = [(d - s) * 1000 / 64 for d, s in zip(p50["drift"], p50["sklearn"], strict=True)]
            rows.append(
                (
                    "online drift check, added p50 per request per feature (64 features)",
                    spread(added, " us", 2),
                    "<= 20 us",
                )
            )
        if "batching" not in args.skip:
            one: list[dict[str, Any]] = []
            adaptive: list[dict[str, Any]] = []
            settings = {
                "batch 1": ["--max-batch-size", "1", "--max-delay-ms", "0"],
                "adaptive": ["--max-batch-size", "32", "--max-delay-ms", "5",
                             "--slo-p99-ms", str(SLO_MS)],
            }  # fmt: skip
            for r in range(args.rounds):
                order = list(settings) if r % 2 == 0 else list(reversed(settings))
                for kind in order:
                    with serving(folder / "home-cnn", "digits-cnn", *settings[kind]) as port:
                        load(port, "digits-cnn", [1, 32, 32], args.clients, 2.0)  # warm-up
                        got = load(port, "digits-cnn", [1, 32, 32], args.clients, args.seconds)
                    (one if kind == "batch 1" else adaptive).append(got)
                    print(f"  round {r + 1} {kind}: {json.dumps(got)}", flush=True)
            ratio = [a["per_s"] / b["per_s"] for a, b in zip(adaptive, one, strict=True)]
            rows.append(
                (
                    f"digits-cnn, {args.clients} clients: throughput adaptive / batch 1",
                    f"{spread([a['per_s'] for a in adaptive], ' req/s', 0)} / "
                    f"{spread([b['per_s'] for b in one], ' req/s', 0)}: "
                    f"{spread(ratio, 'x', 2)}",
                    ">= 3x",
                )
            )
            rows.append(
                (
                    f"digits-cnn, {args.clients} clients, adaptive: p99",
                    spread([a["p99_ms"] for a in adaptive], " ms", 1)
                    + f"; batch 1: {spread([b['p99_ms'] for b in one], ' ms', 1)}",
                    f"<= {SLO_MS:g} ms",
                )
            )
    print_table(rows)


if __name__ == "__main__":
    main()
