"""Benchmark settings from what a user (or a solution) asked for, refused before any worker
starts when they make no sense or cannot run here. Errors name the CLI option."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from reef.errors import SettingsError
from reef.meta.settings import SCENARIOS, BenchSettings

OPTION_NAMES = {
    "duration_s": "--duration",
    "queries": "--queries",
    "target_qps": "--target-qps",
    "latency_bound_ms": "--latency-bound-ms",
    "samples_per_query": "--samples-per-query",
    "batch_size": "--batch-size",
    "threads": "--threads",
    "warmup_queries": "--warmup",
    "sample_count": "--samples",
    "scenario": "--scenario",
    "mode": "--mode",
    "seed": "--seed",
}


def bench_settings(scenarios: list[str] | None = None, **options: Any) -> list[BenchSettings]:
    """One validated settings object per scenario; a nonsensical value is a SettingsError."""
    from reef.bench.job import loadgen_problem
    from reef.meta.settings import machine_problems

    chosen = scenarios or ["SingleStream"]
    by_lower = {s.lower(): s for s in SCENARIOS}
    result = []
    for name in chosen:
        scenario = by_lower.get(name.lower())
        if scenario is None:
            raise SettingsError(
                f"unknown scenario {name!r}", hint=f"choose from {', '.join(SCENARIOS)}"
            )
        values = {k: v for k, v in options.items() if v is not None}
        if scenario != "Server" and len(chosen) > 1:
            # Given for the Server run among several scenarios.
            values.pop("target_qps", None)
            values.pop("latency_bound_ms", None)
        try:
            settings = BenchSettings(scenario=scenario, **values)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field = str(err["loc"][0]) if err["loc"] else ""
            option = OPTION_NAMES.get(field, field)
            raise SettingsError(
                f"{option}: {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})"
            ) from None
        # Values this machine (or LoadGen anywhere) cannot run, refused before any worker.
        problems = machine_problems(settings)
        if problems:
            field, message = problems[0]
            option, value = OPTION_NAMES.get(field, field), getattr(settings, field)
            shown = f"{value:g}" if isinstance(value, float) else value
            raise SettingsError(f"{option} {shown}: {message}")
        problem = loadgen_problem(settings)
        if problem:
            raise SettingsError(problem, hint="ask for fewer samples per query")
        result.append(settings)
    return result
