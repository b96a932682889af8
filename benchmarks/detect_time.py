"""How long environment detection takes.

- ``detect_all()`` warm: the second and later calls in one process (imports done, the
  fingerprint cache cleared before each), with the slowest detectors named;
- ``reef detect --json`` as a command, in a fresh ``REEF_HOME``, against ``python -c pass``
  and the imports it cannot avoid: the CLI, ``reef.api`` (what every command pays) and
  onnxruntime (only an import can list its execution providers).

Target: both under 1 s. Prints medians of N runs.

    python benchmarks/detect_time.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median wall time of each command; interleaved, so a noisy moment hits them all."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            t0 = time.perf_counter()
            subprocess.run(
                cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
            )
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    env = {**os.environ, "REEF_HOME": tempfile.mkdtemp(prefix="reef-bench-")}
    os.environ["REEF_HOME"] = env["REEF_HOME"]

    from reef.environment.detect import detect_all
    from reef.environment.fingerprint import collect

    t0 = time.perf_counter()
    first = detect_all()
    cold = time.perf_counter() - t0
    walls: list[float] = []
    per: dict[str, list[float]] = {}
    for _ in range(args.runs):
        collect.cache_clear()
        t0 = time.perf_counter()
        detection = detect_all()
        walls.append(time.perf_counter() - t0)
        for name, seconds in detection.durations_s.items():
            per.setdefault(name, []).append(seconds)
    slowest = sorted(((statistics.median(v), k) for k, v in per.items()), reverse=True)[:3]
    print(
        f"detect_all() first call in this process: {cold * 1000:.0f} ms "
        f"({len(first.durations_s)} detectors, {len(first.problems)} problems)"
    )
    print(
        f"detect_all() warm: {statistics.median(walls) * 1000:.0f} ms (median of {args.runs}); "
        "slowest: " + ", ".join(f"{k} {s * 1000:.0f} ms" for s, k in slowest) + "  (target < 1 s)"
    )

    floor = "import reef.cli, reef.api, onnxruntime"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        f"python -c '{floor}'": [sys.executable, "-c", floor],
        "reef detect --json": [sys.executable, "-m", "reef", "detect", "--json"],
    }
    for name, median in timed(commands, args.runs, env).items():
        target = "  (target < 1 s)" if name.startswith("reef") else ""
        print(f"{name + ':':<56} {median * 1000:5.0f} ms (median of {args.runs}){target}")


if __name__ == "__main__":
    main()
