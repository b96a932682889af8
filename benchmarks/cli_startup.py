"""Start-up cost of the CLI: ``reef --version`` and ``reef --help`` beside a bare
``python -c pass``, the commands run in turn (A, B, C, A, B, C, ...) so that a noisy machine
weighs on each alike. Prints the median and the range of each, in ms.

Targets (issue 14): ``reef --version`` <= 50 ms and ``reef --help`` <= 100 ms, as commands
(the interpreter's own start-up included).

    python benchmarks/cli_startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "reef --version": [sys.executable, "-m", "reef", "--version"],
    "reef --help": [sys.executable, "-m", "reef", "--help"],
}
TARGETS_MS = {"reef --version": 50, "reef --help": 100}
# As an installed Reef runs: with Python's bytecode cache (some sandboxes turn it off, and then
# every command compiles Reef's modules again).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(cmd: list[str], runs: int) -> float:
    """The median wall time of ``cmd`` over ``runs`` runs, in seconds (other scripts time
    their commands with it)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        _run(cmd)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():  # once each first: .pyc files, disk cache
        subprocess.run(
            cmd, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            t0 = time.perf_counter()
            subprocess.run(
                cmd, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            times[name].append((time.perf_counter() - t0) * 1000)
    bare = statistics.median(times["python -c pass"])
    for name, ms in times.items():
        median = statistics.median(ms)
        target = TARGETS_MS.get(name)
        verdict = (
            ""
            if target is None
            else f"  target <= {target} ms: {'met' if median <= target else 'MISSED'}"
        )
        print(
            f"{name:15} median {median:6.1f} ms  range {min(ms):6.1f}-{max(ms):6.1f}  "
            f"{median / bare:4.1f}x bare python{verdict}"
        )


if __name__ == "__main__":
    main()
