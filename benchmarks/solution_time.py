"""What ``reef run`` costs when every step is cached, and what ``reef reproduce`` costs.

1. ``reef run digits-classification`` in a fresh process once the solution ran (every step
   cached; target: Reef's overhead under 0.5 s). Shown beside ``python -c pass`` and
   ``reef --version``, the floor of any ``reef`` command, and split in process into loading the
   solution (resolve, locate, checks) and the engine (cache look-ups, tracker).
2. ``reef reproduce RUN_ID`` of the solution's SingleStream run, end to end in a fresh
   process: its wall time and the share that is Reef's own rather than the benchmark's (the
   reproduced run's own time, from its record, is the benchmark's).

Each figure is the median of ``--runs`` repetitions; every run uses a temporary REEF_HOME.

    python benchmarks/solution_time.py [--runs 7] [--reproduce-runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from _common import use_temp_home
from cli_startup import timed as wall

SOLUTION = "digits-classification"


def reef(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reef", *args], check=False, capture_output=True, text=True
    )


def in_process(runs: int) -> tuple[float, float]:
    from reef.api import solutions
    from reef.solutions import engine

    loads, engines = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        solution = solutions.load(SOLUTION)
        t1 = time.perf_counter()
        engine.run(
            solution,
            {},
            environment_key=solutions.environment_key,
        )
        loads.append(t1 - t0)
        engines.append(time.perf_counter() - t1)
    return statistics.median(loads), statistics.median(engines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--reproduce-runs", type=int, default=3)
    args = ap.parse_args()
    use_temp_home()
    first = reef("run", SOLUTION)
    if first.returncode != 0:
        sys.exit(f"reef run failed:\n{first.stderr}")
    bare = wall([sys.executable, "-c", "pass"], args.runs)
    version = wall([sys.executable, "-m", "reef", "--version"], args.runs)
    cached = wall([sys.executable, "-m", "reef", "run", SOLUTION], args.runs)
    load_s, engine_s = in_process(args.runs)
    print(f"python -c pass:                 {bare * 1000:6.0f} ms")
    print(f"reef --version:                 {version * 1000:6.0f} ms")
    print(
        f"reef run (all steps cached):    {cached * 1000:6.0f} ms wall; "
        f"{(cached - bare) * 1000:.0f} ms over bare python (target < 500 ms)"
    )
    print(
        f"  in process: load the solution {load_s * 1000:6.0f} ms, engine {engine_s * 1000:.0f} ms"
    )

    runs = json.loads(reef("runs", "list", "--json").stdout)
    single = next(r for r in runs if r["settings"]["scenario"] == "SingleStream")
    totals, benches = [], []
    for _ in range(args.reproduce_runs):
        t0 = time.perf_counter()
        done = reef("reproduce", single["id"], "--json")
        total = time.perf_counter() - t0
        if done.returncode not in (0, 1):
            sys.exit(f"reef reproduce failed:\n{done.stderr}")
        report = json.loads(done.stdout)
        new = json.loads(reef("runs", "show", report["reproduction"], "--json").stdout)
        from datetime import datetime

        took = (
            datetime.fromisoformat(new["finished_at"]) - datetime.fromisoformat(new["created_at"])
        ).total_seconds()
        totals.append(total)
        benches.append(took)
        print(f"  reproduce: {total:.2f} s, verdict {report['verdict']}: {report['reasons']}")
    total, bench = statistics.median(totals), statistics.median(benches)
    print(
        f"reef reproduce (digits SingleStream, {single['settings']['duration_s']} s run): "
        f"{total:.2f} s wall; the benchmark {bench:.2f} s, Reef's own {total - bench:.2f} s "
        f"({(total - bench) / total:.0%})"
    )
    print(f"REEF_HOME {os.environ['REEF_HOME']}")


if __name__ == "__main__":
    main()
