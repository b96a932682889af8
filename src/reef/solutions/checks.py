"""Checks: whether a solution's benchmark result holds.

A check is built from a solution's ``checks`` entry (``uses`` and ``with``) before anything runs,
so a typo in a parameter or an unknown metric is refused up front rather than after a long
benchmark. Built checks take a ``CheckContext`` (the runs, the solution's folder, the steps'
outputs) and return one ``CheckResult`` per run they apply to. A check that finds no run to
judge fails: a check that silently passes on nothing would hide a broken solution.

Built-ins live in ``_BUILTINS``; other packages add checks under the ``reef.checks``
entry-point group (``CHECKS``, its group in ``reef.plugins``: loaded on first use, and a plugin
with a built-in's name is not used). An entry point loads to a ``Factory``: it takes the
``with`` parameters, validates them (raising ``ValueError``, ``TypeError`` or ``CheckError``)
and returns the check function.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reef.errors import PluginError, Problem, ReefError, SolutionError
from reef.meta.run import RunRecord
from reef.meta.settings import Scenario
from reef.meta.solution import CheckSpec
from reef.plugins import PluginGroup, refresh

GROUP = "reef.checks"

LATENCY_METRICS = ("min", "mean", "p50", "p90", "p95", "p99", "max")
GOLDEN_FORMATS = (".npy", ".npz", ".json", ".txt", ".csv")


@dataclass(frozen=True)
class CheckContext:
    """What checks judge: the runs, and where the solution's files and step outputs are."""

    records: Sequence[RunRecord]
    solution_dir: Path | None = None
    outputs: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """One check applied to one run: what was found against what was expected."""

    check: str
    uses: str
    passed: bool
    value: str
    expected: str
    subject: str = ""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


CheckFn = Callable[[CheckContext], list[CheckResult]]
Factory = Callable[[dict[str, Any]], CheckFn]


class CheckError(SolutionError):
    """A check could not be built: unknown ``uses``, or bad parameters.

    ``issues`` holds (field, message) pairs; the field is relative to the check entry, e.g.
    ``uses`` or ``with.percentile``, so that callers can point at the exact spot in a file.
    """

    def __init__(
        self, message: str, hint: str | None = None, issues: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(message, hint)
        self.issues = issues or [("", message)]


class CheckPluginError(PluginError, CheckError):
    """A check plugin could not be loaded, or is not a factory (exit 3)."""

    def __init__(self, **fields: Any) -> None:
        super().__init__(**fields)
        self.issues = [("uses", self.message)]


# --- building -------------------------------------------------------------------------------


def build_check(uses: str, params: dict[str, Any], name: str | None = None) -> CheckFn:
    """The check function for one ``checks`` entry; raises ``CheckError`` on bad input.

    ``name``, when given, replaces the generated label of every result.
    """
    own = dict(params)
    fn = CHECKS.load(uses)(own) if uses in _BUILTINS else _build_plugin(uses, own)
    return _labelled(fn, uses, name)


def known_checks() -> list[str]:
    return CHECKS.names()


def check_problems(checks: Sequence[CheckSpec], file: str) -> list[Problem]:
    """Every problem in a solution's checks, found without running anything."""
    problems: list[Problem] = []
    for i, spec in enumerate(checks):
        try:
            build_check(spec.uses, spec.with_, spec.name)
        except CheckError as exc:
            for where, message in exc.issues:
                location = f"checks[{i}].{where}" if where else f"checks[{i}]"
                problems.append(Problem(file, location, message))
    return problems


def run_checks(checks: Sequence[CheckSpec], ctx: CheckContext) -> list[CheckResult]:
    """Build every check first (a bad one stops all of them), then run each in order.

    A check that raises is reported as failed with the error, so that one broken plugin does
    not hide the results of the others.
    """
    built = [(spec, build_check(spec.uses, spec.with_, spec.name)) for spec in checks]
    results: list[CheckResult] = []
    for spec, fn in built:
        try:
            results.extend(fn(ctx))
        except Exception as exc:  # reported as a failed check, not swallowed
            label = spec.name or spec.uses
            results.append(
                CheckResult(
                    label, spec.uses, False, "error", "", detail=f"{type(exc).__name__}: {exc}"
                )
            )
    return results


def summary(results: Sequence[CheckResult]) -> tuple[int, int]:
    """(passed, failed) counts."""
    passed = sum(r.passed for r in results)
    return passed, len(results) - passed


def clear_plugin_cache() -> None:
    """Forget discovered plugins, e.g. after installing one in a running process (every
    group's: a package may add to any of them)."""
    refresh()


def _labelled(fn: CheckFn, uses: str, name: str | None) -> CheckFn:
    def check(ctx: CheckContext) -> list[CheckResult]:
        results = fn(ctx)
        if not isinstance(results, list) or not all(isinstance(r, CheckResult) for r in results):
            raise CheckError(f"check {uses!r} returned {type(results).__name__}, not results")
        return [replace(r, uses=uses, check=name or r.check) for r in results]

    return check


def _factory(name: str, obj: Any) -> Factory:
    if not callable(obj):
        raise TypeError(f"it provides {type(obj).__name__}, not a check factory")
    return obj  # type: ignore[no-any-return]


def _build_plugin(uses: str, params: dict[str, Any]) -> CheckFn:
    if uses not in CHECKS:
        message = f"unknown check {uses!r}; choose from {', '.join(known_checks())}"
        raise CheckError(
            message,
            hint=f"a plugin adds a check under the '{GROUP}' entry-point group",
            issues=[("uses", message)],
        )
    factory = CHECKS.load(uses)
    try:
        fn = factory(params)
    except CheckError:
        raise
    except (ValueError, TypeError) as exc:
        message = f"invalid parameters: {exc}"
        raise CheckError(f"check {uses!r}: {message}", issues=[("with", message)]) from exc
    if not callable(fn):
        message = f"its plugin returned {type(fn).__name__}, not a function"
        raise CheckError(f"check {uses!r}: {message}", issues=[("uses", message)])
    return fn


P = TypeVar("P", bound="_Params")


# --- parameters -----------------------------------------------------------------------------


class _Params(BaseModel):
    """Parameters every built-in takes: which runs it applies to."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    scenario: Scenario | None = None
    model: str | None = None


class _AccuracyParams(_Params):
    fraction: float | None = Field(None, gt=0, le=1)
    metric: str | None = None
    reference: float | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        from reef.bench.metrics import known_metrics

        if value is not None and value not in known_metrics():
            known = ", ".join(known_metrics())
            raise ValueError(f"unknown accuracy metric {value!r}; choose from {known}")
        return value


class _LatencyParams(_Params):
    percentile: str = "p90"
    max_ms: float = Field(gt=0)

    @field_validator("percentile")
    @classmethod
    def _known_percentile(cls, value: str) -> str:
        if value not in LATENCY_METRICS:
            raise ValueError(
                f"unknown latency metric {value!r}; choose from {', '.join(LATENCY_METRICS)}"
            )
        return value


class _ThroughputParams(_Params):
    min_qps: float = Field(gt=0)


class _GoldenParams(_Params):
    actual: str
    expected: str
    rtol: float = Field(1e-5, ge=0)
    atol: float = Field(1e-8, ge=0)

    @field_validator("actual")
    @classmethod
    def _actual(cls, value: str) -> str:
        _split_actual(value)
        return value

    @field_validator("expected")
    @classmethod
    def _expected(cls, value: str) -> str:
        _relative_inside(value)
        if PurePosixPath(value).suffix.lower() not in GOLDEN_FORMATS:
            raise ValueError(f"{value!r}: golden files must end in {', '.join(GOLDEN_FORMATS)}")
        return value

    @model_validator(mode="after")
    def _filters_need_runs(self) -> _GoldenParams:
        if (self.scenario or self.model) and _split_actual(self.actual)[0] != "run":
            raise ValueError("scenario and model apply only when actual uses {run.ARTIFACT}")
        return self


def _parse(model: type[P], uses: str, params: dict[str, Any]) -> P:
    from reef.meta.load import field_path

    try:
        return model.model_validate(params)
    except ValidationError as exc:
        issues: list[tuple[str, str]] = []
        for err in exc.errors(include_url=False):
            where = field_path(tuple(err["loc"]))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(model.model_fields)
                message = f"unknown parameter {where!r}; {uses} takes {allowed}"
            elif err["type"] == "missing":
                message = "required parameter is missing"
            issues.append((f"with.{where}" if where else "with", message))
        text = "; ".join(f"{w}: {m}" for w, m in issues)
        raise CheckError(f"check {uses!r}: {text}", issues=issues) from exc


# --- selecting runs -------------------------------------------------------------------------


def select_records(ctx: CheckContext, scenario: str | None, model: str | None) -> list[RunRecord]:
    """The runs a check applies to; plugins use it to honour the same filters."""
    return [
        r
        for r in ctx.records
        if (scenario is None or r.settings.scenario == scenario)
        and (model is None or r.target.name == model)
    ]


def subject(record: RunRecord) -> str:
    return f"{record.target.name} {record.settings.scenario} (run {record.id[:8]})"


def _nothing_to_check(label: str, uses: str, expected: str, p: _Params) -> CheckResult:
    of = f" of {p.model}" if p.model else ""
    in_ = f" in {p.scenario}" if p.scenario else ""
    detail = f"no run{of}{in_} to check"
    return CheckResult(label, uses, False, "no run", expected, detail=detail)


def _per_record(
    p: _Params,
    uses: str,
    label: str,
    expected: str,
    judge: Callable[[CheckContext, RunRecord], CheckResult],
) -> CheckFn:
    def check(ctx: CheckContext) -> list[CheckResult]:
        records = select_records(ctx, p.scenario, p.model)
        if not records:
            return [_nothing_to_check(label, uses, expected, p)]
        return [replace(judge(ctx, r), subject=subject(r)) for r in records]

    return check


def _no_performance(label: str, uses: str, expected: str, record: RunRecord) -> CheckResult:
    reasons = "; ".join(record.reasons)
    detail = f"the run has no performance results (status {record.status})"
    return CheckResult(
        label, uses, False, "none", expected, detail=f"{detail}: {reasons}".rstrip(": ")
    )


# --- the built-in checks --------------------------------------------------------------------


def accuracy(params: dict[str, Any]) -> CheckFn:
    """The run's accuracy reaches ``fraction`` of the reference (or stays within it)."""
    p = _parse(_AccuracyParams, "accuracy", params)
    label = " ".join(
        x for x in ("accuracy", p.metric, p.fraction and f"within {p.fraction:g} of reference") if x
    )
    return _per_record(p, "accuracy", label, "", lambda _, r: _judge_accuracy(p, label, r))


def _judge_accuracy(p: _AccuracyParams, label: str, record: RunRecord) -> CheckResult:
    from reef.bench.metrics import get_metric

    def failed(value: str, detail: str, expected: str = "") -> CheckResult:
        return CheckResult(label, "accuracy", False, value, expected, detail=detail)

    acc = record.accuracy
    if acc is None or acc.value is None:
        note = acc.note if acc is not None and acc.note else "the run measured no accuracy"
        return failed("none", note)
    value = f"{acc.value:.4f} {acc.metric}"
    if p.metric is not None and acc.metric != p.metric:
        return failed(value, f"the run measured {acc.metric}, not {p.metric}")
    reference = p.reference if p.reference is not None else acc.reference
    if reference is None:
        return failed(value, "no reference value to compare with; give with.reference")
    fraction = p.fraction or acc.threshold or 0.99
    try:
        metric = get_metric(acc.metric)
    except ReefError as exc:
        return failed(value, exc.message)
    if metric.higher_is_better:
        expected = f">= {reference * fraction:.4f} ({fraction:g} x {reference:.4f})"
    else:
        expected = f"<= {reference / fraction:.4f} ({reference:.4f} / {fraction:g})"
    passed = metric.passes(acc.value, reference, fraction)
    return CheckResult(label, "accuracy", passed, value, expected)


def latency(params: dict[str, Any]) -> CheckFn:
    """A latency percentile of the run stays within ``max_ms``."""
    p = _parse(_LatencyParams, "latency", params)
    expected = f"<= {p.max_ms:g} ms"
    label = f"latency {p.percentile} {expected}"

    def judge(_: CheckContext, record: RunRecord) -> CheckResult:
        if record.performance is None:
            return _no_performance(label, "latency", expected, record)
        found = float(getattr(record.performance.latency_ms, p.percentile))
        return CheckResult(
            label, "latency", found <= p.max_ms, _ms(found), expected, detail=_noise(record)
        )

    return _per_record(p, "latency", label, expected, judge)


def throughput(params: dict[str, Any]) -> CheckFn:
    """The run's throughput reaches ``min_qps``."""
    p = _parse(_ThroughputParams, "throughput", params)
    expected = f">= {p.min_qps:g} qps"
    label = f"throughput {expected}"

    def judge(_: CheckContext, record: RunRecord) -> CheckResult:
        if record.performance is None:
            return _no_performance(label, "throughput", expected, record)
        qps = record.performance.throughput_qps
        return CheckResult(
            label,
            "throughput",
            qps >= p.min_qps,
            f"{qps:,.1f} qps",
            expected,
            detail=_noise(record),
        )

    return _per_record(p, "throughput", label, expected, judge)


def loadgen(params: dict[str, Any]) -> CheckFn:
    """LoadGen judged the run VALID (its latency bounds, durations and query counts held)."""
    p = _parse(_Params, "loadgen", params)
    label, expected = "loadgen VALID", "VALID"

    def judge(_: CheckContext, record: RunRecord) -> CheckResult:
        result = record.loadgen.result if record.loadgen is not None else None
        if result == "VALID":
            return CheckResult(label, "loadgen", True, "VALID", expected)
        reasons = record.loadgen.reasons if record.loadgen is not None else []
        reasons = reasons or record.reasons or ["no LoadGen result recorded"]
        return CheckResult(
            label, "loadgen", False, result or "none", expected, detail="; ".join(reasons)
        )

    return _per_record(p, "loadgen", label, expected, judge)


def golden(params: dict[str, Any]) -> CheckFn:
    """A produced file equals a golden file of the solution, within ``rtol`` and ``atol``."""
    p = _parse(_GoldenParams, "golden", params)
    label = f"golden {p.expected}"
    expected = f"rtol {p.rtol:g}, atol {p.atol:g}"
    per_run = _split_actual(p.actual)[0] == "run"

    def judge(ctx: CheckContext, record: RunRecord | None) -> CheckResult:
        try:
            wanted = _resolve_expected(p.expected, ctx)
            actual = _resolve_actual(p.actual, ctx, record)
        except _Missing as exc:
            return CheckResult(label, "golden", False, "missing", expected, detail=str(exc))
        return _judge_golden(label, expected, actual, wanted, p.rtol, p.atol)

    if per_run:
        return _per_record(p, "golden", label, expected, judge)

    def check(ctx: CheckContext) -> list[CheckResult]:
        return [judge(ctx, None)]

    return check


_BUILTINS: dict[str, Factory] = {
    "accuracy": accuracy,
    "latency": latency,
    "throughput": throughput,
    "loadgen": loadgen,
    "golden": golden,
}
CHECKS: PluginGroup[Factory] = PluginGroup(
    GROUP, kind="check", builtins=_BUILTINS, error=CheckPluginError, accept=_factory
)


def _noise(record: RunRecord) -> str:
    """What a latency or throughput figure rests on, when it is shaky: a busy machine (the
    run's interference), or the spread between the processes of a repeated run."""
    notes = []
    if record.interference is not None and record.interference.busy:
        notes.append(f"measured on a busy machine ({record.interference.reason})")
    if len(record.processes) >= 2:
        from reef.results.processes import processes_of, spread

        found = spread(processes_of(record, raw=bool(record.latencies_ns)))
        if found is not None:
            notes.append(f"median of {len(record.processes)} processes, spread {found:.0%}")
    return "; ".join(notes)


def _ms(value: float) -> str:
    return f"{value:,.2f} ms" if value >= 1 else f"{value:.3g} ms"


# --- golden files ---------------------------------------------------------------------------

# {steps.NAME} or {run.ARTIFACT}, only as the first part of a path.
_PLACEHOLDER = re.compile(r"^\{(steps|run)\.([A-Za-z0-9_.-]+)\}(?:/(.*))?$")


class _Missing(Exception):
    """A file a golden check needs is not there: a failed check, not an error."""


@dataclass
class _Diff:
    """What comparing two files found: the first mismatch (if any) and the largest difference."""

    mismatch: str = ""
    max_abs: float = 0.0

    def numbers(self, where: str, found: float, wanted: float, rtol: float, atol: float) -> None:
        if math.isnan(found) and math.isnan(wanted):
            return
        diff = abs(found - wanted)
        if not math.isnan(diff) and not math.isinf(diff):
            self.max_abs = max(self.max_abs, diff)
        close = found == wanted or diff <= atol + rtol * abs(wanted)
        if not close:
            self.fail(where, f"{found!r} vs expected {wanted!r}")

    def fail(self, where: str, message: str) -> None:
        if not self.mismatch:
            self.mismatch = f"{where}: {message}" if where else message


def _split_actual(value: str) -> tuple[str, str, str]:
    """('steps' | 'run' | '', placeholder name, the rest of the path)."""
    match = _PLACEHOLDER.match(value)
    if match:
        rest = match.group(3) or ""
        if rest:
            _relative_inside(rest)
        return match.group(1), match.group(2), rest
    if "{" in value or "}" in value:
        raise ValueError(
            f"{value!r}: a placeholder must start the path and be {{steps.NAME}} or "
            "{run.ARTIFACT}"
        )
    _relative_inside(value)
    return "", "", value


def _relative_inside(value: str) -> None:
    path = PurePosixPath(value.replace("\\", "/"))
    if not value or path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", value):
        raise ValueError(f"{value!r}: give a path inside the solution's folder, without '..'")


def _resolve_actual(actual: str, ctx: CheckContext, record: RunRecord | None) -> Path:
    kind, name, rest = _split_actual(actual)
    if kind == "steps":
        if name not in ctx.outputs:
            raise _Missing(f"step {name!r} has no output folder: it did not run in this run")
        base = Path(ctx.outputs[name])
    elif kind == "run" and record is not None:
        if name not in record.artifacts:
            have = ", ".join(sorted(record.artifacts)) or "none"
            raise _Missing(f"the run has no artifact {name!r} (it has: {have})")
        base = Path(record.artifacts[name])
        if not base.is_absolute():
            from reef.config import runs_dir

            base = runs_dir() / record.id / base
    else:
        base = _solution_dir(ctx)
    path = base / rest if rest else base
    if not path.is_file():
        raise _Missing(f"{path}: no such file")
    return path


def _resolve_expected(expected: str, ctx: CheckContext) -> Path:
    path = _solution_dir(ctx) / expected
    if not path.is_file():
        raise _Missing(f"golden file {path} not found")
    return path


def _solution_dir(ctx: CheckContext) -> Path:
    if ctx.solution_dir is None:
        raise _Missing("no solution folder to find the file in")
    return ctx.solution_dir


def _judge_golden(
    label: str, expected: str, actual: Path, wanted: Path, rtol: float, atol: float
) -> CheckResult:
    import zipfile

    compare = _COMPARERS[wanted.suffix.lower()]
    try:
        diff = compare(actual, wanted, rtol, atol)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        detail = f"could not compare {actual} with {wanted}: {exc}"
        return CheckResult(label, "golden", False, "unreadable", expected, detail=detail)
    value = f"max abs diff {diff.max_abs:.3g}"
    if diff.mismatch:
        detail = f"first mismatch at {diff.mismatch}"
        return CheckResult(label, "golden", False, value, expected, detail=detail)
    return CheckResult(label, "golden", True, value, expected)


def _compare_npy(actual: Path, wanted: Path, rtol: float, atol: float) -> _Diff:
    import numpy as np

    diff = _Diff()
    found = np.load(actual, allow_pickle=False)
    golden_arr = np.load(wanted, allow_pickle=False)
    _compare_arrays(diff, "", found, golden_arr, rtol, atol)
    return diff


def _compare_npz(actual: Path, wanted: Path, rtol: float, atol: float) -> _Diff:
    import numpy as np

    diff = _Diff()
    with np.load(actual, allow_pickle=False) as found, np.load(wanted, allow_pickle=False) as gold:
        missing = sorted(set(gold.files) - set(found.files))
        extra = sorted(set(found.files) - set(gold.files))
        if missing or extra:
            diff.fail("arrays", f"missing {missing or 'none'}, unexpected {extra or 'none'}")
        for name in sorted(set(gold.files) & set(found.files)):
            _compare_arrays(diff, name, found[name], gold[name], rtol, atol)
    return diff


def _compare_arrays(
    diff: _Diff, name: str, found: Any, wanted: Any, rtol: float, atol: float
) -> None:
    import numpy as np

    if found.shape != wanted.shape:
        diff.fail(name or "shape", f"shape {found.shape} vs expected {wanted.shape}")
        return
    if found.dtype.kind in "biuf" and wanted.dtype.kind in "biuf":
        a, b = found.astype(np.float64), wanted.astype(np.float64)
        ok = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        with np.errstate(invalid="ignore"):
            gaps = np.abs(a - b)
        finite = gaps[np.isfinite(gaps)]
        if finite.size:
            diff.max_abs = max(diff.max_abs, float(finite.max()))
    else:
        ok = np.asarray(found == wanted, dtype=bool).reshape(found.shape)
    if not ok.all():
        index = tuple(int(i) for i in np.unravel_index(int(np.argmin(ok)), ok.shape))
        where = f"{name}[{', '.join(map(str, index))}]"
        got, want = found[index].item(), wanted[index].item()  # plain Python values read better
        diff.fail(where, f"{_short(got)} vs expected {_short(want)}")


def _compare_json(actual: Path, wanted: Path, rtol: float, atol: float) -> _Diff:
    import json

    diff = _Diff()
    found = json.loads(actual.read_text(encoding="utf-8"))
    gold = json.loads(wanted.read_text(encoding="utf-8"))
    _walk_json(diff, "$", found, gold, rtol, atol)
    return diff


def _walk_json(diff: _Diff, where: str, found: Any, wanted: Any, rtol: float, atol: float) -> None:
    if _is_number(found) and _is_number(wanted):
        diff.numbers(where, float(found), float(wanted), rtol, atol)
    elif isinstance(found, dict) and isinstance(wanted, dict):
        missing = sorted(set(wanted) - set(found))
        extra = sorted(set(found) - set(wanted))
        if missing or extra:
            diff.fail(where, f"missing keys {missing or 'none'}, unexpected {extra or 'none'}")
        for key in [k for k in wanted if k in found]:
            _walk_json(diff, f"{where}.{key}", found[key], wanted[key], rtol, atol)
    elif isinstance(found, list) and isinstance(wanted, list):
        if len(found) != len(wanted):
            diff.fail(where, f"{len(found)} items vs expected {len(wanted)}")
        for i, (f, w) in enumerate(zip(found, wanted, strict=False)):
            _walk_json(diff, f"{where}[{i}]", f, w, rtol, atol)
    elif type(found) is not type(wanted) or found != wanted:
        diff.fail(where, f"{_short(found)} vs expected {_short(wanted)}")


def _compare_text(actual: Path, wanted: Path, rtol: float, atol: float) -> _Diff:
    diff = _Diff()
    csv = wanted.suffix.lower() == ".csv"
    found, gold = _rows(actual, csv), _rows(wanted, csv)
    if len(found) != len(gold):
        diff.fail("", f"{len(found)} lines vs expected {len(gold)}")
    for n, (row, golden_row) in enumerate(zip(found, gold, strict=False), start=1):
        if len(row) != len(golden_row):
            diff.fail(f"line {n}", f"{len(row)} fields vs expected {len(golden_row)}")
            continue
        for k, (f, w) in enumerate(zip(row, golden_row, strict=True), start=1):
            where = f"line {n}, field {k}"
            fnum, wnum = _number(f), _number(w)
            if fnum is not None and wnum is not None:
                diff.numbers(where, fnum, wnum, rtol, atol)
            elif f != w:
                diff.fail(where, f"{f!r} vs expected {w!r}")
    return diff


def _rows(path: Path, csv_format: bool) -> list[list[str]]:
    """Fields per line; trailing blank lines do not count."""
    import csv

    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if csv_format:
        return [[field.strip() for field in row] for row in csv.reader(lines)]
    return [line.split() for line in lines]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_COMPARERS: dict[str, Callable[[Path, Path, float, float], _Diff]] = {
    ".npy": _compare_npy,
    ".npz": _compare_npz,
    ".json": _compare_json,
    ".txt": _compare_text,
    ".csv": _compare_text,
}
