"""The tracker: what a ``reef run`` did, step by step, kept under ``REEF_HOME/runs/<id>/``.

Every step's parameters, status, timing, metrics, artifacts, log and the benchmark runs it
made are written to ``solution-run.json`` after each step, so that a run cut short by a
crash or Ctrl-C still says how far it got.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reef import config, owner
from reef.errors import ReefError
from reef.files import write_atomic

RUN_FILE = "solution-run.json"
ORPHAN_REASON = "interrupted: the process running it was killed"

StepStatus = Literal["ok", "cached", "failed", "skipped", "pending"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class StepRecord(_Record):
    name: str
    uses: str
    params: dict[str, Any] = Field(default_factory=dict, description="`with`, as expanded")
    needs: list[str] = Field(default_factory=list)
    status: StepStatus = "pending"
    reason: str | None = None
    key: str | None = Field(None, description="the step's cache key")
    started_at: datetime | None = None
    duration_s: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    artifacts: dict[str, str] = Field(default_factory=dict, description="name -> path")
    runs: list[str] = Field(default_factory=list, description="benchmark runs it made")
    checks: list[dict[str, Any]] = Field(default_factory=list)
    log: str | None = None
    out: str | None = None


class RunOwner(_Record):
    """The process running a solution run: what tells a run still going from one whose
    process was killed (``kill -9``, a power cut) and will never finish."""

    pid: int
    started: float = Field(description="the process's start, in seconds since the epoch")

    @classmethod
    def this_process(cls) -> RunOwner:
        me = owner.current()
        return cls(pid=me.pid, started=me.started)

    def alive(self) -> bool:
        return owner.Owner(self.pid, self.started).alive()


class SolutionRun(_Record):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: Literal["solution-run"] = "solution-run"
    solution: str
    version: str
    path: str
    lock_sha256: str
    environment: str | None = Field(None, description="the provisioned environment, if any")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    status: Literal["running", "ok", "failed", "interrupted"] = "running"
    steps: list[StepRecord] = Field(default_factory=list)
    owner: RunOwner | None = Field(None, description="the process running it (while it runs)")

    @property
    def folder(self) -> Path:
        return config.runs_dir() / self.id

    def step(self, name: str) -> StepRecord:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def save(self) -> None:
        marker = running_dir() / self.id
        if self.status == "running":
            # Listed while it runs, so that finding the runs a killed process left takes a
            # look at this short list rather than at every run ever made.
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        write_atomic(self.folder / RUN_FILE, self.model_dump_json(indent=2).encode())
        if self.status != "running":
            marker.unlink(missing_ok=True)

    def bench_runs(self) -> list[str]:
        return [run for s in self.steps for run in s.runs]

    def orphaned(self) -> bool:
        """Still ``running``, but the process running it is gone."""
        return self.status == "running" and self.owner is not None and not self.owner.alive()

    def settle(self) -> bool:
        """Mark an orphaned run ``interrupted`` and save it, as Ctrl-C would have left it;
        returns whether it was orphaned. Its steps still ``pending`` are ``skipped`` (or
        ``failed``, one recorded as started), with the reason."""
        if not self.orphaned():
            return False
        for step in self.steps:
            if step.status == "pending":
                running = step.started_at is not None
                step.status = "failed" if running else "skipped"
                step.reason = ORPHAN_REASON
        self.status = "interrupted"
        with contextlib.suppress(OSError):  # a read-only REEF_HOME: it is reported, not fixed
            self.save()
        return True


def load_run(id_or_prefix: str) -> SolutionRun | None:
    """The solution run with this id (a unique prefix is enough), or None if there is none."""
    root = config.runs_dir()
    if not root.is_dir() or not id_or_prefix or "/" in id_or_prefix:
        return None
    exact = root / id_or_prefix / RUN_FILE
    if exact.is_file():
        return _parse(exact)
    matches = [p for p in root.glob(f"{id_or_prefix}*/{RUN_FILE}") if p.is_file()]
    if len(matches) > 1:
        shown = ", ".join(sorted(p.parent.name[:12] for p in matches)[:5])
        raise ReefError(
            f"{id_or_prefix!r} is ambiguous: {len(matches)} solution runs match ({shown})",
            hint="give more of the id",
        )
    return _parse(matches[0]) if matches else None


def _parse(path: Path) -> SolutionRun:
    try:
        run = SolutionRun.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ReefError(f"{path}: not a readable solution run ({exc})") from exc
    run.settle()
    return run


def running_dir() -> Path:
    """An empty file per solution run still ``running``, named by its id."""
    return config.index_dir() / "running-solutions"


def settle_orphans() -> list[str]:
    """Mark every solution run whose process died while it ran ``interrupted``; returns their
    ids. Only the runs listed as running are read."""
    settled = []
    try:
        ids = sorted(os.listdir(running_dir()))
    except OSError:
        return []
    for run_id in ids:
        path = config.runs_dir() / run_id / RUN_FILE
        try:
            run = SolutionRun.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            run = None  # its folder was removed, or the record is not one Reef can read
        if run is not None and run.settle():
            settled.append(run.id)
        elif run is None or run.status != "running":
            with contextlib.suppress(OSError):  # tidying only: never stop the run for it
                (running_dir() / run_id).unlink(missing_ok=True)
    return settled
