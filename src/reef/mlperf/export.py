"""Stored runs to an MLPerf inference submission tree (``reef export mlperf``).

Everything is checked before anything is written: each run's status and logs, its benchmark
(``--benchmark``, else the MLPerf model the run was configured as), one run per benchmark and
scenario, the closed division's demands, the system description's required fields, and the
output folder (empty, or ``force``). The tree is then written in a temporary folder beside
the output and moved into place, so that a failure leaves nothing behind.

Accuracy logs over the rules' 10 KiB are truncated in the tree as MLCommons' truncation tool
does (the first and last 4 KiB, the sha256 of the whole in ``accuracy.txt``); the original
stays in the run's folder, whose path the report gives.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from reef.errors import SettingsError
from reef.meta.run import RunRecord
from reef.mlperf import layout as L
from reef.mlperf import rules, systems

IMPLEMENTATION = "reef"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
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


class ExportedResult(BaseModel):
    """One run written as one benchmark and scenario of the tree."""

    run_id: str
    benchmark: str
    scenario: str
    results_dir: str = Field(description="the scenario's folder in the tree")
    accuracy: float | None = Field(None, description="as accuracy.txt gives it")
    accuracy_log_original: str | None = Field(
        None, description="the untruncated mlperf_log_accuracy.json (in the run's folder)"
    )
    accuracy_log_truncated: bool = False
    compliance: list[str] = Field(default_factory=list, description="audits copied")


class MlperfExport(BaseModel):
    """What `reef export mlperf` wrote: the tree's root, round, division, submitter and
    system, and each result with where its untruncated accuracy log stays."""

    root: str
    round: str
    division: str
    submitter: str
    system: str
    system_json: str
    results: list[ExportedResult]
    notes: list[str] = Field(default_factory=list)


def _refuse(message: str, hint: str | None = None) -> SettingsError:
    return SettingsError(message, hint=hint)


def _check_name(value: str, what: str) -> None:
    if not _NAME.match(value) or value in (".", ".."):
        raise _refuse(
            f"{what} {value!r} cannot name a folder of the tree",
            hint="use letters, digits, '.', '_', '+' or '-', starting with a letter or digit",
        )


def _folder(record: RunRecord, name: str) -> Path | None:
    value = record.artifacts.get(name)
    return Path(value) if value else None


def _mlperf_model(record: RunRecord) -> str | None:
    value = getattr(record.loadgen, "mlperf_model", None) if record.loadgen else None
    return str(value) if value else None


def _effective(record: RunRecord) -> dict[str, Any]:
    return dict(record.loadgen.effective) if record.loadgen else {}


def benchmark_of(record: RunRecord, chosen: str | None) -> rules.Benchmark:
    """The benchmark a run is exported as: ``chosen``, else the run's MLPerf model."""
    if chosen:
        return rules.benchmark(chosen)
    model = _mlperf_model(record)
    if model:
        name = rules.benchmark_for_model(model)
        if name:
            return rules.BENCHMARKS[name]
        raise _refuse(
            f"run {record.id[:8]}: MLPerf model {model!r} is no benchmark this Reef knows",
            hint="name one with --benchmark: " + ", ".join(sorted(rules.BENCHMARKS)),
        )
    raise _refuse(
        f"run {record.id[:8]} ({record.target.name}) has no MLPerf benchmark",
        hint="open division: map the model onto one with --benchmark NAME (e.g. resnet)",
    )


def _check_run(record: RunRecord) -> list[str]:
    """What keeps a run out of any submission (empty when nothing)."""
    short = record.id[:8]
    if record.status != "valid":
        why = f": {'; '.join(record.reasons)}" if record.reasons else ""
        return [f"run {short} is {record.status}{why}"]
    problems = []
    perf = _folder(record, "loadgen_performance")
    if perf is None or not all((perf / n).is_file() for n in (L.SUMMARY, L.DETAIL)):
        problems.append(f"run {short} has no LoadGen performance logs")
    acc = _folder(record, "loadgen_accuracy")
    if acc is None or not all((acc / n).is_file() for n in (L.DETAIL, L.ACCURACY_LOG)):
        problems.append(
            f"run {short} has no LoadGen accuracy run (bench with --mode both for a submission)"
        )
    if record.accuracy is None or record.accuracy.value is None:
        problems.append(f"run {short} has no accuracy figure")
    return problems


def closed_problems(record: RunRecord, bench: rules.Benchmark, round_: rules.Round) -> list[str]:
    """What a run lacks for the closed division (empty when it qualifies)."""
    short = record.id[:8]
    out = []
    model = _mlperf_model(record)
    if model is None or rules.benchmark_for_model(model) != bench.name:
        out.append(
            f"run {short}: reference model: the run was not configured as {bench.name}'s "
            f"model ({bench.reference}); its MLPerf model is {model or 'not set'}"
        )
    acc = record.accuracy
    if acc is None or acc.samples != bench.dataset_size:
        got = acc.samples if acc else 0
        out.append(
            f"run {short}: dataset: the accuracy run covered {got} samples, "
            f"{bench.name} needs its reference dataset ({bench.reference})"
        )
    value = accuracy_figure(record, bench)
    for metric, target in bench.targets[:1]:
        if value is None or value < target:
            out.append(
                f"run {short}: accuracy target: {metric} {value if value is not None else '-'}"
                f" is under {bench.name}'s target {target:.4f}"
            )
    if not getattr(record.settings, "compliant", False):
        out.append(f"run {short}: official settings: the run was not made with --compliant")
    eff = _effective(record)
    wrong = [k for k, v in round_.seeds.items() if eff.get(k) != v]
    if wrong:
        out.append(
            f"run {short}: official seeds: {', '.join(wrong)} differ from round {round_.name}'s"
        )
    duration = eff.get("min_duration_ms")
    if not isinstance(duration, int | float) or duration < rules.MIN_DURATION_MS:
        out.append(
            f"run {short}: official settings: min_duration {duration} ms is under "
            f"{rules.MIN_DURATION_MS} ms"
        )
    need = rules.min_query_count(bench, record.scenario)
    queries = eff.get("min_query_count")
    if need and (not isinstance(queries, int) or queries < need):
        out.append(f"run {short}: official settings: min_query_count {queries} is under {need}")
    passed = {str(getattr(a, "test", "")) for a in _audits(record) if getattr(a, "passed", False)}
    lacking = [t for t in bench.compliance if t not in passed]
    if lacking:
        out.append(
            f"run {short}: compliance audits: {', '.join(lacking)} not run and passed "
            f"(reef bench --audit {lacking[0]})"
        )
    return out


def accuracy_figure(record: RunRecord, bench: rules.Benchmark) -> float | None:
    """The run's accuracy in the units accuracy.txt gives for the benchmark's metric (a
    percentage for top-1 accuracy, the raw figure otherwise)."""
    acc = record.accuracy
    if acc is None or acc.value is None:
        return None
    metric = bench.targets[0][0]
    if metric in ("acc", "mAP", "ACCURACY") and acc.value <= 1.0 and bench.name != "rgat":
        return round(acc.value * 100.0, 5)
    return acc.value


def accuracy_text(record: RunRecord, bench: rules.Benchmark, digest: str) -> str:
    """accuracy.txt: the figure in the line the benchmark's metric is read from, and the
    sha256 of the whole accuracy log."""
    acc = record.accuracy
    value = accuracy_figure(record, bench)
    metric = bench.targets[0][0]
    samples = acc.samples if acc else 0
    if metric == "acc":
        good = round((acc.value or 0.0) * samples) if acc else 0
        line = f"accuracy={value:.3f}%, good={good}, total={samples}"
    elif metric == "mAP":
        line = f"mAP={value:.3f}%"
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
    model = _mlperf_model(record) or (bench.conf_names[0] if bench.conf_names else "*")
    scenario = record.scenario
    lines = [f"# user.conf of run {record.id}, written by reef export mlperf"]
    config = getattr(record.loadgen, "config", None) if record.loadgen else None
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
    eff = _effective(record)
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


def _reef_command(record: RunRecord, bench: rules.Benchmark) -> str:
    s = record.settings
    parts = ["reef", "bench", record.target.name, "--scenario", s.scenario, "--mode", s.mode]
    if getattr(s, "compliant", False):
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
        _reef_command(record, bench),
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
        lines += [f"- {record.scenario}: `{_reef_command(record, bench)}` (run {record.id})"]
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


def _copy_logs(source: Path, dest: Path, names: Sequence[str]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)


def _audits(record: RunRecord) -> list[Any]:
    audits = getattr(record, "audits", None)
    return list(audits) if audits else []


def _copy_audit(folder: Path, dest: Path) -> None:
    shutil.copytree(folder, dest, symlinks=False)
    for log in dest.rglob(L.ACCURACY_LOG):
        if log.stat().st_size > rules.MAX_ACCURACY_LOG_BYTES:
            original = log.with_suffix(".full")
            log.rename(original)
            truncate_accuracy_log(original, log)
            original.unlink()


def _default_round(records: Sequence[RunRecord]) -> str:
    found = {rules.round_for_seeds(_effective(r)) for r in records}
    if len(found) == 1 and None not in found:
        return str(found.pop())
    return L.DEFAULT_ROUND


def export(
    records: Sequence[RunRecord],
    out: Path,
    *,
    division: str,
    submitter: str,
    system: str,
    round_: str | None = None,
    benchmark: str | None = None,
    force: bool = False,
    system_desc: Mapping[str, Any] | None = None,
    reef_version: str | None = None,
) -> MlperfExport:
    """Write the submission tree of ``records`` under ``out``; see the module's docstring."""
    from reef.files import staged_folder

    if not records:
        raise _refuse("no runs to export", hint="name one or more run ids")
    if division not in ("open", "closed"):
        raise _refuse(f"division {division!r}: Reef exports to open or closed")
    _check_name(submitter, "submitter")
    _check_name(system, "system")
    round_name = round_ or _default_round(records)
    facts = rules.round_facts(round_name)

    problems: list[str] = []
    for record in records:
        problems += _check_run(record)
    if problems:
        raise _refuse("; ".join(problems), hint="export only valid runs with both logs")

    chosen: dict[tuple[str, str], RunRecord] = {}
    benches: dict[str, rules.Benchmark] = {}
    for record in records:
        bench = benchmark_of(record, benchmark)
        if bench.name not in facts.benchmarks:
            raise _refuse(f"round {round_name} has no benchmark {bench.name}")
        key = (bench.name, record.scenario)
        if key in chosen:
            raise _refuse(
                f"runs {chosen[key].id[:8]} and {record.id[:8]} are both {bench.name} "
                f"{record.scenario}: a submission holds one run per benchmark and scenario",
                hint="export one of them",
            )
        chosen[key] = record
        benches[bench.name] = bench
    if division == "closed":
        for (name, _), record in chosen.items():
            problems += closed_problems(record, benches[name], facts)
        if problems:
            raise _refuse(
                "the closed division refuses these runs: " + "; ".join(problems),
                hint="use --division open, or bench with the benchmark's reference model, "
                "dataset and --compliant",
            )

    overrides = dict(system_desc or {})
    measurement_overrides = {
        k: overrides.pop(k) for k in list(overrides) if k in rules.MEASUREMENT_REQUIRED_FIELDS
    }
    first = records[0]
    framework = f"{first.predictor.name} {first.predictor.version}" if first.predictor else None
    desc = systems.build(
        first.environment,
        division=division,
        submitter=submitter,
        system_name=system,
        overrides=overrides,
        framework=framework,
        loadgen_version=first.loadgen.version if first.loadgen else None,
        reef_version=reef_version,
    )
    missing = systems.missing_fields(desc)
    if missing:
        raise _refuse(
            f"systems/{system}.json needs fields the fingerprint cannot know: "
            + ", ".join(missing),
            hint="give them with --system-type/--status or in --system-desc FILE.yaml",
        )

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise _refuse(f"{out} is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise _refuse(
            f"{out} is not empty", hint="choose an empty folder, or --force to replace it"
        )

    results: list[ExportedResult] = []
    notes: list[str] = []
    with staged_folder(out, "submission tree") as stage:
        tree = L.Layout(stage, round_name)
        final = L.Layout(Path(out).resolve(), round_name)
        sys_json = tree.system_json(division, submitter, system)
        sys_json.parent.mkdir(parents=True, exist_ok=True)
        sys_json.write_text(json.dumps(desc, indent=2) + "\n", encoding="utf-8")
        for (name, scenario), record in chosen.items():
            bench = benches[name]
            where = L.ScenarioKey(division, submitter, system, name, scenario)
            results.append(
                _write_scenario(tree, final, where, record, bench, measurement_overrides, notes)
            )
        for name, bench in benches.items():
            code = tree.code_dir(division, submitter, name)
            code.mkdir(parents=True, exist_ok=True)
            runs = [r for (b, _), r in chosen.items() if b == name]
            (code / L.README).write_text(code_readme(bench, runs), encoding="utf-8")
    return MlperfExport(
        root=str(Path(out).resolve()),
        round=round_name,
        division=division,
        submitter=submitter,
        system=system,
        system_json=str(final.system_json(division, submitter, system)),
        results=results,
        notes=notes,
    )


def _write_scenario(
    tree: L.Layout,
    final: L.Layout,
    key: L.ScenarioKey,
    record: RunRecord,
    bench: rules.Benchmark,
    measurement_overrides: Mapping[str, Any],
    notes: list[str],
) -> ExportedResult:
    perf = _folder(record, "loadgen_performance")
    acc = _folder(record, "loadgen_accuracy")
    assert perf is not None and acc is not None  # _check_run made sure
    _copy_logs(perf, tree.performance_dir(key), (L.SUMMARY, L.DETAIL))
    acc_dir = tree.accuracy_dir(key)
    _copy_logs(acc, acc_dir, (L.SUMMARY, L.DETAIL))
    original = acc / L.ACCURACY_LOG
    truncated = truncate_accuracy_log(original, acc_dir / L.ACCURACY_LOG)
    digest = sha256_file(original)
    (acc_dir / L.ACCURACY_TXT).write_text(accuracy_text(record, bench, digest), encoding="utf-8")

    meas = tree.measurements_dir(key)
    meas.mkdir(parents=True, exist_ok=True)
    (meas / L.README).write_text(scenario_readme(record, bench), encoding="utf-8")
    user = record.artifacts.get("user_conf")
    if user and Path(user).is_file():
        shutil.copyfile(user, meas / L.USER_CONF)
    else:
        (meas / L.USER_CONF).write_text(user_conf(record, bench), encoding="utf-8")
    mlperf_conf = record.artifacts.get("mlperf_conf")
    if mlperf_conf and Path(mlperf_conf).is_file():
        shutil.copyfile(mlperf_conf, meas / L.MLPERF_CONF)
    else:
        notes.append(
            f"{bench.name} {key.scenario}: run {record.id[:8]} names no mlperf.conf "
            "(LoadGen's built-in defaults applied); none written"
        )
    data = measurements(record, measurement_overrides)
    tree.measurements_json(key, IMPLEMENTATION).write_text(
        json.dumps(data, indent=2) + "\n", encoding="utf-8"
    )

    copied = []
    for audit in _audits(record):
        test = str(getattr(audit, "test", ""))
        raw = getattr(audit, "path", None)
        if not raw:
            notes.append(f"run {record.id[:8]}: audit {test} names no folder; not copied")
            continue
        folder = Path(str(raw))
        if not folder.is_absolute():  # relative to the run's folder
            folder = perf.parent / folder
        if test in L.COMPLIANCE_TESTS and folder.is_dir():
            dest = tree.test_dir(key, test)
            dest.parent.mkdir(parents=True, exist_ok=True)
            _copy_audit(folder, dest)
            copied.append(test)
    return ExportedResult(
        run_id=record.id,
        benchmark=bench.name,
        scenario=key.scenario,
        results_dir=str(final.results_dir(key)),
        accuracy=accuracy_figure(record, bench),
        accuracy_log_original=str(original),
        accuracy_log_truncated=truncated,
        compliance=copied,
    )
