"""``reef serve`` under steady load for ``--minutes`` (issue 19: a 10-minute soak, no growth in
RSS beyond warm-up): digits-classifier served with batching, the drift check and the payload
log on, ``--clients`` clients in a second process (``serving_load.py``, binary tensors) in
30 s stretches; the server's RSS sampled after each. Growth is the last sample against the
sample that ends warm-up (the first ``--warmup`` minutes).

    python benchmarks/serving_soak.py [--minutes 10] [--warmup 2] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import LOAD, SERVED, serving, sklearn_models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    import psutil

    with tempfile.TemporaryDirectory(prefix="reef-soak-") as tmp:
        folder = Path(tmp)
        _, _, reference = sklearn_models(folder)
        options = ("digits-classifier", "--reference", str(reference), "--log-payloads", "0.01")
        with serving(folder / "home", *options) as port:
            server = psutil.Process(SERVED[port].pid)
            started = time.monotonic()
            samples: list[tuple[float, float, dict[str, float]]] = []
            while time.monotonic() - started < args.minutes * 60:
                done = subprocess.run(
                    [sys.executable, str(LOAD), "--port", str(port), "--model",
                     "digits-classifier", "--shape", "64", "--clients", str(args.clients),
                     "--seconds", "30"],
                    capture_output=True, text=True, timeout=300, check=True,
                )  # fmt: skip
                load = json.loads(done.stdout.strip().splitlines()[-1])
                minute = (time.monotonic() - started) / 60
                rss = server.memory_info().rss / 2**20
                samples.append((minute, rss, load))
                print(f"  {minute:5.1f} min: RSS {rss:7.1f} MiB; {json.dumps(load)}", flush=True)
    warm = next((s for s in samples if s[0] >= args.warmup), samples[0])
    last = samples[-1]
    requests = sum(s[2]["requests"] for s in samples)
    failed = sum(s[2]["failed"] for s in samples)
    print()
    print("| figure | measured | target |")
    print("| --- | --- | --- |")
    print(
        f"| RSS after warm-up ({warm[0]:.1f} min) / at the end ({last[0]:.1f} min) | "
        f"{warm[1]:.1f} / {last[1]:.1f} MiB: {last[1] - warm[1]:+.1f} MiB | no growth |"
    )
    print(f"| requests answered / failed | {requests:,} / {failed} | 0 failed |")


if __name__ == "__main__":
    main()
