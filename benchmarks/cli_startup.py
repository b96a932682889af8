"""Start-up cost of the CLI: ``reef --help`` against a bare ``python -c pass``.

Target: ``reef --help`` under 0.3 s (heavy imports are lazy). Prints medians of N runs.

    python benchmarks/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    bare = timed([sys.executable, "-c", "pass"], args.runs)
    helps = timed([sys.executable, "-m", "reef", "--help"], args.runs)
    print(f"python -c pass: {bare * 1000:.0f} ms (median of {args.runs})")
    print(
        f"reef --help:    {helps * 1000:.0f} ms (median of {args.runs}); "
        f"{helps / bare:.1f}x bare python  (target < 300 ms)"
    )


if __name__ == "__main__":
    main()
