"""Time a filtered run list over 100,000 runs: ``api.runs_list`` in process, and the whole
``reef runs list`` command against a bare ``python -c pass``.

Target: a filtered ``runs list`` under 300 ms. Prints medians of N.

    python benchmarks/analysis_time.py [--home DIR] [--runs 100000] [--repeat 15]

``--home`` reuses a REEF_HOME that already holds the runs (see generate_runs.py); without it,
or when that home holds fewer than ``--runs`` runs, the runs are generated first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from generate_runs import generate

TARGET_MS = 300.0


def median_ms(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = run()  # warm-up: imports, page cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, result


def command_ms(argv: list[str], repeat: int) -> float:
    def run() -> None:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return median_ms(run, repeat)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="a REEF_HOME holding the runs (reused)")
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()

    home: Path = args.home or Path(tempfile.mkdtemp(prefix="reef-analysis-"))
    os.environ["REEF_HOME"] = str(home)
    os.environ.pop("REEF_DB_URL", None)
    from reef import api
    from reef.results import Store
    from reef.results.query import RunFilter

    with Store() as store:
        have = store.count()
    if have < args.runs:
        t0 = time.perf_counter()
        generate(args.runs - have, home=home, seed=have + 1)
        print(f"generated {args.runs - have:,} runs in {time.perf_counter() - t0:.1f} s")
    with Store() as store:
        total = store.count()
    print(f"store: {home} ({total:,} runs)\n")

    cases: list[tuple[str, dict[str, Any]]] = [
        ("selective: --model resnet50 --scenario Server -n 20", {
            "model": "resnet50", "scenario": "Server", "limit": 20}),
        ("selective + --backend tensorrt --version '>=2' --since 90d --sort p90", {
            "model": "resnet50", "backend": "tensorrt", "version": ">=2", "since": "90d",
            "sort": "p90", "limit": 20}),
        ("free text: --text 'out of memory' -n 20", {"text": "out of memory", "limit": 20}),
        ("broad: --status valid --sort=-throughput -n 20", {
            "status": "valid", "sort": "-throughput", "limit": 20}),
        ("broad, all rows: --scenario Offline --since 30d -n 0", {
            "scenario": "Offline", "since": "30d"}),
    ]  # fmt: skip
    print(f"api.runs_list, median of {args.repeat}:")
    for label, kwargs in cases:
        options = dict(kwargs)
        limit, sort = options.pop("limit", None), options.pop("sort", None)
        run_filter = RunFilter().merged(**options)

        def listed(f: RunFilter = run_filter, n: Any = limit, s: Any = sort) -> Any:
            return api.runs_list(f, limit=n, sort=s)

        ms, records = median_ms(listed, args.repeat)
        flag = "ok" if ms < TARGET_MS else "OVER"
        print(f"  {ms:7.1f} ms  {len(records):5d} runs  {label}  [{flag}]")

    bare = command_ms([sys.executable, "-c", "pass"], args.repeat)
    argv = [sys.executable, "-m", "reef", "runs", "list"]
    listed = command_ms([*argv, "--model", "resnet50", "--scenario", "Server", "-n", "20"], 10)
    csv = command_ms(
        [*argv, "--model", "resnet50", "--scenario", "Server", "-n", "20", "--format", "csv"], 10
    )
    empty_home = tempfile.mkdtemp(prefix="reef-empty-")
    os.environ["REEF_HOME"] = empty_home
    empty = command_ms([*argv, "-n", "20"], 10)
    print(f"\nwhole command, median of 10 ({args.repeat} for python):")
    print(f"  {bare:7.1f} ms  python -c pass")
    print(f"  {empty:7.1f} ms  reef runs list -n 20 (empty store: start-up cost)")
    print(f"  {listed:7.1f} ms  reef runs list --model resnet50 --scenario Server -n 20")
    print(f"  {csv:7.1f} ms  ... --format csv")
    print(
        f"  query share of the command: {listed - empty:.1f} ms; target < {TARGET_MS:.0f} ms "
        f"for a filtered list"
    )


if __name__ == "__main__":
    main()
