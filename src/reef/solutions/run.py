"""``reef run``: a solution's steps, with the built-in actions, each cached and tracked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reef.solutions.engine import Events, Solution, StepFailed

if TYPE_CHECKING:
    from reef.bench.progress import Reporter
    from reef.solutions.tracker import SolutionRun, StepRecord


class RunFailed(StepFailed):
    def __init__(self, run: SolutionRun, step: StepRecord) -> None:
        skipped = [s.name for s in run.steps if s.status == "skipped"]
        message = f"step {step.name!r} ({step.uses}) failed: {step.reason}"
        if skipped:
            message += f"; not run: {', '.join(skipped)}"
        super().__init__(message, hint=f"its log: {step.log}" if step.log else None)
        self.run = run
        self.step = step


def environment_key(solution: Solution) -> str:
    """The environment a step runs in: this machine's fingerprint and the provisioned
    environment, when there is one."""
    from reef.bench.fingerprint import host_fingerprint_hash

    host = host_fingerprint_hash()
    return f"{host}:{Path(solution.environment).name if solution.environment else 'host'}"


def run(
    target: str,
    *,
    step: str | None = None,
    force: bool = False,
    events: Events | None = None,
    reporter: Reporter | None = None,
    in_process: bool = False,
) -> SolutionRun:
    """Run a solution's steps (or ``step`` and what it needs), reusing cached ones.

    Bad input (an unknown step, an untrusted shell step, a bad check) raises before any step
    runs. A failed step raises ``RunFailed`` (exit 1) once the steps that do not need it
    have run; the tracker's record is returned otherwise.
    """
    from reef.bench.progress import NullReporter
    from reef.solutions import engine
    from reef.solutions.actions import actions
    from reef.solutions.load import load

    solution = load(target)
    engine.selected_steps(solution.manifest, step)  # an unknown step fails before anything runs
    record = engine.run(
        solution,
        actions(target, reporter or NullReporter(), in_process),
        environment_key=environment_key,
        only=step,
        force=force,
        events=events,
    )
    if record.status != "ok":
        failed = [s for s in record.steps if s.status == "failed"]
        first = failed[0] if failed else record.steps[0]
        raise RunFailed(record, first)
    return record
