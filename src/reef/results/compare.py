"""Recorded runs side by side: the model of ``reef compare A B [C ...]`` and how it is built.

The first run (or the one ``baseline`` names) is the baseline; every other run is compared
with it. Settings and metrics are laid side by side, environment differences are counted, and
latency is judged by the one rule of ``reef.results.decision`` (``decision``: reproduced,
differs or inconclusive, with the process as the unit when a run has several), beside the
query-level statistics of ``reef.results.verdict`` (``latency``). Runs that measure different
things (another scenario, model, batch size, ...) are still compared, with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    JsonValue,
    SerializerFunctionWrapHandler,
    computed_field,
    field_serializer,
    model_serializer,
)

from reef.errors import ResultsError
from reef.results.decision import LatencyDecision, decide
from reef.results.stats import JsonFloat
from reef.results.verdict import (
    LATENCY_METRICS,
    LatencyVerdict,
    latency_table,
    latency_verdict,
    ratio_to,
)

if TYPE_CHECKING:
    from reef.meta.run import RunRecord

__all__ = [
    "LATENCY_METRICS",
    "CompareError",
    "Comparison",
    "EnvironmentBrief",
    "EnvironmentGroup",
    "LatencyVerdict",
    "MetricRow",
    "RunInfo",
    "SettingRow",
    "Versus",
    "check_request",
    "compare_records",
]

# Environment keys named per group; the rest are counted.
ENV_KEYS_SHOWN = 3
# Settings whose difference changes what a latency figure means, with the words for them.
_MEANING = {"batch_size": "batch size", "threads": "threads", "backend": "backend"}


class Difference(Protocol):
    """One environment fact that differs (``reef.environment.diff.Difference``)."""

    @property
    def group(self) -> str: ...
    @property
    def key(self) -> str: ...


# What differs between two environments: ``reef.environment.diff.diff``, which the caller
# passes in (results and environment are separate subsystems).
Differ = Callable[[dict[str, Any], dict[str, Any]], Sequence[Difference]]


class CompareError(ResultsError):
    """The runs cannot be compared as asked (exit 2): nothing was compared or written."""


class RunInfo(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    label: str  # A, B, C, ... in the order given
    id: str
    model: str  # name@version
    scenario: str
    status: str
    created_at: str  # ISO 8601
    reasons: list[str]
    raw_latencies: int | None  # how many were kept; None when none were


class SettingRow(BaseModel):
    """One setting of every run, in run order; ``differs`` when any differs from another."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    values: list[JsonValue]
    differs: bool


class MetricRow(BaseModel):
    """One figure of every run, and each run's ratio to the baseline's (None: not comparable)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str  # a latency statistic (p50, ...), "throughput", "energy_per_sample", "accuracy"
    unit: str  # ms, samples/s, J, or the accuracy metric's name
    better: Literal["lower", "higher"]
    values: list[JsonFloat | None]
    ratios: list[JsonFloat | None]


class EnvironmentGroup(BaseModel):
    """What differs in one group of the environment: how many keys, and the first few."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    count: int
    keys: list[str]  # the first ``ENV_KEYS_SHOWN``


class EnvironmentBrief(BaseModel):
    """What differs between a run's environment and the baseline's, in brief: a count per
    group (hardware, os, software, ...) and the first few keys of each."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    differences: int
    groups: dict[str, EnvironmentGroup]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def identical(self) -> bool:
        return self.differences == 0

    @property
    def counts(self) -> dict[str, int]:
        return {name: group.count for name, group in self.groups.items()}

    @property
    def keys(self) -> dict[str, list[str]]:
        return {name: group.keys for name, group in self.groups.items()}

    @model_serializer(mode="wrap")
    def _identical_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)  # a computed field comes last: put it first
        first = {"identical": data.pop("identical")} if "identical" in data else {}
        return first | data


class Versus(BaseModel):
    """One run compared with the baseline."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    label: str
    id: str
    latency: LatencyVerdict
    environment: EnvironmentBrief
    decision: LatencyDecision  # the one rule's verdict (reef.results.decision)


class Comparison(BaseModel):
    """Runs side by side; ``baseline`` is the index in ``runs`` of the run the others are
    compared with (its label in JSON)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    baseline: int  # index into ``runs``
    metric: str
    alpha: float
    tolerance: float
    runs: list[RunInfo]
    settings: list[SettingRow]
    metrics: list[MetricRow]
    versus: list[Versus]  # every run but the baseline, in run order
    warnings: list[str]

    @field_serializer("baseline", when_used="json")
    def _baseline_label(self, baseline: int) -> str:
        return self.runs[baseline].label


def check_request(refs: Sequence[str], baseline: int, alpha: float, tolerance: float) -> None:
    """Refuse a comparison that cannot be made as asked, before any run is read."""
    if len(refs) < 2:
        got = "none" if not refs else f"only {refs[0]!r}"
        raise CompareError(
            f"compare needs at least two runs, got {got}",
            hint="reef compare A B [C ...]; `reef runs list` shows the recorded runs",
        )
    if not 0 <= baseline < len(refs):
        raise CompareError(
            f"baseline must be a run index from 0 to {len(refs) - 1}, not {baseline}"
        )
    if not 0 < alpha < 1:
        raise CompareError(f"--alpha must be between 0 and 1, got {alpha:g}")
    if not 0 <= tolerance < 1:
        raise CompareError(f"--tolerance must be a fraction from 0 to 1, got {tolerance:g}")


def compare_records(
    refs: Sequence[str],
    records: Sequence[RunRecord],
    differ: Differ,
    *,
    baseline: int = 0,
    metric: str = "p50",
    alpha: float = 0.05,
    tolerance: float = 0.05,
) -> Comparison:
    """Compare ``records`` (read for the ``refs`` given, in that order) with the one at index
    ``baseline``, their environments by ``differ``; ``check_request`` has accepted the
    parameters.

    ``metric`` is the latency statistic the headline ratio uses when a pair lacks raw
    latencies; with them it is always the ratio of medians. Raises ``CompareError`` for a run
    given twice or a statistic the runs lack.
    """
    runs = list(records)
    _refuse_duplicates(list(refs), runs)
    _check_metric(metric, runs)
    labels = [_label(i) for i in range(len(runs))]
    base = runs[baseline]
    versus = []
    for i, r in enumerate(runs):
        if i == baseline:
            continue
        latency = latency_verdict(base, r, labels[i], metric, alpha, tolerance)
        versus.append(
            Versus.model_construct(
                label=labels[i],
                id=r.id,
                latency=latency,
                environment=_environment(differ(base.environment, r.environment)),
                decision=decide(
                    base,
                    r,
                    labels[i],
                    metric=metric,
                    alpha=alpha,
                    tolerance=tolerance,
                    query_verdict=latency,
                ),
            )
        )
    return Comparison.model_construct(
        baseline=baseline,
        metric=metric,
        alpha=alpha,
        tolerance=tolerance,
        runs=[_info(label, r) for label, r in zip(labels, runs, strict=True)],
        settings=_settings(runs),
        metrics=_metrics(runs, baseline),
        versus=versus,
        warnings=_warnings(runs, labels),
    )


# --- checking the runs --------------------------------------------------------------------------


def _refuse_duplicates(refs: list[str], records: list[RunRecord]) -> None:
    seen: dict[str, str] = {}
    for ref, record in zip(refs, records, strict=True):
        if record.id in seen:
            first = seen[record.id]
            given = f"{first!r}" if first == ref else f"{first!r} and {ref!r}"
            raise CompareError(
                f"run {record.id} is given twice ({given})",
                hint="compare distinct runs; `reef runs list` shows the recorded runs",
            )
        seen[record.id] = ref


def _check_metric(metric: str, records: list[RunRecord]) -> None:
    have = _latency_keys(records)
    if metric not in have:
        raise CompareError(
            f"--metric: the runs have no latency statistic {metric!r}",
            hint="they have: " + ", ".join(have),
        )


def _latency_keys(records: list[RunRecord]) -> list[str]:
    """The latency statistics every run with latency figures has, in the usual order."""
    tables = [latency_table(r) for r in records]
    present = [t for t in tables if t is not None]
    if not present:
        return list(LATENCY_METRICS)
    common = set.intersection(*(set(t) for t in present))
    ordered = [k for k in LATENCY_METRICS if k in common]
    return ordered + sorted(common - set(LATENCY_METRICS))


# --- side by side -------------------------------------------------------------------------------


def _label(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"R{index + 1}"


def _model(record: RunRecord) -> str:
    t = record.target
    return f"{t.name}@{t.version}" if t.version else t.name


def _info(label: str, r: RunRecord) -> RunInfo:
    return RunInfo.model_construct(
        label=label,
        id=r.id,
        model=_model(r),
        scenario=r.scenario,
        status=r.status,
        created_at=r.created_at.isoformat(),
        reasons=list(r.reasons),
        raw_latencies=len(r.latencies_ns) if r.latencies_ns else None,
    )


def _setting_values(r: RunRecord) -> dict[str, Any]:
    p = r.predictor
    values: dict[str, Any] = {
        "model": _model(r),
        "model sha256": r.target.sha256[:16],
        "runs in": _runs_in(r),
        "backend": f"{p.name} {p.version}" if p else None,
        "providers": ", ".join(p.providers) if p and p.providers else None,
        "predictor options": dict(p.options) if p and p.options else None,
    }
    values.update(r.settings.model_dump(mode="json"))
    return values


def _runs_in(r: RunRecord) -> str:
    """Where the model ran: Reef's process, the server of an endpoint (a remote run), or
    nowhere here (a result imported from an MLPerf submission tree)."""
    if r.imported is not None:
        i = r.imported
        origin = " ".join(p for p in ("MLPerf", i.round, i.submitter) if p)
        return f"imported from {origin}, system {i.system} (not measured here)"
    e = r.target.endpoint
    if r.target.kind != "endpoint" or e is None:
        return "this process"
    server = " ".join(p for p in (e.server_name, e.server_version) if p)
    return f"endpoint {e.url}" + (f" ({server})" if server else "")


def _settings(records: list[RunRecord]) -> list[SettingRow]:
    per_run = [_setting_values(r) for r in records]
    names = list(per_run[0])
    for values in per_run[1:]:
        names.extend(n for n in values if n not in names)
    rows = []
    for name in names:
        row = [v.get(name) for v in per_run]
        rows.append(
            SettingRow.model_construct(name=name, values=row, differs=any(v != row[0] for v in row))
        )
    return rows


def _metrics(records: list[RunRecord], baseline: int) -> list[MetricRow]:
    tables = [latency_table(r) for r in records]
    rows = []
    for key in _latency_keys(records):
        values = [t.get(key) if t is not None else None for t in tables]
        rows.append(_row(key, "ms", "lower", values, baseline))
    throughput = [r.performance.throughput_qps if r.performance else None for r in records]
    rows.append(_row("throughput", "samples/s", "higher", throughput, baseline))
    energy = [r.energy.joules_per_sample if r.energy else None for r in records]
    if any(value is not None for value in energy):  # only where some run's counters were read
        rows.append(_row("energy_per_sample", "J", "lower", energy, baseline))
    base_acc = records[baseline].accuracy
    if any(r.accuracy is not None and r.accuracy.value is not None for r in records):
        names = sorted({r.accuracy.metric for r in records if r.accuracy is not None})
        accuracy = [r.accuracy.value if r.accuracy else None for r in records]
        row = _row("accuracy", "/".join(names), "higher", accuracy, baseline)
        # An accuracy is a ratio of another one only when it is the same metric.
        same = [
            r.accuracy is not None and base_acc is not None and r.accuracy.metric == base_acc.metric
            for r in records
        ]
        ratios = [x if ok else None for x, ok in zip(row.ratios, same, strict=True)]
        rows.append(
            MetricRow.model_construct(
                name=row.name, unit=row.unit, better=row.better, values=row.values, ratios=ratios
            )
        )
    return rows


def _row(
    name: str,
    unit: str,
    better: Literal["lower", "higher"],
    values: list[float | None],
    baseline: int,
) -> MetricRow:
    base = values[baseline]
    ratios = [ratio_to(v, base) for v in values]
    return MetricRow.model_construct(
        name=name, unit=unit, better=better, values=values, ratios=ratios
    )


def _environment(found: Sequence[Difference]) -> EnvironmentBrief:
    counts: dict[str, int] = {}
    keys: dict[str, list[str]] = {}
    for d in found:
        counts[d.group] = counts.get(d.group, 0) + 1
        shown = keys.setdefault(d.group, [])
        if len(shown) < ENV_KEYS_SHOWN:
            shown.append(d.key)
    groups = {g: EnvironmentGroup.model_construct(count=n, keys=keys[g]) for g, n in counts.items()}
    return EnvironmentBrief.model_construct(differences=len(found), groups=groups)


# --- warnings -----------------------------------------------------------------------------------


def _warnings(records: list[RunRecord], labels: list[str]) -> list[str]:
    out = []

    def differing(what: str, values: list[Any], why: str) -> None:
        if any(v != values[0] for v in values):
            listed = ", ".join(
                f"{label} {'default' if v is None else v}"
                for label, v in zip(labels, values, strict=True)
            )
            out.append(f"runs differ in {what} ({listed}): {why}")

    differing(
        "scenario",
        [r.scenario for r in records],
        "latencies of different scenarios measure different things",
    )
    differing("model", [_model(r) for r in records], "they measure different models")
    if len({_model(r) for r in records}) == 1:
        differing(
            "model file",
            [r.target.sha256[:12] for r in records],
            "the same model name was run from different files",
        )
    remote = ["endpoint" if r.target.kind == "endpoint" else "in process" for r in records]
    differing(
        "where the model ran",
        remote,
        "an endpoint's latencies include HTTP and its server's queueing and batching",
    )
    settings = [_setting_values(r) for r in records]
    for key, words in _MEANING.items():
        values = [s.get(key) for s in settings]
        if key == "backend" and len(set(remote)) > 1:
            continue  # said above: the endpoint's backend is the protocol
        if key == "backend":
            values = [r.predictor.name if r.predictor else None for r in records]
        differing(words, values, "that changes what a latency means")
    differing(
        "trace level",
        [r.trace.level if r.trace is not None else "none" for r in records],
        "tracing adds its own cost to each query",
    )
    for label, r in zip(labels, records, strict=True):
        if r.status != "valid":
            why = f": {'; '.join(r.reasons)}" if r.reasons else ""
            out.append(f"{label} ({r.id[:8]}) is {r.status}{why}")
    return out
