"""The one rule for a latency verdict: ``reproduced``, ``differs`` or ``inconclusive``.

``reef compare`` and ``reef reproduce`` judge latency here, so that one pair of runs gets one
verdict whichever command asks (solution checks, which hold one run against a threshold, say
what its figure rests on: a busy machine, the spread between processes). In order:

1. A run with no latency figures cannot be judged: ``inconclusive``, naming it.
2. A run measured on a busy machine (its ``interference`` says so) cannot vouch for its
   latencies: ``inconclusive``, with the reason and what to do (a quieter machine,
   ``--cpus``, ``reef env check``). The ratio is still shown.
3. With two processes or more on either side (``--repeat``), the process is the unit: the
   ratio of the medians of process medians (of their raw latencies when both runs kept them,
   else of LoadGen's ``metric``), with a hierarchical bootstrap interval
   (``reef.results.processes``).

   - ``differs`` when the interval excludes 1 and the ratio is beyond ``tolerance``;
   - ``reproduced`` when the interval lies within ``margin`` of 1, or of the tolerance when
     that is wider (no difference that large can hide in it);
   - otherwise ``inconclusive``: the spread between processes is wider than the difference,
     and more processes (``--repeat``) would narrow it.
4. With one process on each side, the queries of that process are the samples
   (``reef.results.verdict``: a rank test, an effect size, a bootstrap interval), and the
   verdict says plainly that its interval covers only the noise inside one process.

Older records, made before Reef kept interference or processes, still compare; the verdict
says what they lack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from reef.results.processes import ProcessLatency, compare_processes, processes_of

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.results.verdict import LatencyVerdict

Decision = Literal["reproduced", "differs", "inconclusive"]
Unit = Literal["process", "query", "summary", "none"]

# "Reproduced" with processes as the unit: the interval lies within this much of 1.
MARGIN = 0.10
_DASH = "\u2013"

ONE_SIDE = (
    "one side is a single process: the spread between its processes is unknown, so the "
    "interval shows only the other side's; --repeat on both sides measures both"
)
ONE_PROCESS = (
    "one process on each side: the interval covers only the noise inside one process, not "
    "the spread between processes; --repeat N measures that"
)


class LatencyDecision(BaseModel):
    """The latency verdict of one run against a baseline, and everything it rests on."""

    verdict: Decision
    unit: Unit = Field(description="process, query (one process each), summary, or none")
    sentence: str = Field(description='"B is 1.12x slower (1.08-1.16; 5 vs 5 processes)"')
    ratio: float | None = Field(None, description="run / baseline: above 1 is slower")
    ci_low: float | None = None
    ci_high: float | None = None
    processes_a: int = 0
    processes_b: int = 0
    spread_a: float | None = Field(None, description="(slowest - fastest) / median process")
    spread_b: float | None = None
    causes: list[str] = Field(default_factory=list, description="why inconclusive")
    advice: str | None = Field(None, description="what to do about an inconclusive verdict")
    caveats: list[str] = Field(default_factory=list, description="what the verdict cannot see")
    detail: str = ""


def decide(
    base: RunRecord,
    other: RunRecord,
    label: str = "B",
    *,
    metric: str = "p50",
    alpha: float = 0.05,
    tolerance: float = 0.05,
    margin: float = MARGIN,
    query_verdict: LatencyVerdict | None = None,
) -> LatencyDecision:
    """``other`` (called ``label``) against ``base``. ``query_verdict``: the query-level verdict
    of the same pair with the same parameters, when the caller made it already."""
    caveats = _missing_interference(base, other, label)
    # Raw timings only when both sides kept them: they and LoadGen's figures are different
    # quantities (in Offline, compute time per batch against time to answer).
    raw = bool(base.latencies_ns and other.latencies_ns)
    procs_a = processes_of(base, raw=raw, metric=metric)
    procs_b = processes_of(other, raw=raw, metric=metric)
    if not procs_a or not procs_b:
        who = "the baseline" if not procs_a else label
        status = (base if not procs_a else other).status
        return LatencyDecision(
            verdict="inconclusive",
            unit="none",
            sentence=f"inconclusive: {who} has no latency figures",
            causes=[f"{who} has no latency figures (status {status})"],
            advice="compare runs that measured performance",
            caveats=caveats,
        )
    if len(procs_a) >= 2 or len(procs_b) >= 2:
        statistic = "median" if raw else metric
        found = _by_process(
            procs_a, procs_b, label, alpha, tolerance, max(margin, tolerance), statistic
        )
    else:
        found = _by_query(base, other, label, metric, alpha, tolerance, query_verdict)
    found.caveats = caveats + found.caveats
    busy = _busy(base, other, label)
    if busy:
        found.causes = busy + found.causes
        shown = f"; measured: {found.sentence}" if found.verdict != "inconclusive" else ""
        found.verdict = "inconclusive"
        found.sentence = f"inconclusive: {busy[0]}{shown}"
        found.advice = (
            "measure again on a quieter machine (`reef env check` says what makes it noisy), "
            "or on cores of the run's own (--cpus)"
        )
    return found


def _busy(base: RunRecord, other: RunRecord, label: str) -> list[str]:
    return [
        f"{who} was measured on a busy machine ({r.interference.reason})"
        for who, r in (("the baseline", base), (label, other))
        if r.interference is not None and r.interference.busy
    ]


def _missing_interference(base: RunRecord, other: RunRecord, label: str) -> list[str]:
    lacking = [who for who, r in (("the baseline", base), (label, other)) if r.interference is None]
    if not lacking:
        return []
    return [
        f"{' and '.join(lacking)} kept no interference record (made before Reef recorded "
        "it): a busy machine cannot be ruled out"
    ]


def _times(ratio: float) -> tuple[float, str]:
    return (ratio, "slower") if ratio >= 1 else (1 / ratio, "faster")


def _by_process(
    a: list[ProcessLatency],
    b: list[ProcessLatency],
    label: str,
    alpha: float,
    tolerance: float,
    margin: float,
    statistic: str,
) -> LatencyDecision:
    result = compare_processes(a, b, alpha=alpha)
    counts = f"{result.processes_a} vs {result.processes_b} processes"
    interval = f"{result.ci_low:.2f}{_DASH}{result.ci_high:.2f}"
    spreads = ", ".join(
        f"{who} {s:.0%}"
        for who, s in (("baseline", result.spread_a), (label, result.spread_b))
        if s is not None
    )
    of = "medians" if statistic == "median" else f"{statistic}s (LoadGen's)"
    detail = (
        f"median of process {of} {result.median_a_ms:.4g} -> {result.median_b_ms:.4g} ms; "
        f"ratio {result.ratio:.3f} ({interval}, {result.confidence:.0%} hierarchical bootstrap)"
        + (f"; spread between processes: {spreads}" if spreads else "")
    )
    common = {
        "unit": "process",
        "ratio": result.ratio,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "processes_a": result.processes_a,
        "processes_b": result.processes_b,
        "spread_a": result.spread_a,
        "spread_b": result.spread_b,
        "detail": detail,
        "caveats": [ONE_SIDE] if min(result.processes_a, result.processes_b) == 1 else [],
    }
    excludes_one = result.ci_low > 1 or result.ci_high < 1
    beyond = result.ratio > 1 + tolerance or result.ratio < 1 / (1 + tolerance)
    if excludes_one and beyond:
        times, way = _times(result.ratio)
        low, high = sorted(_times(x)[0] for x in (result.ci_low, result.ci_high))
        return LatencyDecision(
            verdict="differs",
            sentence=f"{label} is {times:.2f}x {way} ({low:.2f}{_DASH}{high:.2f}; {counts})",
            **common,
        )
    if 1 / (1 + margin) <= result.ci_low and result.ci_high <= 1 + margin:
        return LatencyDecision(
            verdict="reproduced",
            sentence=f"no difference beyond {margin:.0%} (ratio {result.ratio:.2f}, "
            f"{interval}; {counts})",
            **common,
        )
    fewest = min(result.processes_a, result.processes_b)
    cause = (
        f"the spread between processes ({spreads or 'one side has one process'}) leaves the "
        f"ratio anywhere in {interval}: wider than the difference"
    )
    return LatencyDecision(
        verdict="inconclusive",
        sentence=f"inconclusive: ratio {result.ratio:.2f} ({interval}; {counts})",
        causes=[cause],
        advice=f"measure more processes (--repeat {max(2 * fewest, 5)}), pin them (--cpus), or "
        "use a quieter machine",
        **common,
    )


def _by_query(
    base: RunRecord,
    other: RunRecord,
    label: str,
    metric: str,
    alpha: float,
    tolerance: float,
    found: LatencyVerdict | None,
) -> LatencyDecision:
    from reef.results.verdict import latency_verdict

    if found is None:
        found = latency_verdict(base, other, label, metric, alpha, tolerance)
    unit: Unit = "query" if found.method == "raw" else "summary"
    common = {
        "unit": unit,
        "ratio": found.ratio,
        "ci_low": found.ci_low,
        "ci_high": found.ci_high,
        "processes_a": 1,
        "processes_b": 1,
        "detail": found.detail,
        "caveats": [ONE_PROCESS],
    }
    if found.verdict in ("slower", "faster"):
        return LatencyDecision(verdict="differs", sentence=found.sentence, **common)
    if found.verdict == "same":
        return LatencyDecision(verdict="reproduced", sentence=found.sentence, **common)
    return LatencyDecision(
        verdict="inconclusive",
        sentence=f"inconclusive: {found.sentence}",
        causes=[found.detail],
        advice="compare runs that measured performance",
        **common,
    )
