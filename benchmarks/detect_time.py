"""How long environment detection takes.

- ``reef detect --json`` as a whole command, beside ``python -c pass`` and ``reef detect
  --help`` (the CLI's own start-up, which every command pays), run in turn so that a noisy
  machine weighs on each alike: with the boot's memo of the costly detectors filled (every
  run after the first since boot, or since software was installed) and with an empty one
  (a fresh cache folder each time);
- ``detect_all()`` in a fresh process, memo filled and empty, with each detector's time.

Target (issue 14): ``reef detect --json`` <= 350 ms. Prints medians and ranges (ms), the
CPU time of each command, and the load average.

    python benchmarks/detect_time.py [--runs 11] [--before-src DIR]

Python's bytecode cache is on (in a temporary folder, ``PYTHONPYCACHEPREFIX``), as an
installed Reef has it, whatever ``PYTHONDONTWRITEBYTECODE`` says; ``--no-bytecode-cache``
compiles every module at every start instead.

``--before-src`` times another copy of Reef's ``src`` folder (an older commit, say) alongside,
each command of it right after the same command of this one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 350.0

IN_PROCESS = """
import json, time
t0 = time.perf_counter()
from reef.environment.detect import detect_all
detection = detect_all()
print(json.dumps({"total": time.perf_counter() - t0, "each": detection.durations_s}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--before-src", type=Path, help="another Reef's src folder, timed alongside")
    ap.add_argument("--no-bytecode-cache", action="store_true", help="compile at every start")
    args = ap.parse_args()
    bytecode = None if args.no_bytecode_cache else tempfile.mkdtemp(prefix="reef-pyc-")
    src = Path(__file__).resolve().parents[1] / "src"
    sides = {"after": src}
    if args.before_src is not None:
        sides = {"before": args.before_src.resolve(), **sides}
    homes = {name: tempfile.mkdtemp(prefix=f"reef-detect-{name}-") for name in sides}

    def env(side: str, *, empty_memo: bool = False) -> dict[str, str]:
        values = {**os.environ, "REEF_HOME": homes[side], "PYTHONPATH": str(sides[side])}
        values.pop("REEF_CACHE", None)
        if bytecode is not None:
            values.pop("PYTHONDONTWRITEBYTECODE", None)
            values["PYTHONPYCACHEPREFIX"] = bytecode
        if empty_memo:
            values["REEF_CACHE"] = tempfile.mkdtemp(prefix="reef-detect-cache-")
        return values

    for side in sides:  # the memo filled, the components' index built, .pyc files written
        subprocess.run(
            [sys.executable, "-m", "reef", "detect", "--json"],
            env=env(side),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    print(f"detect_all() in a fresh process (median of {args.runs}):")
    for side in sides:
        for empty in (False, True):
            totals, each = [], {}
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, "-c", IN_PROCESS],
                    env=env(side, empty_memo=empty),
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                found = json.loads(out.strip().splitlines()[-1])
                totals.append(found["total"] * 1000)
                for name, seconds in found["each"].items():
                    each.setdefault(name, []).append(seconds * 1000)
            slowest = sorted(((statistics.median(v), k) for k, v in each.items()), reverse=True)
            memo = "memo empty " if empty else "memo filled"
            print(
                f"  {side:6} {memo}  {statistics.median(totals):5.0f} ms; slowest: "
                + ", ".join(f"{k} {ms:.0f}" for ms, k in slowest[:4])
            )

    commands: list[tuple[str, str, list[str], bool]] = []
    for side in sides:
        commands += [
            (side, "python -c pass", ["-c", "pass"], False),
            (side, "reef detect --help", ["-m", "reef", "detect", "--help"], False),
            (side, "reef detect --json", ["-m", "reef", "detect", "--json"], False),
            (side, "reef detect --json, memo empty", ["-m", "reef", "detect", "--json"], True),
        ]
    walls: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):
        for side, label, argv, empty in commands:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, *argv],
                env=env(side, empty_memo=empty),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            walls.setdefault((side, label), []).append((time.perf_counter() - t0) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            cpus.setdefault((side, label), []).append(cpu * 1000)
    load = os.getloadavg()
    print(
        f"\nwhole commands (median of {args.runs}, in turn; range; CPU median), load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}:"
    )
    for side, label, _argv, _empty in commands:
        wall = walls[(side, label)]
        median = statistics.median(wall)
        verdict = ""
        if label == "reef detect --json" and side == "after":
            verdict = (
                f"  target <= {TARGET_MS:.0f} ms: {'met' if median <= TARGET_MS else 'MISSED'}"
            )
        print(
            f"  {side:6} {label:31} {median:5.0f} ms  ({min(wall):.0f}-{max(wall):.0f})  "
            f"cpu {statistics.median(cpus[(side, label)]):4.0f} ms{verdict}"
        )


if __name__ == "__main__":
    main()
