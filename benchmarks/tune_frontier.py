"""Does `reef tune` find the frontier an exhaustive sweep finds, and what does pruning save?
(issue 18, "Tuning").

The space is digits-cnn over threads x batch size x graph optimisation (18 configurations by
default), for latency_p99:min and throughput:max. Two measurements, each in a fresh
REEF_HOME, on this machine, in this process:

1. the exhaustive sweep: every configuration measured in full (``--duration``) as a trial
   is (two runs: ``--probe`` of the duration, then the rest), and its noise-aware frontier
   (``reef.results.noisy_pareto``), as groups of ties;
2. a study of ``--budget`` trials (``reef.api.tune_study``, NSGA-II, Pareto-aware pruning).

The study's frontier *matches the sweep's within its ties* when, judged on the sweep's own
measurements, (a) every configuration on the study's frontier is on the sweep's frontier
(nothing the sweep measured dominates it), and (b) every group of ties on the sweep's frontier
holds a configuration on the study's frontier, or one indistinguishable from such a
configuration on every objective. Both shares are printed, with the pruning savings (the
share of measurement time, the durations asked of LoadGen, that pruning saved) and the wall
time of each half.

In SingleStream a query holds one sample, so batch size does not change the work: its values
are expected to tie, and the frontier's groups show it. (MultiStream, where batch size
matters, cost about 16 s a configuration here: LoadGen's 662-query minimum.)

    python benchmarks/tune_frontier.py [--model digits-cnn] [--budget 12] [--duration 1.5]
        [--space threads=1,2,4 --space batch_size=1,8,32 --space graph_optimization=basic,all]
        [--objective latency_p99:min --objective throughput:max] [--probe 0.25] [--prune-k 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time

OBJECTIVES = ["latency_p99:min", "throughput:max"]
SPACE = ["threads=1,2,4", "batch_size=1,8,32", "graph_optimization=basic,all"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="digits-cnn")
    parser.add_argument("--budget", type=int, default=12)
    parser.add_argument("--duration", type=float, default=1.5)
    parser.add_argument("--probe", type=float, default=0.25)
    parser.add_argument("--prune-k", type=int, default=2)
    parser.add_argument("--space", action="append", default=None)
    parser.add_argument("--objective", action="append", default=None)
    args = parser.parse_args()
    space = args.space or SPACE
    if args.objective:
        OBJECTIVES[:] = args.objective

    from reef.results.noisy_pareto import better, noisy_frontier
    from reef.tune.space import config_key, parse_space

    dims = parse_space(space)
    os.environ["REEF_HOME"] = tempfile.mkdtemp(prefix="reef-tune-sweep-")
    started = time.monotonic()
    sweep = exhaustive(args.model, dims, args.duration, args.probe)
    sweep_s = time.monotonic() - started
    directions = [o.split(":")[1] for o in OBJECTIVES]
    truth = noisy_frontier(sweep, directions)
    print(f"exhaustive sweep: {len(sweep)} configurations in {sweep_s:.0f} s")
    for i, group in enumerate(truth.groups, start=1):
        shown = "; ".join(f"{k} ({_values(sweep[k])})" for k in group)
        print(f"  frontier group {i}: {shown}")

    from reef import api

    os.environ["REEF_HOME"] = tempfile.mkdtemp(prefix="reef-tune-study-")
    started = time.monotonic()
    report = api.tune_study(
        args.model,
        space,
        OBJECTIVES,
        budget=args.budget,
        duration_s=args.duration,
        probe=args.probe,
        prune_k=args.prune_k,
        study="frontier",
        in_process=True,
        progress=lambda line: print("  " + line, file=sys.stderr),
    )
    study_s = time.monotonic() - started
    by_number = {t.number: t for t in report.trials}
    found = [config_key(by_number[n].config) for group in report.frontier for n in group]
    print(
        f"study: {len(report.trials)} trials ({report.sampler}) in {study_s:.0f} s; "
        f"frontier: {', '.join(found)}"
    )

    def tied(a: str, b: str) -> bool:
        return not any(
            better(x, y, d) or better(y, x, d)
            for x, y, d in zip(sweep[a], sweep[b], directions, strict=True)
        )

    on_front = [k for k in found if k in truth.members]
    covered = [
        group
        for group in truth.groups
        if any(k in group or any(tied(k, m) for m in group) for k in found)
    ]
    p = report.pruning
    match = len(on_front) == len(found) and len(covered) == len(truth.groups)
    print(
        f"study frontier on the sweep's frontier: {len(on_front)} of {len(found)}; "
        f"sweep's groups of ties covered: {len(covered)} of {len(truth.groups)}; "
        f"match within ties: {'yes' if match else 'no'}"
    )
    print(
        f"pruning: {p.pruned} of {p.trials} trials pruned (k={p.k}, probe {p.probe:g}); "
        f"measurement {p.measured_s:g} s of {p.without_pruning_s:g} s: "
        f"{p.saved_share:.0%} saved"
    )
    return 0


def exhaustive(model: str, dims: list, duration: float, probe: float) -> dict[str, list]:  # type: ignore[type-arg]
    """Every configuration measured in full, as a trial is; its estimates by key."""
    from reef.results.noisy_pareto import estimates_of
    from reef.results.pareto import Objective
    from reef.tune.space import TuneSpec, config_key
    from reef.tune.study import trial_settings
    from reef.tune.trials import TrialRequest, local_runner

    spec = TuneSpec(
        target=model, space=dims, objectives=OBJECTIVES, duration_s=duration, probe=0.25, prune_k=0
    )
    objectives = [Objective.parse(o) for o in OBJECTIVES]
    run = local_runner(model, in_process=True)
    out = {}
    for values in itertools.product(*(d.values for d in dims)):
        config = {d.key: v for d, v in zip(dims, values, strict=True)}
        records = []
        for seconds in (duration * probe, duration * (1 - probe)):
            settings, predictor = trial_settings(spec, config, seconds, False)
            records += run(TrialRequest(model, settings, predictor, ("sweep:exhaustive",)))
        out[config_key(config)] = estimates_of(records, objectives)
        print(f"  {config_key(config)}: {_values(out[config_key(config)])}", file=sys.stderr)
    return out


def _values(estimates: list) -> str:  # type: ignore[type-arg]
    return ", ".join(
        f"{o.split(':')[0]} {e.value:.4g} [{e.low:.4g}, {e.high:.4g}]"
        for o, e in zip(OBJECTIVES, estimates, strict=True)
    )


if __name__ == "__main__":
    raise SystemExit(main())
