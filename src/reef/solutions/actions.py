"""The built-in step actions: what a fetch, detect, provision, bench or validate step does.

The engine (``reef.solutions.engine``) knows nothing of them: ``actions`` maps each ``uses``
to its function, with program and shell steps from ``reef.solutions.commands``. A bench step
measures through the bench session (``reef.bench.session``), as ``reef bench`` does.
"""

from __future__ import annotations

import json
from pathlib import Path

from reef.bench.progress import Reporter
from reef.solutions.engine import Action, StepContext, StepFailed, StepResult


def actions(target: str, reporter: Reporter, in_process: bool) -> dict[str, Action]:
    """Every step kind's action, for a run of the solution ``target``."""
    from reef.solutions.commands import program_step, shell_step

    return {
        "fetch": fetch_step,
        "detect": detect_step,
        "provision": lambda ctx: provision_step(ctx, target),
        "bench": lambda ctx: bench_step(ctx, reporter, in_process),
        "validate": validate_step,
        "shell": shell_step,
        "program": program_step,
    }


def fetch_step(ctx: StepContext) -> StepResult:
    from reef.components.fetch import fetch_lock

    fetched = fetch_lock(ctx.solution.lock)
    for f in fetched:
        ctx.log(f"{f.status}: {f.location}")
    # How many were downloaded this time is in the log, not the metrics: what dependants see
    # of a step must not change because a cache was warm.
    return StepResult(metrics={"sources": len(fetched)})


def detect_step(ctx: StepContext) -> StepResult:
    import copy

    from reef.bench.fingerprint import run_fingerprint

    fingerprint = copy.deepcopy(run_fingerprint())
    (ctx.out / "fingerprint.json").write_text(
        json.dumps(fingerprint, indent=2, sort_keys=True, default=str), encoding="utf-8"
    )
    ctx.log(f"environment fingerprint {fingerprint.get('hash')}")
    for problem in fingerprint.get("problems") or []:
        ctx.log(f"problem: {problem}")
    return StepResult(artifacts={"fingerprint": "fingerprint.json"})


def provision_step(ctx: StepContext, target: str) -> StepResult:
    from reef.solutions.init import init

    params = dict(ctx.params)
    report = init(
        target,
        python=params.get("python"),
        installer=params.get("installer", "auto"),
        find_links=[Path(p) for p in params.get("find_links", [])],
        no_index=bool(params.get("no_index", False)),
        output=ctx.out / "reef.lock",
        progress=ctx.log,
        on_line=ctx.log,
    )
    env = report.provisioned
    assert env is not None
    ctx.solution.environment = str(env.path)
    ctx.solution.python = str(env.python)
    ctx.log(f"environment {env.hash} {env.status} in {env.seconds:.2f} s")
    return StepResult(metrics={"packages": len(env.packages)}, artifacts={"lock": "reef.lock"})


def bench_step(ctx: StepContext, reporter: Reporter, in_process: bool) -> StepResult:
    from reef.solutions.bench import bench_solution

    params = dict(ctx.params)
    scenarios = params.pop("scenarios", None)
    models = params.pop("models", None)
    backends = params.pop("backends", None)
    records = bench_solution(
        ctx.solution,
        scenarios=scenarios,
        overrides=params,
        models=models,
        backends=[backends] if isinstance(backends, str) else backends,
        in_process=in_process,
        reporter=reporter,
        run_id=ctx.run.id,
        step=ctx.spec.name,
    )
    metrics: dict[str, float] = {}
    for r in records:
        prefix = f"{r.target.name}.{r.scenario}"
        ctx.log(f"run {r.id} {prefix}: {r.status} {'; '.join(r.reasons)}")
        if r.performance is not None:
            metrics[f"{prefix}.latency_p50_ms"] = r.performance.latency_ms.p50
            metrics[f"{prefix}.latency_p90_ms"] = r.performance.latency_ms.p90
            metrics[f"{prefix}.throughput_qps"] = r.performance.throughput_qps
        if r.accuracy is not None and r.accuracy.value is not None:
            metrics[f"{prefix}.{r.accuracy.metric}"] = r.accuracy.value
    broken = [r for r in records if r.status in ("failed", "interrupted")]
    if broken:
        raise StepFailed(
            f"step {ctx.spec.name!r}: {len(broken)} of {len(records)} runs "
            f"{broken[0].status}: {'; '.join(broken[0].reasons)}"
        )
    return StepResult(metrics=metrics, runs=[r.id for r in records])


def validate_step(ctx: StepContext) -> StepResult:
    from reef.solutions.checks import CheckContext, run_checks
    from reef.solutions.validate import stored_records

    run_ids = [
        run for record in ctx.needs.values() if record.uses == "bench" for run in record.runs
    ]
    records = stored_records(run_ids)
    outputs = {name: Path(r.out) for name, r in ctx.needs.items() if r.out}
    results = run_checks(
        ctx.solution.manifest.checks,
        CheckContext(records=records, solution_dir=ctx.solution.folder, outputs=outputs),
    )
    for r in results:
        ctx.log(
            f"{'PASS' if r.passed else 'FAIL'}  {r.check}  {r.subject}: {r.value} ({r.expected})"
        )
    checks = [r.to_json() for r in results]
    (ctx.out / "checks.json").write_text(json.dumps(checks, indent=2), encoding="utf-8")
    failed = [r for r in results if not r.passed]
    if failed:
        raise StepFailed(
            f"{len(failed)} of {len(results)} checks failed: "
            + "; ".join(f"{r.check} ({r.value})" for r in failed[:3])
        )
    return StepResult(
        metrics={"checks_passed": len(results)}, artifacts={"checks": "checks.json"}, checks=checks
    )
