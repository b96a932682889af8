"""The tracker: what a ``reef run`` did, step by step, kept under ``REEF_HOME/runs/<id>/``.

Every step's parameters, status, timing, metrics, artifacts, log and the benchmark runs it
made are written to ``solution-run.json`` after each step, so that a run cut short by a
crash or Ctrl-C still says how far it got.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reef import config
from reef.errors import ReefError
from reef.files import write_atomic

RUN_FILE = "solution-run.json"

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

    @property
    def folder(self) -> Path:
        return config.runs_dir() / self.id

    def step(self, name: str) -> StepRecord:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def save(self) -> None:
        write_atomic(self.folder / RUN_FILE, self.model_dump_json(indent=2).encode())

    def bench_runs(self) -> list[str]:
        return [run for s in self.steps for run in s.runs]


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
        return SolutionRun.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ReefError(f"{path}: not a readable solution run ({exc})") from None
