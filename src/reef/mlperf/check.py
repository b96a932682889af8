"""Reef's reading of MLPerf's submission rules over a tree (``reef export mlperf --check``).

The rules are those MLCommons' submission checker applies (its facts, in ``rules``): the
required files of each scenario, LoadGen's errors, result validity and early-stopping
verdicts, the minimum duration and query count, the round's seeds, the performance sample
count, the accuracy log's truncation and hash, accuracy against the benchmark's target, the
compliance audits, the measurement JSON's and the system JSON's required fields. Reef adds one
of its own: the summary log must agree with the detail log it summarises.

Each broken rule is a finding (the file, the rule, a message). A finding is an ``error`` or a
``warning``; the tree passes when it has no error. In the open division the dataset coverage
and the performance sample count are warnings (a model mapped onto a benchmark with
``--benchmark`` may use another dataset); MLCommons' checker applies them in both divisions.
So is an accuracy.txt without the benchmark's figure: MLCommons' checker does not read an open
result's accuracy.txt.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from reef.errors import SettingsError
from reef.mlperf import layout as L
from reef.mlperf import rules, systems
from reef.mlperf.logs import DetailLog, read_detail, read_summary, summary_result

Severity = Literal["error", "warning"]

RULES: dict[str, str] = {
    "required-files": "each scenario holds its logs, accuracy.txt, README.md, user.conf and "
    "the measurement JSON",
    "benchmark": "the benchmark folder names a benchmark of the round (open: or "
    "model_mapping.json maps it)",
    "scenario": "the detail log's scenario is the folder's",
    "loadgen-errors": "LoadGen logged no error",
    "result-validity": "LoadGen judged the performance run VALID",
    "early-stopping": "SingleStream, MultiStream and Server: early stopping's condition met",
    "server-latency": "Server: the target latency is at most the benchmark's bound",
    "min-duration": f"min_duration is at least {rules.MIN_DURATION_MS} ms",
    "min-query-count": "min_query_count reaches the benchmark's minimum (Offline)",
    "offline-samples-per-query": "closed Offline: samples_per_query reaches the minimum",
    "performance-sample-count": "performance_sample_count reaches the benchmark's",
    "equal-issue": "closed and network: 3d-unet, rgat, whisper and the LLMs' performance run "
    "issued in equal-issue mode (sample_concatenate_permutation)",
    "seeds": "the round's official qsl, sample index and schedule seeds",
    "summary-detail": "the summary log agrees with the detail log",
    "accuracy-mode": "the accuracy folder's logs are of an AccuracyOnly run",
    "accuracy-log-truncated": f"mlperf_log_accuracy.json is at most "
    f"{rules.MAX_ACCURACY_LOG_BYTES} bytes",
    "accuracy-hash": "accuracy.txt gives hash=<sha256 of the accuracy log>",
    "accuracy-value": "accuracy.txt gives the benchmark's metric",
    "accuracy-target": "closed: each metric reaches its target and stays within its upper limit",
    "accuracy-dataset": "the accuracy run covered the benchmark's dataset",
    "compliance": "closed: the benchmark's audits are present and pass; any audit present passes",
    "measurement-fields": "the measurement JSON has its required fields, none empty",
    "system-json": "systems/<system>.json exists and is JSON",
    "system-fields": "the system JSON has its required fields, filled where they must be",
    "system-status": "status is available, preview or rdi",
    "system-type": "system_type is datacenter, edge or both",
    "system-division": "the system JSON's division and submitter are the folders'",
    "code": "code (v5.x) or src (v6+) has a folder per benchmark",
}


class Finding(BaseModel):
    """One broken rule: the file (relative to the tree), the rule's name, what is wrong."""

    file: str = Field(description="relative to the tree's root")
    rule: str
    message: str
    severity: Severity = "error"


class CheckedResult(BaseModel):
    """One scenario of the tree and whether it broke no rule."""

    division: str
    submitter: str
    system: str
    benchmark: str
    scenario: str
    passed: bool
    result: float | None = Field(None, description="the scenario's headline figure")
    accuracy: float | None = None


class MlperfCheck(BaseModel):
    """What `reef export mlperf --check` found: each scenario checked and every finding;
    ``passed`` when no finding is an error."""

    root: str
    round: str
    passed: bool
    results: list[CheckedResult]
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


class NotATree(SettingsError):
    """The folder holds no submission (exit 2)."""


class _Checker:
    def __init__(self, root: Path, round_: str | None) -> None:
        self.root = root
        self.round_given = round_
        self.findings: list[Finding] = []

    def add(self, path: Path, rule: str, message: str, severity: Severity = "error") -> Finding:
        try:
            rel = str(path.relative_to(self.root))
        except ValueError:
            rel = str(path)
        finding = Finding(file=rel, rule=rule, message=message, severity=severity)
        self.findings.append(finding)
        return finding


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def _seeds(detail: DetailLog) -> dict[str, int]:
    return {
        k: int(v) for k in rules.SEED_KEYS if isinstance(v := detail.get(f"effective_{k}"), int)
    }


def _round_for(root: Path, division: str, submitter: str, given: str | None) -> str:
    """The round named, else the one the first performance log's seeds are official for,
    else the one the layout says."""
    if given:
        rules.round_facts(given)
        return given
    guessed = L.guess_round(root, division, submitter)
    split = L.has_split_folders(root, division, submitter)
    for key in L.scenarios(root):
        if (key.division, key.submitter) != (division, submitter):
            continue
        detail = L.Layout(root, guessed, split).performance_dir(key) / L.DETAIL
        if detail.is_file():
            found = rules.round_for_seeds(_seeds(read_detail(detail)))
            if found:
                return found
        break
    return guessed


def _model_mapping(root: Path, division: str, submitter: str) -> dict[str, str]:
    path = root / division / submitter / "model_mapping.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def check(root: Path, round_: str | None = None) -> MlperfCheck:
    """Check the submission tree under ``root``; ``NotATree`` when it holds none."""
    root = Path(root)
    if not root.is_dir():
        raise NotATree(f"{root} is not a folder", hint="name the folder reef export mlperf wrote")
    keys = list(L.scenarios(root))
    if not keys:
        raise NotATree(
            f"{root} is not an MLPerf submission tree: no "
            "<division>/<submitter>/results/<system>/<benchmark>/<scenario>/ folder",
            hint="name the folder reef export mlperf wrote (the one holding open/ or closed/)",
        )
    c = _Checker(root, round_)
    rounds: dict[tuple[str, str], str] = {}
    results = []
    systems_seen: set[tuple[str, str, str]] = set()
    benches_seen: set[tuple[str, str, str]] = set()
    for key in keys:
        sub = (key.division, key.submitter)
        if sub not in rounds:
            rounds[sub] = _round_for(root, key.division, key.submitter, round_)
        layout = L.Layout(root, rounds[sub], L.has_split_folders(root, *sub))
        before = len([f for f in c.findings if f.severity == "error"])
        result, accuracy = _check_scenario(c, layout, key)
        after = len([f for f in c.findings if f.severity == "error"])
        results.append(
            CheckedResult(**key.__dict__, passed=after == before, result=result, accuracy=accuracy)
        )
        systems_seen.add((key.division, key.submitter, key.system))
        benches_seen.add((key.division, key.submitter, key.benchmark))
    for division, submitter, system in sorted(systems_seen):
        _check_system(c, L.Layout(root, rounds[(division, submitter)]), division, submitter, system)
    for division, submitter, bench in sorted(benches_seen):
        split = L.has_split_folders(root, division, submitter)
        layout = L.Layout(root, rounds[(division, submitter)], split)
        code = layout.code_dir(division, submitter, bench)
        if not code.is_dir():
            c.add(code, "code", f"no {code.parent.name}/{bench}/ folder for {bench}")
    the_round = sorted(set(rounds.values()))
    return MlperfCheck(
        root=str(root.resolve()),
        round=", ".join(the_round),
        passed=not any(f.severity == "error" for f in c.findings),
        results=results,
        findings=c.findings,
    )


def _check_scenario(
    c: _Checker, layout: L.Layout, key: L.ScenarioKey
) -> tuple[float | None, float | None]:
    facts = rules.round_facts(layout.round)
    name = key.benchmark
    if name not in rules.BENCHMARKS and key.division == "open":
        name = _model_mapping(c.root, key.division, key.submitter).get(name, name)
    results_dir = layout.results_dir(key)
    bench = rules.BENCHMARKS.get(name)
    if bench is None or bench.name not in facts.benchmarks:
        c.add(results_dir, "benchmark", f"{key.benchmark} is no benchmark of round {layout.round}")
    closed = key.division != "open"
    soft: Severity = "error" if closed else "warning"

    perf_dir, acc_dir, meas_dir = (
        layout.performance_dir(key),
        layout.accuracy_dir(key),
        layout.measurements_dir(key),
    )
    required = [perf_dir / L.SUMMARY, perf_dir / L.DETAIL]
    required += [acc_dir / n for n in (L.SUMMARY, L.DETAIL, L.ACCURACY_TXT, L.ACCURACY_LOG)]
    required += [meas_dir / L.README, meas_dir / L.USER_CONF]
    for path in required:
        if not path.is_file():
            c.add(path, "required-files", f"{path.name} is missing")
        elif path.stat().st_size == 0 and path.name != L.ACCURACY_LOG:
            c.add(path, "required-files", f"{path.name} is empty")
    meas_json = layout.find_measurements_json(key)
    if meas_json is None:
        c.add(layout.measurements_json(key), "required-files", "the measurement JSON is missing")
    else:
        _check_measurements(c, meas_json)

    result = None
    if (perf_dir / L.DETAIL).is_file():
        detail = read_detail(perf_dir / L.DETAIL)
        result = _check_performance(c, perf_dir / L.DETAIL, detail, key, bench, facts, soft)
        if (perf_dir / L.SUMMARY).is_file():
            _check_summary(c, perf_dir / L.SUMMARY, detail, performance=True)
    accuracy = None
    if (acc_dir / L.DETAIL).is_file():
        acc_detail = read_detail(acc_dir / L.DETAIL)
        mode = acc_detail.get("effective_test_mode")
        if mode != "AccuracyOnly":
            c.add(acc_dir / L.DETAIL, "accuracy-mode", f"test mode is {mode}, not AccuracyOnly")
        if acc_detail.errors:
            c.add(acc_dir / L.DETAIL, "loadgen-errors", "; ".join(acc_detail.errors[:3]))
        if bench is not None:
            count = acc_detail.get("effective_accuracy_sample_count")
            if count is None:
                count = acc_detail.get("qsl_reported_total_count")
            if count != bench.accuracy_samples:
                c.add(
                    acc_dir / L.DETAIL,
                    "accuracy-dataset",
                    f"the accuracy run covered {count} samples, {bench.name}'s dataset has "
                    f"{bench.accuracy_samples}",
                    soft,
                )
        if (acc_dir / L.SUMMARY).is_file() and (acc_dir / L.SUMMARY).stat().st_size:
            _check_summary(c, acc_dir / L.SUMMARY, acc_detail)
    log = acc_dir / L.ACCURACY_LOG
    if log.is_file() and log.stat().st_size > rules.MAX_ACCURACY_LOG_BYTES:
        c.add(
            log,
            "accuracy-log-truncated",
            f"{log.stat().st_size} bytes: not truncated (at most {rules.MAX_ACCURACY_LOG_BYTES})",
        )
    if (acc_dir / L.ACCURACY_TXT).is_file():
        accuracy = _check_accuracy_txt(c, acc_dir / L.ACCURACY_TXT, bench, closed)
    _check_compliance(c, layout, key, bench, closed)
    return result, accuracy


def _check_performance(
    c: _Checker,
    path: Path,
    detail: DetailLog,
    key: L.ScenarioKey,
    bench: rules.Benchmark | None,
    facts: rules.Round,
    soft: Severity,
) -> float | None:
    scenario = str(detail.get("effective_scenario"))
    if scenario != key.scenario and not _may_stand_for(c, key, scenario):
        c.add(path, "scenario", f"the log's scenario is {scenario}, the folder's {key.scenario}")
    if detail.errors:
        c.add(path, "loadgen-errors", f"{len(detail.errors)}: " + "; ".join(detail.errors[:3]))
    validity = detail.get("result_validity")
    if validity != "VALID":
        c.add(path, "result-validity", f"LoadGen's verdict is {validity}")
    if scenario in rules.EARLY_STOPPING_SCENARIOS and detail.get("early_stopping_met") is not True:
        c.add(
            path,
            "early-stopping",
            "early stopping's condition was not met: "
            + str(detail.get("early_stopping_result", "")).strip()[:300],
        )
    bound = rules.SERVER_LATENCY_NS.get(bench.name) if bench and scenario == "Server" else None
    if bench is not None and bound is not None:
        latency = _num(detail.get("effective_target_latency_ns"))
        if latency is None or latency > bound:
            said = "not logged" if latency is None else f"{latency / 1e6:g} ms"
            c.add(
                path,
                "server-latency",
                f"the target latency is {said}; {bench.name}'s bound is {bound / 1e6:g} ms",
            )
    duration = _num(detail.get("effective_min_duration_ms"))
    if duration is None or duration < rules.MIN_DURATION_MS:
        c.add(
            path,
            "min-duration",
            f"min_duration is {duration and int(duration)} ms, under {rules.MIN_DURATION_MS} ms",
        )
    if bench is not None:
        need = rules.min_query_count(bench, scenario)
        queries = _num(detail.get("effective_min_query_count"))
        if need and (queries is None or queries < need):
            c.add(
                path,
                "min-query-count",
                f"min_query_count is {queries and int(queries)}, under {bench.name}'s {need}",
            )
        spq = _num(detail.get("effective_samples_per_query"))
        need_spq = bench.offline_min_samples_per_query
        offline_closed = scenario == "Offline" and key.division != "open"
        if offline_closed and need_spq and (spq is None or spq < need_spq):
            c.add(
                path,
                "offline-samples-per-query",
                f"samples_per_query is {spq and int(spq)}, under {need_spq}",
            )
        permuted = detail.get("effective_sample_concatenate_permutation")
        equal_issue = bench.name in rules.EQUAL_ISSUE and key.division != "open"
        if equal_issue and permuted is not True:
            said = "not logged" if permuted is None else str(permuted).lower()
            c.add(
                path,
                "equal-issue",
                f"{bench.name} runs in equal-issue mode: sample_concatenate_permutation is "
                f"{said}, expected true (mlperf.conf sets it for the model: run with "
                "--mlperf-model naming it)",
            )
        psc = _num(detail.get("effective_performance_sample_count"))
        if psc is None or psc < bench.performance_sample_count:
            c.add(
                path,
                "performance-sample-count",
                f"performance_sample_count is {psc and int(psc)}, {bench.name} needs "
                f"{bench.performance_sample_count}",
                soft,
            )
    seeds = _seeds(detail)
    wrong = [
        f"{k} is {seeds.get(k)}, round {facts.name}'s is {v}"
        for k, v in facts.seeds.items()
        if seeds.get(k) != v
    ]
    if wrong:
        c.add(path, "seeds", "; ".join(wrong))
    return _num(detail.get(rules.RESULT_KEYS.get(scenario, "")))


def _may_stand_for(c: _Checker, key: L.ScenarioKey, logged: str) -> bool:
    """Whether a run of the ``logged`` scenario may stand for the folder's: an Interactive
    result is a Server run; an edge system may infer MultiStream or Offline from
    SingleStream, and Offline from MultiStream."""
    if (logged, key.scenario) == ("Server", "Interactive"):
        return True
    if (logged, key.scenario) not in rules.INFERRED_SCENARIOS:
        return False
    path = L.Layout(c.root).system_json(key.division, key.submitter, key.system)
    try:
        desc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(desc, dict) and "edge" in str(desc.get("system_type", ""))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-6)


def _check_summary(c: _Checker, path: Path, detail: DetailLog, performance: bool = False) -> None:
    """The summary must say what the detail log says: scenario, mode, verdict, the
    satisfied lines and the headline figure. A performance run's summary must give the
    scenario, mode and verdict (an accuracy run's may be LoadGen's bare header)."""
    summary = read_summary(path)
    differ: list[str] = []
    if performance:
        lacking = [n for n in ("Scenario", "Mode", "Result is") if n not in summary]
        if lacking:
            differ.append("the summary gives no " + ", ".join(lacking))

    def same(name: str, key: str, convert: Callable[[Any], Any] = str) -> None:
        if name in summary and key in detail:
            said, logged = summary[name], detail.get(key)
            if convert(said) != convert(logged):
                differ.append(f"{name} is {said!r}, the detail log's {key} {logged!r}")

    def yes(v: Any) -> str:
        return "Yes" if v in (True, "Yes", "true", "True") else "No"

    same("Scenario", "effective_scenario")
    same("Mode", "effective_test_mode")
    same("Result is", "result_validity")
    same("Min duration satisfied", "result_min_duration_met", yes)
    same("Min queries satisfied", "result_min_queries_met", yes)
    same("Early stopping satisfied", "early_stopping_met", yes)
    headline = summary_result(summary)
    if headline:
        name, said = headline
        low = name.lower()
        key = None
        if low == "samples per second":
            key = "result_samples_per_second"
        elif low == "scheduled samples per second":
            key = "result_scheduled_samples_per_sec"
        elif low == "samples per query":
            key = "result_samples_per_query"
        elif "percentile latency (ns)" in low:
            m = re.match(r"([\d.]+)", low)
            if m:
                key = f"result_{float(m.group(1)):.2f}_percentile_latency_ns"
        said_num, logged_num = _num(said), _num(detail.get(key)) if key else None
        if (
            key
            and key in detail
            and (said_num is None or logged_num is None or not _close(said_num, logged_num))
        ):
            differ.append(f"{name} is {said}, the detail log's {key} {detail.get(key)}")
    for message in differ:
        c.add(path, "summary-detail", message)


def _check_accuracy_txt(
    c: _Checker, path: Path, bench: rules.Benchmark | None, closed: bool
) -> float | None:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if not any(re.match(rules.HASH_PATTERN, line.strip()) for line in lines):
        c.add(path, "accuracy-hash", "no hash=<sha256> line")
    if bench is None:
        return None

    def figure(metric: str) -> float | None:
        pattern = rules.ACCURACY_PATTERNS.get(metric)
        for line in lines:
            m = re.match(pattern, line) if pattern else None
            if m:
                return _num(m.group(1))
        return None

    first: float | None = None
    for metric, target in bench.targets:
        value = figure(metric)
        if value is None:  # MLCommons' checker reads no open result's accuracy.txt
            severity: Severity = "error" if closed else "warning"
            c.add(path, "accuracy-value", f"no {metric} figure for {bench.name}", severity)
            continue
        first = value if first is None else first
        if closed and value < target:
            c.add(
                path,
                "accuracy-target",
                f"{metric} {value:g} is under {bench.name}'s target {target:.4f}",
            )
    for metric, limit in rules.ACCURACY_UPPER_LIMITS.get(bench.name, ()) if closed else ():
        value = figure(metric)
        if value is not None and value > limit:
            c.add(
                path,
                "accuracy-target",
                f"{metric} {value:g} is over {bench.name}'s upper limit {limit:.4f}",
            )
    return first


def _verify_passes(path: Path) -> bool:
    try:
        return "TEST PASS" in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _test06_failures(path: Path) -> list[str]:
    """TEST06's checks that did not pass: its verify file says ``<check> pass: True`` for
    each (the first-token check may be ``Skipped``)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = {line.strip() for line in text.splitlines()}
    return [
        name
        for name, allowed in rules.TEST06_CHECKS.items()
        if not any(f"{name} pass: {ok}" in lines for ok in allowed)
    ]


def _check_compliance(
    c: _Checker,
    layout: L.Layout,
    key: L.ScenarioKey,
    bench: rules.Benchmark | None,
    closed: bool,
) -> None:
    facts = rules.round_facts(layout.round)
    needed = set(rules.audits(bench, facts)) if bench is not None and closed else set()
    present = {t for t in L.COMPLIANCE_TESTS if layout.test_dir(key, t).is_dir()}
    for test in sorted(needed | present):
        folder = layout.test_dir(key, test)
        if not folder.is_dir():
            c.add(folder, "compliance", f"{test} is missing: {bench and bench.name} needs it")
            continue
        wanted = []
        if test in ("TEST01", "TEST06", "TEST07", "TEST08"):
            wanted.append(L.VERIFY_ACCURACY)
        if test in ("TEST01", "TEST04"):
            wanted.append(L.VERIFY_PERFORMANCE)
        if test == "TEST09":
            wanted.append(L.VERIFY_OUTPUT_LEN)
        for name in wanted:
            path = folder / name
            if not path.is_file():
                c.add(path, "compliance", f"{test}: {name} is missing")
            elif test == "TEST06":
                failed = _test06_failures(path)
                if failed:
                    c.add(path, "compliance", f"TEST06: {', '.join(failed)} did not pass")
            elif not _verify_passes(path):
                c.add(path, "compliance", f"{test}: {name} does not say TEST PASS")
        if test in ("TEST01", "TEST04"):
            perf = folder / "performance" / "run_1" / L.DETAIL
            if not perf.is_file():
                c.add(perf, "compliance", f"{test}: the audit's detail log is missing")
            elif closed:  # the audit's run is held to a performance run's rules
                _check_performance(c, perf, read_detail(perf), key, bench, facts, "error")


def _check_measurements(c: _Checker, path: Path) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        c.add(path, "measurement-fields", f"not JSON: {exc}")
        return
    if not isinstance(data, dict):
        c.add(path, "measurement-fields", "not a JSON object")
        return
    missing = [f for f in rules.MEASUREMENT_REQUIRED_FIELDS if f not in data]
    if missing:
        c.add(path, "measurement-fields", "missing " + ", ".join(missing))
    blank = [f for f in rules.MEASUREMENT_REQUIRED_FIELDS if f in data and systems.empty(data[f])]
    if blank:
        c.add(path, "measurement-fields", "empty " + ", ".join(blank))


def _check_system(
    c: _Checker, layout: L.Layout, division: str, submitter: str, system: str
) -> None:
    path = layout.system_json(division, submitter, system)
    if not path.is_file():
        c.add(path, "system-json", f"{path.name} is missing")
        return
    try:
        desc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        c.add(path, "system-json", f"not JSON: {exc}")
        return
    if not isinstance(desc, dict):
        c.add(path, "system-json", "not a JSON object")
        return
    missing = systems.missing_fields(desc)
    if missing:
        c.add(path, "system-fields", "missing or empty: " + ", ".join(missing))
    status = str(desc.get("status", "")).lower()
    if status not in rules.AVAILABILITIES:
        c.add(
            path,
            "system-status",
            f"status {desc.get('status')!r} is not one of " + ", ".join(rules.AVAILABILITIES),
        )
    if desc.get("system_type") not in rules.SYSTEM_TYPES:
        c.add(
            path,
            "system-type",
            f"system_type {desc.get('system_type')!r} is not one of "
            + ", ".join(rules.SYSTEM_TYPES),
        )
    if desc.get("division") != division:
        c.add(
            path,
            "system-division",
            f"division is {desc.get('division')!r}, the folder's {division}",
        )
    if desc.get("submitter") != submitter:
        c.add(
            path,
            "system-division",
            f"submitter is {desc.get('submitter')!r}, the folder's {submitter}",
        )
