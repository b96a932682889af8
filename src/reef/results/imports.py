"""Reading run records from files, for ``reef runs import``.

A run's folder holds its record as ``record.json`` (``reef.bench.session.save`` writes it
there, or in a fallback folder when that cannot be written). Importing reads and checks every
file before anything is stored, and stores each run once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from reef.errors import ManifestError, Problem

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.results.store import Store

# The file a run's folder holds its record in.
RECORD_FILE = "record.json"
# A record holds every query's latency (at most a million or so); far below this.
RECORD_MAX_BYTES = 256 << 20


class ImportedRun(BaseModel):
    id: str
    status: str
    path: str
    result: str  # "imported" or "already stored"


class ImportReport(BaseModel):
    imported: int
    already_stored: int
    runs: list[ImportedRun]


def read_records(path: Path) -> list[tuple[Path, RunRecord]]:
    """Every record at ``path`` with the file it came from; a ``ManifestError`` naming each
    file that is not a run record, before anything is stored."""
    loaded: list[tuple[Path, RunRecord]] = []
    problems: list[Problem] = []
    for file in _record_files(path):
        try:
            loaded.append((file, _read_record(file)))
        except ManifestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ManifestError(
            problems,
            hint="nothing was imported; a run record is the record.json Reef writes in each "
            "run's folder",
        )
    return loaded


def new_records(
    db: Store, loaded: list[tuple[Path, RunRecord]]
) -> tuple[list[RunRecord], ImportReport]:
    """The records ``db`` does not hold yet (a run found twice counts once), and the report
    of importing them."""
    present = db.stored(record.id for _, record in loaded)
    runs: list[ImportedRun] = []
    new: list[RunRecord] = []
    for file, record in loaded:
        fresh = record.id not in present
        present.add(record.id)  # the same run found twice is imported once
        if fresh:
            new.append(record)
        result = "imported" if fresh else "already stored"
        runs.append(ImportedRun(id=record.id, status=record.status, path=str(file), result=result))
    report = ImportReport(imported=len(new), already_stored=len(runs) - len(new), runs=runs)
    return new, report


def _record_files(path: Path) -> list[Path]:
    """The record files ``path`` names: itself, its ``record.json``, or those of the folders
    in it."""
    from reef.errors import FileRefused
    from reef.files import reason

    try:
        if not path.is_dir():
            if not path.exists():
                raise FileRefused(path, "not found")
            return [path]
        if (path / RECORD_FILE).exists():
            return [path / RECORD_FILE]
        found = sorted(
            sub / RECORD_FILE
            for sub in path.iterdir()
            if sub.is_dir() and (sub / RECORD_FILE).exists()
        )
    except OSError as exc:
        raise FileRefused(path, f"cannot read it: {reason(exc)}") from exc
    if not found:
        raise FileRefused(
            path,
            f"no {RECORD_FILE} in this folder or in the folders in it",
            hint="name a record.json, a run's folder (REEF_HOME/runs/ID) or a folder of them",
        )
    return found


def _read_record(file: Path) -> RunRecord:
    """The run record in ``file``; a ``ManifestError`` naming the file if it is not one."""
    import json

    from reef.files import read_regular
    from reef.meta.run import load_record

    raw = read_regular(file, "run record", RECORD_MAX_BYTES)
    source = str(file)
    if not raw.strip():
        # What a save cut short by a full disk used to leave.
        raise ManifestError([Problem(source, "", "is empty: not a run record")])
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(source, "", "not a run record: not UTF-8 text")]) from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(
            [Problem(source, "", f"not a run record: not JSON ({exc.msg}, line {exc.lineno})")]
        ) from exc
    if not isinstance(data, dict):
        raise ManifestError([Problem(source, "", "not a run record: expected a JSON object")])
    if "id" not in data:
        raise ManifestError([Problem(source, "id", "missing: a run record names its run")])
    return load_record(data, source)
