"""Reef's sweeps on Dask (issue 18): what Reef adds to each cell over bare Dask, and what a
second worker buys on this machine.

1. **Scheduling overhead per cell.** ``--cells`` trivial cells (a stub in place of the
   benchmark: it returns no run at once) through ``reef.cluster.runner.run_sweep`` on a
   ``LocalCluster`` of 2 process workers, against the same number of trivial tasks submitted
   and gathered with bare Dask on the same cluster, alternating, ``--rounds`` times. Per
   cell: the wall time over the cells (what a cell costs when many wait), and the p50 of the
   time from a cell's submission to its result taken in (state saved), cells sent one at a
   time (``--one-at-a-time`` of them).
2. **Speed-up of a 12-cell sweep** of real digits-classifier runs (``--cell-seconds`` each) on 2
   workers against 1, alternating.
3. **100 agents, on paper**, from (1): how many agents one client keeps busy when each cell
   measures for a minute.

    python benchmarks/cluster.py [--cells 1000] [--rounds 3] [--one-at-a-time 50]
        [--cell-seconds 1.0] [--skip overhead speedup]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import print_table, spread

TARGET_P50_MS = 20.0


def stub(cell: dict[str, Any]) -> dict[str, Any]:
    return {"agent": "stub", "bundles": []}


def noop(i: int) -> int:
    return i


def spec(folder: Path, **fields: Any) -> Path:
    path = folder / f"spec-{time.monotonic_ns()}.yaml"
    path.write_text(yaml.safe_dump({"targets": ["digits-classifier"], **fields}))
    return path


def reef_cells(client: Any, folder: Path, cells: int) -> float:
    from reef import api
    from reef.cluster.runner import run_sweep

    state = api.sweep_start(spec(folder, settings={"seed": list(range(cells))}))
    started = time.perf_counter()
    done = run_sweep(state, client, task=stub)
    took = time.perf_counter() - started
    assert done.counts()["done"] == cells, done.counts()
    return took


def bare_cells(client: Any, cells: int) -> float:
    started = time.perf_counter()
    futures = [client.submit(noop, i, pure=False) for i in range(cells)]
    client.gather(futures)
    return time.perf_counter() - started


def one_at_a_time(client: Any, folder: Path, count: int) -> tuple[list[float], list[float]]:
    """Seconds from submission to the result taken in, a cell (a sweep of one) at a time:
    Reef's, and bare Dask's submit-and-result."""
    from reef import api
    from reef.cluster.runner import run_sweep

    reef_times, bare_times = [], []
    for i in range(count):
        state = api.sweep_start(spec(folder, settings={"seed": i}))
        started = time.perf_counter()
        run_sweep(state, client, task=stub)
        reef_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.submit(noop, i, pure=False).result()
        bare_times.append(time.perf_counter() - started)
    return reef_times, bare_times


def overhead(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    from distributed import Client

    from reef.cluster.connect import start_local

    rows = []
    with tempfile.TemporaryDirectory(prefix="reef-cluster-") as tmp:
        folder = Path(tmp)
        cluster = start_local(2)
        try:
            with Client(cluster, set_as_default=False) as client:
                client.wait_for_workers(2, timeout=120)
                reef_cells(client, folder, 20)  # warm both sides up
                bare_cells(client, 20)
                reef_per, bare_per = [], []
                for r in range(args.rounds):
                    order = ("reef", "bare") if r % 2 == 0 else ("bare", "reef")
                    for side in order:
                        if side == "reef":
                            took = reef_cells(client, folder, args.cells)
                            reef_per.append(took / args.cells)
                        else:
                            took = bare_cells(client, args.cells)
                            bare_per.append(took / args.cells)
                        print(f"  round {r + 1} {side}: {took:.2f} s for {args.cells} cells",
                              flush=True)  # fmt: skip
                reef_one, bare_one = one_at_a_time(client, folder, args.one_at_a_time)
        finally:
            cluster.close()
    ratio = [a / b for a, b in zip(reef_per, bare_per, strict=True)]
    rows.append(
        (
            f"{args.cells:,} trivial cells on 2 workers: wall time a cell, Reef / bare Dask",
            f"{spread(reef_per, ' ms', 2, scale=1000)} / {spread(bare_per, ' ms', 2, scale=1000)}; "
            f"ratio {spread(ratio, 'x', 1)}",
            "-",
        )
    )
    rows.append(
        (
            "one cell at a time, submission to result taken in: p50 (p90), Reef / bare Dask",
            f"{statistics.median(reef_one) * 1000:.1f} ms "
            f"({sorted(reef_one)[int(0.9 * len(reef_one))] * 1000:.1f}) / "
            f"{statistics.median(bare_one) * 1000:.1f} ms "
            f"({sorted(bare_one)[int(0.9 * len(bare_one))] * 1000:.1f})",
            f"p50 <= {TARGET_P50_MS:g} ms",
        )
    )
    per_cell = statistics.median(reef_per)
    rows.append(
        (
            "agents one client keeps busy, cells measuring 60 s each (on paper)",
            f"{60 / per_cell:,.0f} (60 s / {per_cell * 1000:.2f} ms a cell); 100 agents use "
            f"{100 * per_cell / 60 * 100:.2f}% of the client",
            "-",
        )
    )
    return rows


def sweep_once(workers: int, folder: Path, seconds: float) -> float:
    from distributed import Client

    from reef import api
    from reef.cluster.connect import start_local
    from reef.cluster.runner import run_sweep

    cluster = start_local(workers)
    try:
        with Client(cluster, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
            state = api.sweep_start(
                spec(
                    folder,
                    scenarios=["SingleStream", "Offline"],
                    settings={"threads": [1, 2, 3], "batch_size": [1, 8],
                              "duration_s": seconds, "mode": "performance"},
                )
            )  # fmt: skip
            started = time.perf_counter()
            done = run_sweep(state, client)
            took = time.perf_counter() - started
            assert done.counts()["done"] == 12, done.counts()
            return took
    finally:
        cluster.close()


def speedup(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    one, two = [], []
    with tempfile.TemporaryDirectory(prefix="reef-cluster-") as tmp:
        folder = Path(tmp)
        for r in range(args.rounds):
            for workers in (1, 2) if r % 2 == 0 else (2, 1):
                took = sweep_once(workers, folder, args.cell_seconds)
                (one if workers == 1 else two).append(took)
                print(f"  round {r + 1}, {workers} worker(s): {took:.1f} s", flush=True)
    ratio = [a / b for a, b in zip(one, two, strict=True)]
    return [
        (
            f"12-cell sweep ({args.cell_seconds:g} s cells), 1 worker / 2 workers",
            f"{spread(one, ' s')} / {spread(two, ' s')}; speed-up {spread(ratio, 'x', 2)}",
            "report it",
        )
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--one-at-a-time", type=int, default=50)
    ap.add_argument("--cell-seconds", type=float, default=1.0)
    ap.add_argument("--skip", nargs="*", default=[], choices=["overhead", "speedup"])
    args = ap.parse_args()
    os.environ["REEF_HOME"] = tempfile.mkdtemp(prefix="reef-cluster-home-")
    rows: list[tuple[str, str, str]] = []
    if "overhead" not in args.skip:
        print("scheduling overhead:", flush=True)
        rows += overhead(args)
    if "speedup" not in args.skip:
        print("speed-up:", flush=True)
        rows += speedup(args)
    print_table(rows)


if __name__ == "__main__":
    main()
