"""reef bench TARGET"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from reef.cli._choices import choice
from reef.errors import EXIT_FAILED, SettingsError
from reef.meta.choices import GRAPH_OPTIMIZATION, MODE, SCENARIO, TRACE_LEVEL

if TYPE_CHECKING:
    from reef.meta.run import RunRecord


def parse_shapes(values: list[str]) -> dict[str, list[int]]:
    shapes: dict[str, list[int]] = {}
    for value in values:
        name, sep, dims = value.partition("=")
        try:
            shape = [int(d) for d in dims.lower().split("x")] if sep else []
        except ValueError:
            shape = []
        if not name or not shape or any(d <= 0 for d in shape):
            raise SettingsError(
                f"--shape {value!r}: expected NAME=DIMS with positive dimensions, "
                "e.g. input=1x3x224x224"
            )
        shapes[name] = shape
    return shapes


def parse_session_config(values: list[str]) -> dict[str, str]:
    """``--session-config KEY=VALUE``, repeatable; a key given again takes the later value."""
    entries: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise SettingsError(
                f"--session-config {value!r}: expected KEY=VALUE, "
                "e.g. session.intra_op.allow_spinning=0"
            )
        entries[key.strip()] = text
    return entries


def parse_provider_options(values: list[str]) -> dict[str, dict[str, str]]:
    """``--provider-option PROVIDER:KEY=VALUE``, repeatable."""
    options: dict[str, dict[str, str]] = {}
    for value in values:
        provider, colon, assignment = value.partition(":")
        key, sep, text = assignment.partition("=")
        if not colon or not sep or not provider.strip() or not key.strip():
            raise SettingsError(
                f"--provider-option {value!r}: expected PROVIDER:KEY=VALUE, "
                "e.g. CUDAExecutionProvider:device_id=1"
            )
        options.setdefault(provider.strip(), {})[key.strip()] = text
    return options


def bench(
    target: str = typer.Argument(
        ...,
        metavar="TARGET",
        help="a model manifest (.yaml), an ONNX file, a component name[@version], a "
        "reef.lock, a solution (its scenarios and settings, which the options override), or "
        "a served model's URL (http://HOST:PORT/v2/models/NAME, the Open Inference Protocol)",
    ),
    scenario: list[str] = typer.Option(
        [],
        "--scenario",
        "-s",
        **choice(SCENARIO),
        help="the LoadGen scenario, in any spelling (single-stream, offline); repeat for "
        "several (one run each) [SingleStream, or the solution's]",
    ),
    mode: str | None = typer.Option(
        None, "--mode", **choice(MODE), help="measure performance, accuracy, or both [both]"
    ),
    duration: float | None = typer.Option(
        None, help="minimum duration in seconds [10; mlperf.conf's 600 with --compliant]"
    ),
    queries: int | None = typer.Option(None, help="minimum query count"),
    target_qps: float | None = typer.Option(None, help="Server: queries per second"),
    latency_bound_ms: float | None = typer.Option(None, help="Server: latency bound (ms)"),
    samples_per_query: int | None = typer.Option(None, help="MultiStream: samples per query [8]"),
    batch_size: int | None = typer.Option(None, help="samples per predict call [1]"),
    threads: int | None = typer.Option(
        None,
        help="predictor intra-op threads [REEF_THREADS, else the config file's threads, else "
        "the predictor's default]",
    ),
    warmup: int | None = typer.Option(None, help="warm-up queries before calibration [50]"),
    samples: int | None = typer.Option(None, help="how many samples to load (all by default)"),
    seed: int | None = typer.Option(
        None, help="one value for LoadGen's three random seeds [the official mlperf.conf's]"
    ),
    user_conf: str | None = typer.Option(
        None,
        "--user-conf",
        metavar="FILE",
        help="an MLPerf user.conf (model.scenario.key = value) LoadGen loads over mlperf.conf; "
        "its run length and expectations rule over Reef's",
    ),
    mlperf_conf: str | None = typer.Option(
        None,
        "--mlperf-conf",
        metavar="FILE",
        help="an mlperf.conf in place of the official one LoadGen embeds",
    ),
    mlperf_model: str | None = typer.Option(
        None,
        "--mlperf-model",
        metavar="NAME",
        help="the model's key in the MLPerf configs, e.g. resnet50 [the target's name]",
    ),
    compliant: bool = typer.Option(
        False,
        "--compliant",
        help="follow MLPerf's rules: official durations, query counts and seeds (600 s runs); "
        "any shortcut is refused",
    ),
    shape: list[str] = typer.Option(
        [], help="bare ONNX files: an input's shape, e.g. input=1x3x224x224"
    ),
    graph_optimization: str | None = typer.Option(
        None,
        "--graph-optimization",
        **choice(GRAPH_OPTIMIZATION),
        help="ONNX Runtime graph optimisation [all]",
    ),
    provider: list[str] = typer.Option(
        [],
        help="execution provider, e.g. CUDAExecutionProvider; repeat in order of preference "
        "[the best available]",
    ),
    provider_option: list[str] = typer.Option(
        [],
        "--provider-option",
        metavar="PROVIDER:KEY=VALUE",
        help="ONNX Runtime: an execution provider's option, e.g. "
        "CUDAExecutionProvider:device_id=1 or TensorrtExecutionProvider:trt_engine_cache_enable=1; "
        "repeatable [the manifest's framework.options]",
    ),
    session_config: list[str] = typer.Option(
        [],
        "--session-config",
        metavar="KEY=VALUE",
        help="ONNX Runtime: a session config entry, e.g. session.intra_op.allow_spinning=0; "
        "repeatable [the manifest's framework.options]",
    ),
    inter_op_threads: int | None = typer.Option(
        None,
        "--inter-op-threads",
        help="ONNX Runtime: threads that run independent nodes at once [1 when --threads is "
        "given, else ONNX Runtime's default]",
    ),
    execution_mode: str | None = typer.Option(
        None,
        "--execution-mode",
        metavar="[sequential|parallel]",
        help="ONNX Runtime: run independent nodes one after another or at once [sequential]",
    ),
    backend: list[str] = typer.Option(
        [],
        "--backend",
        "-b",
        metavar="NAME",
        help="the backend that runs the model (onnxruntime, openvino, torch, ...); repeat for "
        "one run per backend, same inputs, shown side by side [the manifest's framework, "
        "else by the file's suffix]",
    ),
    like: str | None = typer.Option(
        None,
        "--like",
        metavar="MODEL",
        help="a served model's URL: the Reef model (name[@version] or manifest) it is, whose "
        "inputs, dataset and accuracy metric give real samples and accuracy; its inputs must "
        "match the server's [reef serve's own model, else synthetic inputs]",
    ),
    raw_latencies: bool | None = typer.Option(
        None,
        "--raw-latencies/--no-raw-latencies",
        help="keep every query's latency [default: kept unless SingleStream queries take "
        "under 100 us, where timing them costs 1-2 us each]",
    ),
    trace: str | None = typer.Option(
        None,
        "--trace",
        **choice(TRACE_LEVEL),
        help="record a trace with each run: none, model (a span per query and stage), "
        "framework (+ the framework's operators), system (+ CPU, memory, GPU counters) or "
        "full [none]; see `reef trace ID`",
    ),
    trace_export: str | None = typer.Option(
        None,
        "--trace-export",
        metavar="PATH",
        help="also write each run's trace here as Chrome trace JSON (several runs: "
        "PATH-SCENARIO.json)",
    ),
    repeat: int | None = typer.Option(
        None,
        "--repeat",
        help="measure in N worker processes, one after another, kept as one run: verdicts "
        "then rest on the spread between processes, not on one process's queries [1]",
    ),
    cpus: str | None = typer.Option(
        None,
        "--cpus",
        metavar="LIST",
        help="pin the worker and LoadGen's threads to these cores, e.g. 1,2 or 0-3 "
        "(threads default to their number) [unpinned]",
    ),
    audit: list[str] = typer.Option(
        [],
        "--audit",
        metavar="TEST",
        help="then run and verify an MLPerf compliance audit: TEST01 (accuracy in "
        "performance mode), TEST04 (same-sample caching), TEST06 (LLM token outputs); "
        "repeatable; needs --mode both",
    ),
    in_process: bool = typer.Option(
        False, "--in-process", help="run in this process instead of one worker per scenario"
    ),
    mlflow: str | None = typer.Option(
        None, "--mlflow", metavar="URI", help="also log the runs to this MLflow tracking URI"
    ),
    submit: str | None = typer.Option(
        None,
        "--submit",
        metavar="URL",
        help="then send the runs to this Reef server (kept in REEF_HOME/outbox when it "
        "cannot be reached: `reef submit --pending`)",
    ),
    json_out: bool = typer.Option(False, "--json", help="print the run records as JSON"),
) -> None:
    """Benchmark a model under MLPerf LoadGen scenarios and record each run."""
    from reef import api
    from reef.api import solutions
    from reef.cli.progress import RichReporter
    from reef.cli.solution import _check_mlflow, _export
    from reef.cli.tables import show_records

    given = {
        "mode": mode,
        "duration_s": duration,
        "queries": queries,
        "target_qps": target_qps,
        "latency_bound_ms": latency_bound_ms,
        "samples_per_query": samples_per_query,
        "batch_size": batch_size,
        "threads": threads,
        "warmup_queries": warmup,
        "sample_count": samples,
        "seed": seed,
        "raw_latencies": raw_latencies,
        "repeat": repeat,
        "cpus": cpus,
        "user_conf": user_conf,
        "mlperf_conf": mlperf_conf,
        "mlperf_model": mlperf_model,
        "compliant": compliant or None,
        "audits": audit or None,
    }
    given = {k: v for k, v in given.items() if v is not None}
    shapes = parse_shapes(shape)
    predictor = api.predictor_settings(
        graph_optimization,
        provider,
        provider_options=parse_provider_options(provider_option),
        session_config=parse_session_config(session_config),
        inter_op_threads=inter_op_threads,
        execution_mode=execution_mode.strip().lower() if execution_mode else None,
    )
    from reef.api import trace as api_trace

    trace_settings = api_trace.trace_settings(trace)
    if trace_export is not None:
        if trace_settings is None:
            raise SettingsError(
                "--trace-export needs a trace",
                hint="add --trace model (or framework, system, full)",
            )
        api_trace.check_export_path(trace_export, "--trace-export")
    _check_mlflow(mlflow)
    if submit is not None:
        from reef.cli.submit import check_before_bench

        check_before_bench(submit)
    with RichReporter() as reporter:
        if solutions.is_solution(target):
            if like is not None:
                raise SettingsError(
                    f"--like {like}: {target} is a solution, not a served model's URL",
                    hint="--like describes a model served over the Open Inference Protocol",
                )
            if shapes:
                raise SettingsError("--shape applies to a bare ONNX file, not a solution")
            records = solutions.bench_solution(
                target,
                scenarios=scenario or None,
                overrides=given,
                in_process=in_process,
                reporter=reporter,
                predictor=predictor,
                trace=trace_settings,
                backends=backend or None,
            )
        else:
            settings = api.bench_settings(scenario, **given)
            records = api.bench(
                target,
                settings,
                shapes=shapes,
                in_process=in_process,
                reporter=reporter,
                predictor=predictor,
                trace=trace_settings,
                backends=backend or None,
                like=like,
            )
    _export(mlflow, [r.id for r in records])
    if trace_export is not None:
        _export_traces(records, trace_export)
    show_records(records, json_out)
    if submit is not None:
        from reef.cli.submit import after_bench

        after_bench([r.id for r in records], submit)
    if any(r.status != "valid" for r in records):
        raise typer.Exit(EXIT_FAILED)


def _export_traces(records: list[RunRecord], path: str) -> None:
    from pathlib import Path

    from reef.api import trace as api_trace
    from reef.cli._common import stderr

    traced = [r for r in records if r.trace is not None and r.trace.path]
    for r in traced:
        target = Path(path)
        if len(traced) > 1:
            suffixes = "".join(target.suffixes)
            stem = target.name.removesuffix(suffixes)
            target = target.with_name(f"{stem}-{r.scenario}{suffixes}")
        written = api_trace.trace_export(r.id, target)
        stderr.print(f"trace of run {r.id[:12]} written to {written}")
