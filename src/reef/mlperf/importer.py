"""Reading an MLPerf inference submission tree into run records (``reef runs import-mlperf``).

A tree is ``<division>/<submitter>/{systems/<system>.json, results/<system>/<benchmark>/
<scenario>/{performance/run_1/, accuracy/}}`` (the layout MLCommons' submission checker
reads; ``reef export mlperf`` writes the same). Each scenario folder with LoadGen's logs
becomes one ``RunRecord`` marked as imported (``RunRecord.imported``, target kind
``mlperf``): its figures are LoadGen's own (``reef.bench.logs``), its accuracy the
``accuracy.txt`` line the benchmark's script printed, its environment the system
description.

``scan`` reads and checks the whole tree before anything is stored: a missing folder, a tree
without LoadGen logs, or a detail log that is not one (named by file and line) is an error;
a scenario folder that lacks what a result needs is skipped, with the reason. The run id is
derived from the performance detail log's bytes, so the same result is imported once however
often, and from wherever, it is read.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reef.errors import FileRefused, ManifestError, Problem
from reef.mlperf import rules
from reef.mlperf.layout import (
    ACCURACY_LOG,
    ACCURACY_TXT,
    COMPLIANCE_TESTS,
    DETAIL,
    DIVISIONS,
    SUMMARY,
)
from reef.mlperf.logs import MARKER

if TYPE_CHECKING:
    from reef.bench.logs import Detail
    from reef.meta.run import Accuracy, Performance, RunRecord
    from reef.meta.settings import BenchSettings

# A detail log holds one line per LoadGen event: a few MB for a long run.
DETAIL_MAX_BYTES = 256 << 20
SYSTEM_MAX_BYTES = 1 << 20
ACCURACY_TXT_MAX_BYTES = 16 << 20
# Any file the import copies: an accuracy log may be the untruncated one of a large dataset
# (GBs for an LLM); one over the cap is left out, its accuracy.txt figure imported still.
COPY_MAX_BYTES = 256 << 20
# How a run's folder under REEF_HOME/runs/<id>/ holds the tree's files.
PERFORMANCE_DIR = "performance"
ACCURACY_DIR = "accuracy"
SYSTEM_FILE = "system.json"
SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")  # LoadGen's, as logged
_ROUND = re.compile(r"(?:^|[_\-])(v\d+\.\d+)$", re.IGNORECASE)


class ImportedResult(BaseModel):
    """One result of the tree and what became of it."""

    id: str
    result: str  # "imported" or "already stored"
    status: str
    path: str
    division: str | None
    submitter: str | None
    system: str
    benchmark: str
    scenario: str
    throughput_qps: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    accuracy_metric: str | None = None
    accuracy_value: float | None = None


class SkippedResult(BaseModel):
    """A scenario folder (or a log) that was not imported, and why."""

    path: str
    reason: str


class MlperfImportReport(BaseModel):
    """What ``import_mlperf`` did: each complete result, imported or already stored, and each
    folder skipped with the reason."""

    root: str
    imported: int
    already_stored: int
    runs: list[ImportedResult]
    skipped: list[SkippedResult]


@dataclass
class Found:
    """A result ready to store: its record and the tree's files its run folder gets
    (destination relative to ``REEF_HOME/runs/<id>/`` -> source)."""

    record: RunRecord
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class _Where:
    """A scenario folder's place in the tree."""

    folder: Path
    division: str | None
    submitter: str | None
    system: str
    benchmark: str
    scenario: str
    submitter_dir: Path
    root: Path  # the tree's folder (links resolved): nothing outside it is read


def scan(root: Path, round_: str | None = None) -> tuple[list[Found], list[SkippedResult]]:
    """Every complete result under ``root`` (a tree, a division, a submitter's folder or one
    scenario folder) as a record, and what was skipped. Raises, before anything is stored,
    for a missing ``root``, a tree with no detail log, a malformed detail log or system
    description, or a tree where nothing is complete."""
    root = _folder(root)
    details = _detail_logs(root)
    if not details:
        raise FileRefused(
            root,
            f"no {DETAIL} under it: not an MLPerf submission tree",
            hint="give a submission tree: DIVISION/SUBMITTER/results/SYSTEM/BENCHMARK/"
            "SCENARIO/performance/run_1/mlperf_log_detail.txt",
        )
    folders: dict[Path, _Where] = {}
    skipped: list[SkippedResult] = []
    for path in details:
        where = _place(path, root)
        if where is None:
            if not _is_audit(path):
                skipped.append(
                    SkippedResult(
                        path=str(path),
                        reason="not in a folder of a results/SYSTEM/BENCHMARK/SCENARIO/ "
                        "folder (performance/run_1/, accuracy/)",
                    )
                )
            continue
        folders.setdefault(where.folder, where)
    if not folders:
        raise FileRefused(
            root,
            f"no {DETAIL} in a results/SYSTEM/BENCHMARK/SCENARIO/ folder under it: not an "
            "MLPerf submission tree",
            hint="Reef's own run folders (REEF_HOME/runs/ID) are imported with reef runs import",
        )
    found: list[Found] = []
    problems: list[Problem] = []
    for where in folders.values():
        try:
            result = _result(where, round_ or _round_of(where.folder))
        except ManifestError as exc:
            problems.extend(exc.problems)
            continue
        if isinstance(result, SkippedResult):
            skipped.append(result)
        else:
            found.append(result)
    if problems:
        # A system description is read once for each of its results: named once.
        unique = list({str(p): p for p in problems}.values())
        raise ManifestError(unique, hint="nothing was imported")
    if not found:
        raise ManifestError(
            [Problem(str(s.path), "", s.reason) for s in skipped]
            or [Problem(str(root), "", "no result folder holds LoadGen's performance logs")],
            hint="nothing was imported: no result in the tree is complete",
        )
    return found, skipped


def _folder(root: Path) -> Path:
    try:
        if not root.exists():
            raise FileRefused(root, "not found")
        if not root.is_dir():
            raise FileRefused(root, "not a folder", hint="give the submission tree's folder")
        return root.resolve()
    except OSError as exc:
        from reef.files import reason

        raise FileRefused(root, f"cannot read it: {reason(exc)}") from exc


def _detail_logs(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.rglob(DETAIL) if p.is_file())
    except OSError as exc:
        from reef.files import reason

        raise FileRefused(root, f"cannot read it: {reason(exc)}") from exc


def _place(path: Path, root: Path) -> _Where | None:
    """Where ``path`` (a detail log) sits: the ``results/SYSTEM/BENCHMARK/SCENARIO/`` folder
    it is in, at any depth (``performance/run_1/``, ``accuracy/``, an audit's ``TEST01/``, a
    power run's ``performance/ranging/``): the folder is the result."""
    parts = path.parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] != "results":
            continue
        rest = parts[i + 1 :]
        if len(rest) < 5:  # SYSTEM/BENCHMARK/SCENARIO/FOLDER/mlperf_log_detail.txt at least
            return None
        submitter_dir = Path(*parts[:i])
        division = parts[i - 2] if i >= 2 and parts[i - 2] in DIVISIONS else None
        return _Where(
            folder=Path(*parts[: i + 4]),
            division=division,
            submitter=parts[i - 1] if i >= 1 else None,
            system=rest[0],
            benchmark=rest[1],
            scenario=rest[2],
            submitter_dir=submitter_dir,
            # A scenario or system folder named alone: its submitter's folder is the tree.
            root=submitter_dir if root.is_relative_to(submitter_dir) else root,
        )
    return None


def _is_audit(path: Path) -> bool:
    """A compliance audit's log (``TEST01/...``, ``compliance/...``): read by the checker,
    not a result of its own."""
    return any(p in COMPLIANCE_TESTS or p == "compliance" for p in path.parts)


def _round_of(folder: Path) -> str | None:
    """The round a folder's path names (``inference_results_v5.0``), if one does."""
    for part in reversed(folder.parts):
        match = _ROUND.search(part)
        if match:
            return match.group(1).lower()
    return None


def _result(where: _Where, round_: str | None) -> Found | SkippedResult:
    from pydantic import ValidationError

    from reef.bench import logs

    perf_dir = where.folder / PERFORMANCE_DIR / "run_1"
    perf_log = perf_dir / DETAIL
    if not perf_log.is_file():
        return SkippedResult(
            path=str(where.folder),
            reason=f"no {PERFORMANCE_DIR}/run_1/{DETAIL}: no performance result",
        )
    raw = _read(perf_log, "LoadGen detail log", DETAIL_MAX_BYTES, where.root)
    detail = _parse(perf_log, raw)
    if not (perf_dir / SUMMARY).is_file():
        return SkippedResult(
            path=str(where.folder),
            reason=f"no {PERFORMANCE_DIR}/run_1/{SUMMARY} beside the detail log",
        )
    logged = detail.values.get("effective_scenario")
    scenario = str(logged) if logged else where.scenario
    if detail.values.get("result_validity") is None:
        return SkippedResult(
            path=str(perf_log), reason="holds no LoadGen verdict (result_validity): cut short?"
        )
    if scenario not in SCENARIOS:
        return SkippedResult(
            path=str(perf_log), reason=f"scenario {scenario!r} is not one LoadGen runs"
        )
    if not _same_scenario(where.scenario, scenario):
        return SkippedResult(
            path=str(perf_log),
            reason=f"the log is of scenario {scenario}, its folder says {where.scenario}",
        )
    try:
        performance = logs.performance(detail, scenario)
    except KeyError as exc:
        return SkippedResult(path=str(perf_log), reason=f"lacks LoadGen's {exc.args[0]}")
    except (TypeError, ValueError) as exc:
        return SkippedResult(path=str(perf_log), reason=f"holds a figure that is not one: {exc}")
    if performance is None:
        return SkippedResult(path=str(perf_log), reason="holds no latency figures")
    notes: list[str] = []
    files = {
        f"{PERFORMANCE_DIR}/{SUMMARY}": _inside(perf_dir / SUMMARY, where.root),
        f"{PERFORMANCE_DIR}/{DETAIL}": perf_log,
    }
    accuracy = _accuracy(where, files, notes)
    system = _system(where, notes)
    try:
        record = _record(where, detail, raw, performance, round_, accuracy, system, notes)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where_ = ".".join(str(p) for p in err["loc"])
        return SkippedResult(path=str(perf_log), reason=f"{where_}: {err['msg']}")
    if system:
        files[SYSTEM_FILE] = where.submitter_dir / "systems" / f"{where.system}.json"
    return Found(record, files)


def _record(
    where: _Where,
    detail: Detail,
    raw: bytes,
    performance: Performance,
    round_: str | None,
    accuracy: Accuracy | None,
    system: dict[str, Any],
    notes: list[str],
) -> RunRecord:
    from reef.bench import logs
    from reef.meta.run import ImportInfo, LoadGenInfo, PredictorInfo, RunRecord, Target

    result, reasons = logs.verdict(detail)
    effective = logs.effective_settings(detail)
    scenario = str(effective.get("scenario") or where.scenario)
    # Without a round named, the official seeds of one name it.
    round_ = round_ or rules.round_for_seeds(
        {k: v for k, v in effective.items() if k in rules.SEED_KEYS}
    )
    return RunRecord(
        id=hashlib.sha256(raw).hexdigest()[:32],
        created_at=_when(detail),
        status="valid" if result == "VALID" else "invalid",
        reasons=reasons if result != "VALID" else [],
        target=Target(
            kind="mlperf",
            name=where.benchmark,
            version=round_,
            path=str(where.folder),
            sha256=hashlib.sha256(raw).hexdigest(),
        ),
        settings=_settings(effective, scenario, accuracy is not None),
        predictor=PredictorInfo(
            name="imported",
            version=str(system.get("framework") or "unknown"),
            options={"source": "mlperf", "submitter": where.submitter},
        ),
        loadgen=LoadGenInfo(
            version=str(detail.values.get("loadgen_version") or "unknown").split(" @")[0],
            result="VALID" if result == "VALID" else "INVALID",
            reasons=reasons,
            effective=effective,
            errors=detail.errors,
            warnings=detail.warnings,
        ),
        performance=performance,
        accuracy=accuracy,
        samples={"count": effective.get("performance_sample_count")},
        environment=_environment(system, where),
        imported=ImportInfo(
            path=str(where.folder),
            division=where.division,
            submitter=where.submitter,
            system=where.system,
            benchmark=where.benchmark,
            round=round_,
            notes=notes,
        ),
    )


def _same_scenario(folder: str, logged: str) -> bool:
    # LLM benchmarks' Interactive scenario is LoadGen's Server with tighter bounds.
    return folder.lower() == logged.lower() or (folder == "Interactive" and logged == "Server")


def _inside(path: Path, root: Path) -> Path:
    """``path``, refused (``ManifestError``) when it, or a folder on its way, is a link that
    leads out of the tree: importing a tree reads and copies nothing from elsewhere."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise ManifestError([Problem(str(path), "", f"cannot follow its links: {exc}")]) from exc
    if not real.is_relative_to(root):
        raise ManifestError(
            [Problem(str(path), "", f"a link out of the tree (to {real}): refused")],
            hint="a submission tree's files lie inside it; copy the files in rather than link",
        )
    return path


def _read(path: Path, what: str, cap: int, root: Path) -> bytes:
    from reef.files import read_regular

    return read_regular(_inside(path, root), what, cap)


def _parse(path: Path, raw: bytes) -> Detail:
    """The detail log's events, each ``:::MLLOG`` line checked: a log whose first line is not
    an event, or with an event that is not JSON, is a ``ManifestError`` naming its line."""
    from reef.bench.logs import parse_detail, parse_event

    lines = raw.decode("utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, 1):
        if number == 1 and not line.startswith(MARKER):
            raise ManifestError(
                [
                    Problem(
                        str(path),
                        "line 1",
                        f"does not start with {MARKER}: not a LoadGen detail log",
                    )
                ]
            )
        if not line.startswith(MARKER):
            continue
        try:
            parse_event(line)
        except ValueError as exc:
            raise ManifestError(
                [Problem(str(path), f"line {number}", f"not a LoadGen event: {exc}")]
            ) from exc
    return parse_detail(lines)


def _when(detail: Detail) -> datetime:
    """When LoadGen ran the test (``test_datetime``), else now."""
    stamp = detail.values.get("test_datetime")
    if isinstance(stamp, str):
        try:
            moment = datetime.fromisoformat(stamp)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def _settings(effective: dict[str, Any], scenario: str, with_accuracy: bool) -> BenchSettings:
    """The settings LoadGen ran with, as ``BenchSettings`` reads them; a value outside
    Reef's bounds is left at its default rather than refused."""
    from pydantic import ValidationError

    from reef.meta.settings import BenchSettings

    values: dict[str, Any] = {
        "scenario": scenario,
        "mode": "both" if with_accuracy else "performance",
    }
    candidates: dict[str, Any] = {
        "duration_s": _number(effective.get("min_duration_ms"), 1e-3),
        "queries": effective.get("min_query_count"),
        "seed": _seed(effective),
    }
    if scenario == "Server":
        candidates["target_qps"] = _number(effective.get("target_qps"))
        candidates["latency_bound_ms"] = _number(effective.get("target_latency_ns"), 1e-6)
    if scenario == "MultiStream":
        candidates["samples_per_query"] = effective.get("samples_per_query")
    for name, value in candidates.items():
        if value is None:
            continue
        try:
            BenchSettings(**{**values, name: value})
        except ValidationError:
            continue
        values[name] = value
    return BenchSettings(**values)


def _seed(effective: dict[str, Any]) -> int | None:
    """``BenchSettings.seed``: None for a round's official seeds (as for a run that used
    mlperf.conf's), the one value when all three are it (``--seed``), else None (the three
    stay in the effective settings)."""
    seeds = {k: effective.get(k) for k in rules.SEED_KEYS}
    if rules.round_for_seeds({k: v for k, v in seeds.items() if isinstance(v, int)}):
        return None
    values = set(seeds.values())
    if len(values) == 1:
        (value,) = values
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def _number(value: Any, scale: float = 1.0) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    scaled = float(value) * scale
    return scaled if math.isfinite(scaled) and scaled > 0 else None


# accuracy.txt: the line each benchmark's accuracy script prints, as the checker reads it:
# (metric, pattern, divisor). A percentage becomes a fraction, as Reef's metrics are.
_ACCURACY = (
    ("top1", re.compile(r"^\{?\"?accuracy\"?\s*[:=]\s*([\d.]+)"), 100.0),
    ("mAP", re.compile(r"(?:mAP\s*=|'Total':)\s*([\d.]+)"), 100.0),
    ("f1", re.compile(r"[\"']f1[\"']\s*:\s*([\d.]+)"), 100.0),
    ("auc", re.compile(r"^AUC\s*=\s*([\d.]+)"), 100.0),
    ("word_accuracy", re.compile(r"Word Error Rate:.*accuracy=([\d.]+)%"), 100.0),
    ("dice", re.compile(r"Accuracy:\s*mean\s*=\s*([\d.]+)"), 1.0),
    ("rouge1", re.compile(r"'rouge1':\s*'?([\d.]+)"), 1.0),
    ("bleu", re.compile(r"^BLEU:\s*([\d.]+)"), 1.0),
)
# The line ``reef export mlperf`` adds: the run's own metric and figure, unrounded.
_REEF_METRIC = re.compile(r"^# Reef metric (\S+): (\S+)$")
_TOTAL = re.compile(r"\btotal\s*=\s*(\d+)")


def _accuracy(where: _Where, files: dict[str, Path], notes: list[str]) -> Accuracy | None:
    """The accuracy ``accuracy.txt`` reports, judged against the closed division's target
    where the benchmark has one; the folder's logs join the run's files."""
    from reef.meta.run import Accuracy

    folder = _inside(where.folder / ACCURACY_DIR, where.root)
    if not folder.is_dir():
        notes.append(f"no {ACCURACY_DIR}/ folder: accuracy not imported")
        return None
    detail = folder / DETAIL
    if detail.is_file():
        _parse(detail, _read(detail, "LoadGen detail log", DETAIL_MAX_BYTES, where.root))
    for name in (SUMMARY, DETAIL, ACCURACY_LOG, ACCURACY_TXT):
        path = folder / name
        if not path.is_file():
            continue
        size = _inside(path, where.root).stat().st_size
        if size > COPY_MAX_BYTES:
            notes.append(
                f"{ACCURACY_DIR}/{name} not copied: {size:,} bytes, over the import's cap of "
                f"{COPY_MAX_BYTES:,}"
            )
            continue
        files[f"{ACCURACY_DIR}/{name}"] = path
    text_file = folder / ACCURACY_TXT
    if not text_file.is_file():
        notes.append(f"no {ACCURACY_DIR}/{ACCURACY_TXT}: accuracy not imported")
        return None
    raw = _read(text_file, "accuracy.txt", ACCURACY_TXT_MAX_BYTES, where.root)
    text = raw.decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines()]
    figure = _reef_figure(lines) or _figure(lines, where)
    if figure is None:
        notes.append(f"{text_file}: no accuracy figure Reef reads")
        return None
    metric, value = figure
    total = next((int(m.group(1)) for line in lines if (m := _TOTAL.search(line))), 0)
    return Accuracy(
        metric=metric,
        value=value,
        samples=total,
        passed=_meets_target(lines, where) if where.division == "closed" else None,
    )


def _reef_figure(lines: list[str]) -> tuple[str, float] | None:
    for line in lines:
        match = _REEF_METRIC.match(line)
        if match:
            try:
                return match.group(1), float(match.group(2))
            except ValueError:
                return None
    return None


def _figure(lines: list[str], where: _Where) -> tuple[str, float] | None:
    """The first accuracy line's metric and figure, a percentage made a fraction; a
    benchmark whose target is a fraction (rgat's accuracy, pointpainting's mAP) prints one."""
    name = rules.benchmark_for_model(where.benchmark)
    fraction = name is not None and rules.BENCHMARKS[name].targets[0][1] <= 1.0
    for line in lines:
        for metric, pattern, divisor in _ACCURACY:
            match = pattern.search(line)
            if match is None:
                continue
            try:
                return metric, round(float(match.group(1)) / (1.0 if fraction else divisor), 10)
            except ValueError:
                continue
    return None


def _meets_target(lines: list[str], where: _Where) -> bool | None:
    """Whether the figure the checker reads reaches the closed division's target for the
    benchmark (``reef.mlperf.rules``); None for a benchmark Reef has no target for."""
    name = rules.benchmark_for_model(where.benchmark)
    if name is None:
        return None
    metric, least = rules.BENCHMARKS[name].targets[0]
    pattern = rules.ACCURACY_PATTERNS.get(metric)
    if pattern is None:
        return None
    for line in lines:
        match = re.match(pattern, line)
        if match:
            try:
                return float(match.group(1)) >= least
            except ValueError:
                return None
    return None


def _system(where: _Where, notes: list[str]) -> dict[str, Any]:
    """``systems/SYSTEM.json``; ``{}`` (with a note) when the tree has none."""
    path = _inside(where.submitter_dir / "systems" / f"{where.system}.json", where.root)
    if not path.is_file():
        notes.append(f"no systems/{where.system}.json: the system is not described")
        return {}
    raw = _read(path, "system description", SYSTEM_MAX_BYTES, where.root)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(
            [Problem(str(path), "", f"not a system description: not JSON ({exc})")]
        ) from exc
    if not isinstance(data, dict):
        raise ManifestError([Problem(str(path), "", "not a system description: not a JSON object")])
    return data


def _environment(system: dict[str, Any], where: _Where) -> dict[str, Any]:
    """The system description in the shape of Reef's environment fingerprint, where its
    fields map onto it (the hardware label, ``reef runs show``), and whole under
    ``mlperf_system``."""
    if not system:
        return {}

    def text(key: str) -> str | None:
        value = system.get(key)
        return str(value).strip() if value not in (None, "") else None

    cpu: dict[str, Any] = {"model": text("host_processor_model_name")}
    cores, sockets = (
        _count(system.get("host_processor_core_count")),
        _count(system.get("host_processors_per_node")),
    )
    if cores is not None:
        cpu["logical_cores"] = cores * (sockets or 1)
    devices: list[dict[str, str]] = []
    accelerator = text("accelerator_model_name")
    count = _count(system.get("accelerators_per_node")) or 0
    if accelerator and accelerator.lower() not in ("n/a", "na", "none", "-") and count > 0:
        devices = [{"name": accelerator}] * count
    return {
        "hardware": {"cpu": cpu, "gpu": {"devices": devices}},
        "os": {"system": {"name": text("operating_system")}},
        "software": {"framework": text("framework")},
        "mlperf_system": {"name": where.system, **system},
    }


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
