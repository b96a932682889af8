"""Wall time of ``reef demo`` in a fresh REEF_HOME (target: under 60 s on 2 cores).

python benchmarks/demo_time.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    times = []
    for _ in range(args.runs):
        env = dict(os.environ, REEF_HOME=tempfile.mkdtemp(prefix="reef-demo-"))
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "reef", "demo"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t0)
    print(
        f"reef demo: median {statistics.median(times):.1f} s over {args.runs} runs "
        f"(min {min(times):.1f}, max {max(times):.1f}); target < 60 s"
    )


if __name__ == "__main__":
    main()
