"""What the files of a submission tree say, made from a run record: accuracy.txt and the
truncated accuracy log, user.conf, the measurement JSON, and the READMEs that say how to
reproduce a run with Reef."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reef.meta.run import RunRecord
from reef.mlperf import rules

_DTYPES = {
    "float32": "fp32",
    "float16": "fp16",
    "bfloat16": "bf16",
    "float64": "fp64",
    "int8": "int8",
    "uint8": "uint8",
    "int32": "int32",
    "int64": "int64",
}


def mlperf_model(record: RunRecord) -> str | None:
    """The model's key in the MLPerf configs the run was made with (``resnet50``)."""
    return record.loadgen.mlperf_model if record.loadgen else None


def effective(record: RunRecord) -> dict[str, Any]:
    """LoadGen's effective settings of the run's performance run."""
    return dict(record.loadgen.effective) if record.loadgen else {}


def accuracy_figure(record: RunRecord, bench: rules.Benchmark) -> float | None:
    """The run's accuracy in the units accuracy.txt gives for the benchmark's metric: a
    percentage where the benchmark's target is one (resnet's top-1, retinanet's mAP), the
    fraction where it is a fraction (rgat's accuracy, pointpainting's mAP)."""
    acc = record.accuracy
    if acc is None or acc.value is None:
        return None
    metric, target = bench.targets[0]
    if metric in ("acc", "mAP", "ACCURACY") and acc.value <= 1.0 and target > 1.0:
        return round(acc.value * 100.0, 5)
    return acc.value


def accuracy_text(record: RunRecord, bench: rules.Benchmark, digest: str) -> str:
    """accuracy.txt: the figure in the line the benchmark's metric is read from (as its
    reference script prints it, where one figure makes the line), and the sha256 of the
    whole accuracy log."""
    acc = record.accuracy
    value = accuracy_figure(record, bench)
    metric = bench.targets[0][0]
    samples = acc.samples if acc else 0
    # A percentage to three places; a fraction (rgat, pointpainting) to five.
    shown = f"{value:.3f}%" if bench.targets[0][1] > 1.0 else f"{value:.5f}"
    if metric == "acc":
        good = round((acc.value or 0.0) * samples) if acc else 0
        line = f"accuracy={shown}, good={good}, total={samples}"
    elif metric == "mAP":
        line = f"mAP={shown}"
    elif metric == "DICE":
        line = f"Accuracy: mean = {value:.5f}"
    elif metric == "ACCURACY" and value is not None:
        line = f"Word Error Rate: {100.0 - value:.4f}%, accuracy={value:.4f}%"
    elif metric == "exact_match":
        line = f"{{'exact_match': {value}}}"
    else:
        line = f"{acc.metric if acc else metric}={value}"
    note = f"# Reef metric {acc.metric}: {acc.value}" if acc else "# no accuracy measured"
    return f"{line}\n{note}\nhash={digest}\n"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def truncate_accuracy_log(source: Path, dest: Path) -> bool:
    """Copy ``source`` to ``dest``, truncated as the rules require when over 10 KiB (its
    first and last 4 KiB around an ellipsis). True when truncated."""
    size = source.stat().st_size
    if size <= rules.MAX_ACCURACY_LOG_BYTES:
        shutil.copyfile(source, dest)
        return False
    view = rules.ACCURACY_LOG_VIEW_BYTES
    with source.open("rb") as handle:
        head = handle.read(view)
        handle.seek(size - view)
        tail = handle.read(view)
    dest.write_bytes(head + b"\n\n...\n\n" + tail)
    return True


def _conf_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def user_conf(record: RunRecord, bench: rules.Benchmark) -> str:
    """The user.conf the run amounts to: the settings that did not come from mlperf.conf
    (from the record's effective settings where it does not say where each came from)."""
    model = mlperf_model(record) or (bench.conf_names[0] if bench.conf_names else "*")
    scenario = record.scenario
    lines = [f"# user.conf of run {record.id}, written by reef export mlperf"]
    config = record.loadgen.config if record.loadgen else None
    if isinstance(config, Mapping) and config:
        for key in sorted(config):
            entry = config[key]
            if isinstance(entry, Mapping):
                value, source = entry.get("value"), str(entry.get("source", ""))
            else:
                value, source = getattr(entry, "value", None), str(getattr(entry, "source", ""))
            if "mlperf.conf" in source or source == "loadgen" or value is None:
                continue
            name = key.split(".")[-1]
            lines.append(f"{model}.{scenario}.{name} = {_conf_value(value)}")
        return "\n".join(lines) + "\n"
    eff = effective(record)
    wanted: list[tuple[str, Any]] = [
        ("min_duration", eff.get("min_duration_ms")),
        ("min_query_count", eff.get("min_query_count")),
        ("performance_sample_count_override", eff.get("performance_sample_count")),
    ]
    if eff.get("max_duration_ms"):
        wanted.append(("max_duration", eff.get("max_duration_ms")))
    if eff.get("max_query_count"):
        wanted.append(("max_query_count", eff.get("max_query_count")))
    if scenario in ("Offline", "Server"):
        wanted.append(("target_qps", eff.get("target_qps")))
    if scenario == "Server" and eff.get("target_latency_ns"):
        wanted.append(("target_latency", int(eff["target_latency_ns"]) // 1_000_000))
    if scenario == "MultiStream":
        wanted.append(("samples_per_query", eff.get("samples_per_query")))
    wanted += [(k, eff.get(k)) for k in rules.SEED_KEYS]
    for name, value in wanted:
        if value is not None:
            lines.append(f"{model}.{scenario}.{name} = {_conf_value(value)}")
    return "\n".join(lines) + "\n"


def _starting_weights(record: RunRecord) -> str:
    lock = record.lock or {}
    for comp in lock.get("components") or []:
        if isinstance(comp, Mapping) and comp.get("kind") == "model":
            for source in comp.get("sources") or []:
                name = (source or {}).get("path") or (source or {}).get("url")
                if name:
                    return Path(str(name)).name
    return Path(record.target.path).name


def _input_types(record: RunRecord) -> str:
    inputs = record.samples.get("inputs") or {}
    found = []
    for spec in inputs.values() if isinstance(inputs, Mapping) else []:
        kind = str((spec or {}).get("element_type") or "")
        found.append(_DTYPES.get(kind, kind))
    return ",".join(sorted({f for f in found if f})) or "unknown"


def measurements(record: RunRecord, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The measurement JSON: what the model takes and how its weights were made."""
    inputs = _input_types(record)
    data: dict[str, Any] = {
        "input_data_types": inputs,
        "retraining": "No",
        "starting_weights_filename": _starting_weights(record),
        "weight_data_types": overrides.get("weight_data_types", inputs),
        "weight_transformations": "No",
        "reef_run_id": record.id,
    }
    data.update({k: v for k, v in overrides.items() if k in rules.MEASUREMENT_REQUIRED_FIELDS})
    return data


def reef_command(record: RunRecord, bench: rules.Benchmark) -> str:
    s = record.settings
    parts = ["reef", "bench", record.target.name, "--scenario", s.scenario, "--mode", s.mode]
    if s.compliant:
        parts.append("--compliant")
    else:
        parts += ["--duration", f"{s.duration_s:g}"]
        if s.queries:
            parts += ["--queries", str(s.queries)]
    user = record.artifacts.get("user_conf")
    if user:
        parts += ["--user-conf", "user.conf"]
    if record.artifacts.get("mlperf_conf"):
        parts += ["--mlperf-conf", "mlperf.conf"]
    return " ".join(parts)


def scenario_readme(record: RunRecord, bench: rules.Benchmark) -> str:
    perf = record.performance
    lines = [
        f"# {bench.name}, {record.scenario}",
        "",
        f"Measured with Reef, run `{record.id}` of `{record.target.name}`"
        + (f" {record.target.version}" if record.target.version else "")
        + f" ({record.status}).",
        "",
        "To reproduce:",
        "",
        "```",
        reef_command(record, bench),
        "```",
        "",
        "The code folder's README gives the lock the run was made from (`reef reproduce`).",
    ]
    if perf is not None:
        lines += [
            "",
            f"Throughput {perf.throughput_qps:.3f} samples/s, p90 latency "
            f"{perf.latency_ms.p90:.3f} ms, {perf.queries} queries.",
        ]
    return "\n".join(lines) + "\n"


def code_readme(bench: rules.Benchmark, records: Sequence[RunRecord]) -> str:
    lines = [
        f"# {bench.name}: how these results were made",
        "",
        "The runs were measured with Reef (https://pypi.org/project/reef-bench/), which drives",
        "MLPerf LoadGen. Each scenario was run with:",
        "",
    ]
    for record in records:
        lines += [f"- {record.scenario}: `{reef_command(record, bench)}` (run {record.id})"]
    lines += [
        "",
        "Reproduce a run from its lock: save the lock below as `reef.lock` and run",
        "`reef bench reef.lock --scenario SCENARIO` (or `reef reproduce RUN_ID` where the run",
        "is stored).",
    ]
    for record in records:
        if record.lock:
            lines += [
                "",
                f"## Lock of run {record.id[:8]} ({record.scenario})",
                "",
                "```json",
                json.dumps(record.lock, indent=2, sort_keys=True),
                "```",
            ]
    return "\n".join(lines) + "\n"
