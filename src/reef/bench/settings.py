"""Benchmark settings from what a user (or a solution) asked for, refused before any worker
starts when they make no sense or cannot run here. Errors name the CLI option.

Scenarios and modes are read in any spelling ``reef.meta.choices`` accepts (``offline``,
``single-stream``). Threads not given (by the user, nor by a solution's settings) come from the
user's defaults: ``REEF_THREADS``, else the config file's ``threads`` (``reef.config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reef.errors import SettingsError
from reef.meta import choices
from reef.meta.settings import BenchSettings

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
    "repeat": "--repeat",
    "cpus": "--cpus",
    "user_conf": "--user-conf",
    "mlperf_conf": "--mlperf-conf",
    "mlperf_model": "--mlperf-model",
    "compliant": "--compliant",
    "audits": "--audit",
}


def worker_only(option: str) -> SettingsError:
    """The refusal of ``option`` (``--repeat``, ``--cpus``) with ``--in-process``."""
    return SettingsError(
        f"{option} needs worker processes: --in-process measures in this one",
        hint=f"leave out --in-process (or {option})",
    )


def parse_cpus(text: str) -> list[int]:
    """``--cpus`` as taskset -c writes it: ``1,2``, ``0-3``, ``0-3,8``; in the order given."""
    import os

    count = os.cpu_count() or 1
    cores: list[int] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if not (first.isascii() and first.isdecimal()) or (
            dash and not (last.isascii() and last.isdecimal())
        ):
            raise SettingsError(
                f"--cpus {text}: {part.strip()!r} is not a core number or a range of them",
                hint="e.g. --cpus 1,2 or --cpus 0-3",
            )
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise SettingsError(f"--cpus {text}: the range {part.strip()} runs backwards")
        if high >= count:  # refused before a range of a billion cores is spelled out
            raise SettingsError(
                f"--cpus {text}: core {high} does not exist: this machine has cores 0-{count - 1}"
            )
        cores.extend(range(low, high + 1))
    return cores


def bench_settings(scenarios: list[str] | None = None, **options: Any) -> list[BenchSettings]:
    """One validated settings object per scenario; a nonsensical value is a SettingsError."""
    from reef.bench.job import loadgen_problem
    from reef.meta.settings import machine_problems

    chosen = [choices.SCENARIO.parse(name) for name in scenarios or ["SingleStream"]]
    options = {k: v for k, v in options.items() if v is not None}
    if isinstance(options.get("mode"), str):
        options["mode"] = choices.MODE.parse(options["mode"])
    if isinstance(options.get("cpus"), str):
        options["cpus"] = parse_cpus(options["cpus"])
    for name in ("user_conf", "mlperf_conf"):  # the worker reads them: absolute paths
        if options.get(name) is not None:
            options[name] = str(Path(options[name]).expanduser().absolute())
    threads_from = None
    if "threads" not in options:
        threads_from = _default_threads(options)
    result = []
    for scenario in chosen:
        values = dict(options)
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
            if field == "threads" and threads_from is not None:
                option = f"threads (from {threads_from})"
            got = err.get("input")
            if isinstance(got, list):
                got = ",".join(map(str, got))
            raise SettingsError(
                f"{option}: {err['msg'].removeprefix('Value error, ')} (got {got!r})"
            ) from exc
        # Values this machine (or LoadGen anywhere) cannot run, refused before any worker.
        problems = machine_problems(settings)
        if problems:
            field, message = problems[0]
            option, value = OPTION_NAMES.get(field, field), getattr(settings, field)
            if field == "threads" and threads_from is not None:
                option = f"threads (from {threads_from})"
            if isinstance(value, list):
                shown: Any = ",".join(map(str, value))
            else:
                shown = f"{value:g}" if isinstance(value, float) else value
            raise SettingsError(f"{option} {shown}: {message}")
        problem = loadgen_problem(settings)
        if problem:
            raise SettingsError(problem, hint="ask for fewer samples per query")
        result.append(settings)
    return result


def _default_threads(options: dict[str, Any]) -> str | None:
    """Put the user's default threads in ``options``; returns where they came from (what an
    error about them names), or None when no default is set."""
    from reef import config

    [setting] = [v for v in config.values() if v.key == "threads"]
    if setting.value is None:
        return None
    options["threads"] = setting.value
    return str(setting.source)  # "environment REEF_THREADS", "config file PATH"
