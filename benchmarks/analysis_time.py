"""Analysis over 100,000 stored runs, as whole commands beside ``python -c pass``:
``reef runs list -n 20``, ``reef board``, ``reef pareto -o latency_p90:min -o accuracy:max``
(all runs, and ``--model resnet50``), run in turn (A, B, C, A, B, C, ...) so that a noisy
machine weighs on each alike, each beside the same command over an empty store (its start-up:
the CLI, its imports, opening the store; board and pareto then stop with "no runs"); then
the same work in process, once imported (the store opened, the query, the result built).

Targets (issue 14), as whole commands: runs list <= 200 ms, board <= 500 ms, pareto <= 500 ms.
Prints medians and ranges (ms), the CPU time of each command, and the load average.

    python benchmarks/analysis_time.py [--home DIR] [--runs 100000] [--repeat 11]
        [--before-src DIR --before-home DIR]

Python's bytecode cache is on (in a temporary folder, ``PYTHONPYCACHEPREFIX``), as an
installed Reef has it, whatever ``PYTHONDONTWRITEBYTECODE`` says; ``--no-bytecode-cache``
compiles every module at every start instead.

``--home`` reuses a REEF_HOME that already holds the runs (see generate_runs.py); without it,
or when that home holds fewer than ``--runs`` runs, they are generated first. Opening a home
made by an older Reef upgrades its database (once, before timing). ``--before-src`` times
another copy of Reef's ``src`` folder (an older commit, say) alongside, each command of it
right after the same command of this one, on ``--before-home``: a home of its own, since an
older Reef may not open a database this one has upgraded.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

TARGETS_MS = {"runs list": 200.0, "board": 500.0, "pareto": 500.0, "pareto --model": 500.0}
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "runs list": ["-m", "reef", "runs", "list", "-n", "20"],
    "board": ["-m", "reef", "board"],
    "pareto": ["-m", "reef", "pareto", "-o", "latency_p90:min", "-o", "accuracy:max"],
    "pareto --model": [
        "-m", "reef", "pareto", "-o", "latency_p90:min", "-o", "accuracy:max",
        "--model", "resnet50",
    ],
}  # fmt: skip

# The same work in process: (name, code run once imported); ``store`` is an open Store.
IN_PROCESS = {
    "runs list": "store.list(RunFilter(), limit=20)",
    "board": "scoreboard(store, None, RunFilter())",
    "pareto": "frontier(store, objectives, RunFilter())",
    "pareto --model": "frontier(store, objectives, RunFilter(model='resnet50'))",
}
IN_PROCESS_SETUP = """
import gc, statistics, time
from reef.results import Store
from reef.results.board import scoreboard
from reef.results.pareto import frontier, objectives_of
from reef.results.query import RunFilter
import numpy
objectives = objectives_of(["latency_p90:min", "accuracy:max"])
times = []
for _ in range({repeat} + 1):
    t0 = time.perf_counter()
    with Store() as store:
        result = {code}
    del result
    times.append((time.perf_counter() - t0) * 1000)
times = times[1:]  # the first: page cache, lazy imports
print(statistics.median(times), min(times), max(times))
"""


class Side:
    """A Reef (its ``src`` on PYTHONPATH) and the home it reads."""

    bytecode: str | None = None  # where compiled modules are kept; None: nowhere

    def __init__(self, name: str, src: Path, home: Path) -> None:
        self.name, self.src, self.home = name, src, home

    def env(self) -> dict[str, str]:
        env = {**os.environ, "REEF_HOME": str(self.home), "PYTHONPATH": str(self.src)}
        env.pop("REEF_DB_URL", None)
        if Side.bytecode is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = Side.bytecode
        return env


def ensure_runs(side: Side, runs: int) -> int:
    """Generate runs into the side's home until it holds ``runs``; open it once (a newer Reef
    upgrades its database here, not while timing). Returns how many it holds."""
    code = "from reef.results import Store\nwith Store() as s: print(s.count())\n"
    count = int(run_python(side, ["-c", code]).strip())
    if count < runs:
        script = Path(__file__).with_name("generate_runs.py")
        t0 = time.perf_counter()
        run_python(
            side,
            [str(script), "--runs", str(runs - count), "--home", str(side.home), "--seed",
             str(count + 1)],
        )  # fmt: skip
        print(f"{side.name}: generated {runs - count:,} runs in {time.perf_counter() - t0:.0f} s")
        count = runs
    return count


def run_python(side: Side, argv: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, *argv], env=side.env(), check=True, capture_output=True, text=True
    )
    return done.stdout


EMPTY = ", empty store"


def time_commands(sides: list[Side], repeat: int) -> dict[tuple[str, str], list[float]]:
    """Wall ms of each command (and CPU ms under "cpu"), every side's in turn; each command
    also over an empty store (``name + EMPTY``)."""
    import tempfile

    empty = {side.name: Side(side.name, side.src, Path(tempfile.mkdtemp())) for side in sides}
    runs = [(name, argv, False) for name, argv in COMMANDS.items()]
    runs += [(name + EMPTY, argv, True) for name, argv in COMMANDS.items() if "reef" in argv]
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeat + 1):  # the first round warms the page cache and .pyc files
        for name, argv, on_empty in runs:
            for side in sides:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                subprocess.run(  # an empty store's board and pareto exit 2: no runs
                    [sys.executable, *argv],
                    env=(empty[side.name] if on_empty else side).env(),
                    check=not on_empty,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                wall = (time.perf_counter() - t0) * 1000
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
                times.setdefault((side.name, name), []).append(wall)
                times.setdefault((side.name, "cpu " + name), []).append(cpu)
    return {key: values[1:] for key, values in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="a REEF_HOME holding the runs (reused)")
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--before-src", type=Path, help="another Reef's src folder, timed alongside")
    ap.add_argument("--before-home", type=Path, help="the home --before-src reads")
    ap.add_argument("--no-bytecode-cache", action="store_true", help="compile at every start")
    args = ap.parse_args()
    if (args.before_src is None) != (args.before_home is None):
        ap.error("--before-src and --before-home go together")

    import tempfile

    if not args.no_bytecode_cache:
        Side.bytecode = tempfile.mkdtemp(prefix="reef-pyc-")
    src = Path(__file__).resolve().parents[1] / "src"
    home = args.home or Path(tempfile.mkdtemp(prefix="reef-analysis-"))
    sides = [Side("after", src, home)]
    if args.before_src is not None:
        sides.insert(0, Side("before", args.before_src.resolve(), args.before_home.resolve()))
    for side in sides:
        print(f"{side.name}: {side.src} on {side.home} ({ensure_runs(side, args.runs):,} runs)")

    print(f"\nin process, once imported (median of {args.repeat}; range):")
    for name, code in IN_PROCESS.items():
        for side in sides:
            script = IN_PROCESS_SETUP.format(repeat=args.repeat, code=code)
            median, low, high = map(float, run_python(side, ["-c", script]).split())
            print(f"  {side.name:6} {name:15} {median:6.0f} ms  ({low:.0f}-{high:.0f})")

    times = time_commands(sides, args.repeat)
    load = os.getloadavg()
    print(
        f"\nwhole commands (median of {args.repeat}, in turn; range; CPU median), load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}:"
    )
    for name in [*COMMANDS, *(n + EMPTY for n in COMMANDS if "reef" in COMMANDS[n])]:
        for side in sides:
            wall = times[(side.name, name)]
            cpu = statistics.median(times[(side.name, "cpu " + name)])
            median = statistics.median(wall)
            target = TARGETS_MS.get(name)
            verdict = ""
            if target is not None and side is sides[-1]:
                verdict = f"  target <= {target:.0f} ms: {'met' if median <= target else 'MISSED'}"
            print(
                f"  {side.name:6} {name:27} {median:6.0f} ms  ({min(wall):.0f}-{max(wall):.0f})"
                f"  cpu {cpu:4.0f} ms{verdict}"
            )


if __name__ == "__main__":
    main()
