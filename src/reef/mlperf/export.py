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
from reef.mlperf.contents import (
    accuracy_figure,
    accuracy_text,
    code_readme,
    effective,
    measurements,
    mlperf_model,
    scenario_readme,
    sha256_file,
    truncate_accuracy_log,
    user_conf,
)

IMPLEMENTATION = "reef"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


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


def benchmark_of(record: RunRecord, chosen: str | None) -> rules.Benchmark:
    """The benchmark a run is exported as: ``chosen``, else the run's MLPerf model."""
    if chosen:
        return rules.benchmark(chosen)
    model = mlperf_model(record)
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
    model = mlperf_model(record)
    if model is None or rules.benchmark_for_model(model) != bench.name:
        out.append(
            f"run {short}: reference model: the run was not configured as {bench.name}'s "
            f"model ({bench.reference}); its MLPerf model is {model or 'not set'}"
        )
    acc = record.accuracy
    if acc is None or acc.samples != bench.accuracy_samples:
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
    if not record.settings.compliant:
        out.append(f"run {short}: official settings: the run was not made with --compliant")
    eff = effective(record)
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
    bound = rules.SERVER_LATENCY_NS.get(bench.name) if record.scenario == "Server" else None
    latency = eff.get("target_latency_ns")
    if bound is not None and (not isinstance(latency, int | float) or latency > bound):
        out.append(
            f"run {short}: official settings: the Server latency bound {latency} ns is over "
            f"{bench.name}'s {bound} ns"
        )
    need = rules.min_query_count(bench, record.scenario)
    queries = eff.get("min_query_count")
    if need and (not isinstance(queries, int) or queries < need):
        out.append(f"run {short}: official settings: min_query_count {queries} is under {need}")
    passed = {str(getattr(a, "test", "")) for a in _audits(record) if getattr(a, "passed", False)}
    lacking = [t for t in rules.audits(bench, round_) if t not in passed]
    if lacking:
        out.append(
            f"run {short}: compliance audits: {', '.join(lacking)} not run and passed "
            f"(reef bench --audit {lacking[0]})"
        )
    return out


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
    found = {rules.round_for_seeds(effective(r)) for r in records}
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
    if str(desc.get("status", "")).lower() not in rules.AVAILABILITIES:
        raise _refuse(
            f"systems/{system}.json: status {desc.get('status')!r} is not one of "
            + ", ".join(rules.AVAILABILITIES)
        )
    if desc.get("system_type") not in rules.SYSTEM_TYPES:
        raise _refuse(
            f"systems/{system}.json: system_type {desc.get('system_type')!r} is not one of "
            + ", ".join(rules.SYSTEM_TYPES)
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
