"""A sweep's state: ``REEF_HOME/sweeps/<id>.json``, what each of its cells became.

A cell is ``pending`` until a run of it is stored (``done``, with its run ids) or it fails
(``failed``, with why: a resource no agent offers, an error on the agent, its agent lost
twice). ``reef sweep --resume ID`` runs the cells that are not ``done``; ``reef sweep cancel
ID`` asks the process running the sweep to stop (a marker file, ``<id>.cancel``), which
cancels its cells still pending.

The file is written whole (and renamed into place) when a sweep starts and ends; in between,
each cell's outcome is appended to ``<id>.cells.jsonl`` as it comes (``record``), so a cell
costs one short write however many cells the sweep has, and a killed sweep leaves the outcome
of its last finished cell. Reading a sweep replays that journal over the file (a torn last
line, from a kill mid-write, is left out).
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from reef.errors import ReefError
from reef.sweep.spec import Cell, SweepSpec

CellStatus = Literal["pending", "done", "failed", "cancelled"]
SWEEPS_DIR = "sweeps"
_ID = re.compile(r"^sw-[0-9a-f]{12}$")


class SweepNotFound(ReefError):
    """No sweep has this id (exit 2)."""


class CellState(BaseModel):
    """What became of one cell (see the module's docstring)."""

    cell: Cell
    status: CellStatus = "pending"
    run_ids: list[str] = Field(default_factory=list)
    error: str | None = None
    attempts: int = 0
    agent: str | None = None  # the agent that ran it


class SweepState(BaseModel):
    """A sweep: its id, its spec, and each of its cells by key."""

    id: str
    created_at: datetime
    spec: SweepSpec
    source: str | None = None  # the spec file it was read from
    cells: dict[str, CellState]
    cancel_requested: bool = False
    finished_at: datetime | None = None

    def counts(self) -> dict[str, int]:
        """How many cells are pending, done, failed and cancelled."""
        found = {"pending": 0, "done": 0, "failed": 0, "cancelled": 0}
        for state in self.cells.values():
            found[state.status] += 1
        return found


def sweeps_dir() -> Path:
    from reef.config import reef_home

    return reef_home() / SWEEPS_DIR


def new_state(spec: SweepSpec, cells: list[Cell], source: str | None) -> SweepState:
    return SweepState(
        id=f"sw-{secrets.token_hex(6)}",
        created_at=datetime.now(UTC),
        spec=spec,
        source=source,
        cells={cell.key: CellState(cell=cell) for cell in cells},
    )


def path_of(sweep_id: str) -> Path:
    if not _ID.match(sweep_id):
        raise SweepNotFound(
            f"{sweep_id!r} is not a sweep id (sw- and 12 hex digits)",
            hint="`reef sweep list` shows the sweeps",
        )
    return sweeps_dir() / f"{sweep_id}.json"


def _journal(sweep_id: str) -> Path:
    return path_of(sweep_id).with_suffix(".cells.jsonl")


def _cancel_marker(sweep_id: str) -> Path:
    return path_of(sweep_id).with_suffix(".cancel")


def load(sweep_id: str) -> SweepState:
    path = path_of(sweep_id)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepNotFound(
            f"no sweep has id {sweep_id}", hint="`reef sweep list` shows the sweeps"
        ) from None
    state = SweepState.model_validate_json(text)
    _replay(state)
    state.cancel_requested = state.cancel_requested or cancel_requested(sweep_id)
    return state


def _replay(state: SweepState) -> None:
    try:
        lines = _journal(state.id).read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            entry = json.loads(line)
            key = entry["key"]
            outcome = CellState.model_validate({"cell": state.cells[key].cell, **entry["state"]})
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line, or one of another spec
        state.cells[key] = outcome


def save(state: SweepState) -> None:
    """Write the whole state (the journal folded into it)."""
    from reef.files import write_atomic

    path = path_of(state.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (state.model_dump_json(indent=1) + "\n").encode("utf-8"))
    _journal(state.id).unlink(missing_ok=True)


def record(state: SweepState, key: str) -> None:
    """Append the outcome of the cell ``key`` to the sweep's journal."""
    outcome = state.cells[key].model_dump(mode="json", exclude={"cell"})
    line = json.dumps({"key": key, "state": outcome}, separators=(",", ":")) + "\n"
    path = _journal(state.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(line)


def request_cancel(sweep_id: str) -> SweepState:
    state = load(sweep_id)
    _cancel_marker(sweep_id).write_bytes(b"")
    state.cancel_requested = True
    return state


def cancel_requested(sweep_id: str) -> bool:
    """Whether ``reef sweep cancel`` asked for this sweep to stop (its marker file)."""
    try:
        return _cancel_marker(sweep_id).exists()
    except ValueError:
        return False


def clear_cancel(sweep_id: str) -> None:
    _cancel_marker(sweep_id).unlink(missing_ok=True)


def all_states() -> list[SweepState]:
    """Every sweep of this REEF_HOME, newest first (a file that is not one is left out)."""
    folder = sweeps_dir()
    found = []
    for path in sorted(folder.glob("sw-*.json")) if folder.is_dir() else []:
        try:
            found.append(load(path.stem))
        except (OSError, ValueError, SweepNotFound):
            continue
    return sorted(found, key=lambda s: s.created_at, reverse=True)
