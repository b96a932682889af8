"""Time the analyses over a large store: ``reef report`` over 1,000 runs, ``reef board`` and
``reef pareto`` over all of them, and ``reef plot``, against a bare ``python -c pass`` and the
CLI's own start-up measured in the same run.

Targets: a report over 1,000 runs under 5 s; ``pareto`` under 1 s. Prints medians of N.

    python benchmarks/report_time.py [--home DIR] [--runs 100000] [--report-runs 1000]
                                     [--raw 5000] [--repeat 5]

The store holds ``--runs`` generated runs (generate_runs.py); the newest ``--report-runs`` of
them keep ``--raw`` raw latencies each, as runs made with ``--raw-latencies`` do, so the
report draws measured CDFs and histograms. ``--home`` reuses a store made before.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate_runs import generate, records

REPORT_TARGET_S = 5.0
PARETO_TARGET_S = 1.0


def add_recent(home: Path, count: int, raw: int) -> None:
    """``count`` runs newer than any generated one, each with ``raw`` latencies."""
    import numpy as np

    from reef.results import Store

    os.environ["REEF_HOME"] = str(home)
    rng = np.random.default_rng(7)
    future = datetime.now(UTC) + timedelta(days=400)  # newest: the ones a report selects
    batch = []
    for record in records(count, seed=99, now=future):
        if record.performance is not None:
            p50_ns = record.performance.latency_ms.p50 * 1e6
            record.latencies_ns = (rng.lognormal(0, 0.2, raw) * p50_ns).astype(int).tolist()
        batch.append(record)
    with Store() as store:
        store.add_many(batch)


def seconds(argv: list[str], repeat: int, env: dict[str, str]) -> float:
    """Median wall time of the command, after one warm-up run."""
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="a REEF_HOME made by an earlier run (reused)")
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--report-runs", type=int, default=1000)
    ap.add_argument("--raw", type=int, default=5000, help="raw latencies per reported run")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    home: Path = args.home or Path(tempfile.mkdtemp(prefix="reef-report-"))
    marker = home / f".report-time-{args.runs}-{args.report_runs}-{args.raw}"
    if not marker.exists():
        t0 = time.perf_counter()
        generate(args.runs - args.report_runs, home=home)
        add_recent(home, args.report_runs, args.raw)
        marker.touch()
        print(f"made {args.runs:,} runs in {time.perf_counter() - t0:.1f} s")
    print(f"store: {home}\n")

    env = {**os.environ, "REEF_HOME": str(home)}
    env.pop("REEF_DB_URL", None)
    out = Path(tempfile.mkdtemp(prefix="reef-report-out-"))
    reef = [sys.executable, "-m", "reef"]
    n = str(args.report_runs)
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"], None),
        ("reef --version (start-up)", [*reef, "--version"], None),
        (f"reef report -n {n} -o report.html", [*reef, "report", "-n", n, "-o",
         str(out / "report.html")], REPORT_TARGET_S),
        (f"reef report -n {n} -o report.md (SVG figures)", [*reef, "report", "-n", n, "-o",
         str(out / "report.md")], REPORT_TARGET_S),
        (f"reef report -n {n} -o paper.md --figures png", [*reef, "report", "-n", n, "-o",
         str(out / "paper.md"), "--figures", "png"], REPORT_TARGET_S),
        (f"reef plot cdf -n {n} --model resnet50 -o cdf.svg", [*reef, "plot", "cdf", "-n", n,
         "--model", "resnet50", "-o", str(out / "cdf.svg")], None),
        (f"reef board (all {args.runs:,} runs)", [*reef, "board"], None),
        (f"reef pareto (all {args.runs:,} runs)", [*reef, "pareto", "-o", "latency_p90:min",
         "-o", "accuracy:max", "-n", "5"], PARETO_TARGET_S),
    ]  # fmt: skip
    print(f"whole commands, median of {args.repeat}:")
    for label, argv, target in cases:
        took = seconds(argv, args.repeat, env)
        flag = "" if target is None else ("  [ok]" if took < target else "  [OVER]")
        print(f"  {took:6.2f} s  {label}{flag}")
    size = (out / "report.html").stat().st_size
    figures = len(list((out / "report_figures").iterdir()))
    print(f"\nreport.html: {size / 1e6:.1f} MB; report.md: {figures} figure files")

    os.environ["REEF_HOME"] = str(home)
    from reef.report.builder import build_document
    from reef.report.html import render_html
    from reef.report.selection import select_runs

    t0 = time.perf_counter()
    chosen, _ = select_runs([], args.report_runs)
    t1 = time.perf_counter()
    document = build_document(chosen)
    t2 = time.perf_counter()
    render_html(document)
    t3 = time.perf_counter()
    print(
        f"in process: select {t1 - t0:.2f} s, build {t2 - t1:.2f} s, render {t3 - t2:.2f} s "
        f"({len(chosen):,} runs, {len(document.figures())} figures)"
    )


if __name__ == "__main__":
    main()
