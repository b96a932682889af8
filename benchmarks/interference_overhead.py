"""What sampling interference costs: SingleStream p50 (as LoadGen reports it) with the
interference sampler on against off (``REEF_INTERFERENCE=0``), measured in the same process.

Each round is one fresh process that prepares the model once and runs it twice, sampling on
and off in an order that alternates from round to round, so that neither a warmer machine nor
the heap favours one side. Prints each round, then the median ratio and its range.

    python benchmarks/interference_overhead.py [--model digits-cnn] [--rounds 9] [--duration 2]

Target (issue 15): at most 1% on digits-cnn SingleStream p50 (ratio <= 1.01).
"""

from __future__ import annotations

import argparse
import json
import os

from _common import ab_arguments, child_round, job_for, median, use_temp_home

from reef.bench.runner import execute, prepare


def measure(model: str, sampling: bool, duration: float, threads: int) -> float:
    """One p50 in nanoseconds."""
    os.environ["REEF_INTERFERENCE"] = "1" if sampling else "0"
    job = job_for(
        model, scenario="SingleStream", mode="performance", duration_s=duration, threads=threads
    )
    record = execute(prepare(job))
    assert record.performance is not None, record.reasons
    assert (record.interference is not None) == sampling
    return record.performance.latency_ms.p50 * 1e6


def one_round(args: argparse.Namespace) -> dict[str, float]:
    use_temp_home()
    order = [True, False] if args.round % 2 == 0 else [False, True]
    got = {s: measure(args.model, s, args.duration, args.threads) for s in order}
    return {"on": got[True], "off": got[False]}


def main() -> None:
    args = ab_arguments(rounds=9)
    if args.child:
        print(json.dumps(one_round(args)))
        return
    ratios = []
    for r in range(args.rounds):
        got = child_round(__file__, r, args)
        ratios.append(got["on"] / got["off"])
        print(
            f"round {r}: p50 sampling on {got['on'] / 1e3:.2f} us, off {got['off'] / 1e3:.2f} us"
            f", ratio {ratios[-1]:.4f}"
        )
    print(
        f"\n{args.model}, SingleStream, {args.rounds} rounds: p50 with sampling / without = "
        f"{median(ratios):.4f} (range {min(ratios):.4f}-{max(ratios):.4f}; target <= 1.01)"
    )


if __name__ == "__main__":
    main()
