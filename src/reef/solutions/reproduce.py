"""Judging a reproduction: is the new run the recorded one again, or does it differ, and why?

Four things are compared. The components must be byte-identical (content checksums). The
environments may differ and are listed, not judged: a newer kernel is not a failure, but a
reader must see it. Accuracy must be equal within the tolerance the model or solution allows.
Latency is judged by the one rule compare and solution checks use (``reef.results.decision``):
processes as the unit when either run has several, a busy machine or a spread between
processes wider than the difference giving ``inconclusive``.

The verdict: ``differs`` when anything differs (with every reason), else ``inconclusive`` when
latency could not be judged (with its causes and what to do), else ``reproduced``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from reef.meta.run import RunRecord

Verdict = Literal["reproduced", "differs", "inconclusive"]


class Reproduction(BaseModel):
    """A recorded run against its reproduction: the verdict, and what each part found."""

    original: str  # run ids
    reproduction: str
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    components: list[dict[str, Any]] = Field(default_factory=list)
    environment: list[dict[str, Any]] = Field(default_factory=list)  # the differences
    accuracy: dict[str, Any] | None = None
    latency: dict[str, Any] | None = None
    latency_summary: str = ""
    causes: list[str] = Field(
        default_factory=list, description="why the verdict is inconclusive, when it is"
    )
    advice: str | None = Field(None, description="what to do about an inconclusive verdict")
    caveats: list[str] = Field(
        default_factory=list, description="what the latency verdict cannot see"
    )


def accuracy_tolerance(record: RunRecord, fraction: float | None = None) -> float:
    """How far accuracy may move: what the pass rule allows below the reference (1 - the
    threshold, of the reference), the check's ``fraction`` when a solution gives one."""
    acc = record.accuracy
    if acc is None or acc.value is None:
        return 0.0
    share = fraction if fraction is not None else (acc.threshold or 0.99)
    base = acc.reference if acc.reference is not None else acc.value
    return abs(base) * (1.0 - share)


def compare(
    original: RunRecord,
    new: RunRecord,
    *,
    tolerance: float,
    alpha: float = 0.05,
    latency_tolerance: float = 0.05,
) -> Reproduction:
    from reef.environment.diff import diff

    reasons: list[str] = []
    components = _components(original, new)
    for c in components:
        if not c["identical"]:
            reasons.append(f"{c['name']}: content differs ({c['original']} vs {c['reproduction']})")
    environment = [d.to_json() for d in diff(original.environment, new.environment)]

    if new.status != original.status:
        reasons.append(f"status {original.status} then {new.status}: {'; '.join(new.reasons)}")

    accuracy = None
    a, b = original.accuracy, new.accuracy
    if a is not None and a.value is not None:
        found = b.value if b is not None else None
        equal = found is not None and abs(found - a.value) <= tolerance + 1e-12
        accuracy = {
            "metric": a.metric,
            "original": a.value,
            "reproduction": found,
            "tolerance": tolerance,
            "equal": equal,
        }
        if not equal:
            reasons.append(
                f"accuracy {a.metric} {a.value:.4f} then "
                f"{'none' if found is None else f'{found:.4f}'} (tolerance {tolerance:.4f})"
            )

    from reef.results.decision import decide

    latency = decide(original, new, "the reproduction", alpha=alpha, tolerance=latency_tolerance)
    if latency.verdict == "differs":
        reasons.append(f"latency: {latency.sentence}")
    verdict: Verdict = "differs" if reasons else latency.verdict
    return Reproduction(
        original=original.id,
        reproduction=new.id,
        verdict=verdict,
        reasons=reasons,
        components=components,
        environment=environment,
        accuracy=accuracy,
        latency=latency.model_dump(mode="json"),
        latency_summary=latency.sentence,
        causes=latency.causes if verdict == "inconclusive" else [],
        advice=latency.advice if verdict == "inconclusive" else None,
        caveats=latency.caveats,
    )


def _components(original: RunRecord, new: RunRecord) -> list[dict[str, Any]]:
    """Each component's content checksum then and now (from the locks when both runs kept
    one), and the model file that was run."""

    def pinned(record: RunRecord) -> dict[str, tuple[str, str]]:
        if record.lock is not None:
            return {
                str(c["name"]): (str(c["version"]), str(c["sha256"]))
                for c in record.lock.get("components", [])
            }
        return {c.name: (c.version or "", c.sha256) for c in record.components}

    then, now = pinned(original), pinned(new)
    out = []
    for name, (version, digest) in sorted(then.items()):
        other = now.get(name)
        out.append(
            {
                "name": f"{name}@{version}",
                "original": digest[:16],
                "reproduction": other[1][:16] if other else None,
                "identical": other is not None and other[1] == digest,
            }
        )
    out.append(
        {
            "name": f"{original.target.name} (model file)",
            "original": original.target.sha256[:16],
            "reproduction": new.target.sha256[:16],
            "identical": original.target.sha256 == new.target.sha256,
        }
    )
    return out
