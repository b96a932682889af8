"""Importing MLPerf inference results: a submission tree, Reef's own export or anyone's
published one, into the store as run records marked as imported."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from reef.errors import SettingsError

if TYPE_CHECKING:
    from reef.mlperf.importer import Found, ImportedResult, MlperfImportReport


def import_mlperf(path: Path | str, *, mlperf_round: str | None = None) -> MlperfImportReport:
    """Store every complete result of the MLPerf submission tree at ``path`` (the tree, a
    division, a submitter's folder or one ``results/SYSTEM/BENCHMARK/SCENARIO`` folder) as a
    run record marked as imported (``RunRecord.imported``, target kind ``mlperf``, backend
    ``imported``), with LoadGen's logs, ``accuracy.txt`` and the system description copied
    to its folder ``REEF_HOME/runs/<id>/``.

    ``mlperf_round`` (``"v5.0"``) names the MLPerf round; without it, a folder name ending in one
    (``inference_results_v5.0``) does. The run id comes from the performance detail log, so
    importing the same tree again stores nothing new: its results are reported as already
    stored. A scenario folder without what a result needs (a performance detail log and its
    summary, a verdict, latency figures) is skipped, with the reason in the report.

    Bad input raises before anything is written: a missing folder, a tree with no
    ``mlperf_log_detail.txt``, a detail log that is not LoadGen's (named by file and line), a
    system description that is not JSON, or a tree where no result is complete.
    """
    from reef.bench.session import save, signals_held
    from reef.mlperf.importer import MlperfImportReport, scan
    from reef.results import Store

    if mlperf_round is not None and not re.fullmatch(r"v\d+\.\d+", mlperf_round):
        raise SettingsError(
            f"--round {mlperf_round}: not an MLPerf round", hint="a round is vMAJOR.MINOR: v5.0"
        )
    found, skipped = scan(Path(path), mlperf_round)
    runs: list[ImportedResult] = []
    with Store() as db:
        db.require_writable("import MLPerf results")
        present = db.stored(f.record.id for f in found)
        for item in found:
            record = item.record
            fresh = record.id not in present
            present.add(record.id)  # the same result found twice is imported once
            if fresh:
                with signals_held():
                    _copy_files(item)
                    save(db, record)
            runs.append(_row(item, "imported" if fresh else "already stored"))
    imported = sum(1 for r in runs if r.result == "imported")
    return MlperfImportReport(
        root=str(Path(path).resolve()),
        imported=imported,
        already_stored=len(runs) - imported,
        runs=runs,
        skipped=skipped,
    )


def _copy_files(item: Found) -> None:
    """The tree's files into the run's folder, which then holds them and nothing else; the
    record's artifacts name the folders."""
    import shutil

    from reef import config
    from reef.errors import FileRefused
    from reef.files import open_regular
    from reef.mlperf.importer import ACCURACY_DIR, COPY_MAX_BYTES, PERFORMANCE_DIR

    record = item.record
    folder = config.runs_dir() / record.id
    staging = folder.with_name(f".{record.id}.importing")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for rel, source in item.files.items():
            destination = staging / rel
            destination.parent.mkdir(parents=True, exist_ok=True)
            # Regular files within the cap only, checked on the descriptor copied from: a file
            # swapped for a FIFO or grown since the scan is refused, not waited on or copied.
            with open_regular(source, "file", COPY_MAX_BYTES) as src, destination.open("wb") as dst:
                while chunk := src.read(min(1 << 20, COPY_MAX_BYTES + 1 - dst.tell())):
                    dst.write(chunk)
                if dst.tell() > COPY_MAX_BYTES:
                    raise OSError(f"{source} grew past {COPY_MAX_BYTES:,} bytes while copied")
        if folder.exists():  # left by an import the database never finished
            shutil.rmtree(folder)
        staging.rename(folder)
    except FileRefused:  # the tree changed since it was scanned
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        from reef.errors import WriteFailed
        from reef.files import reason

        raise WriteFailed(folder, f"copying the run's logs: {reason(exc)}") from exc
    record.artifacts["loadgen_performance"] = str(folder / PERFORMANCE_DIR)
    if any(rel.startswith(f"{ACCURACY_DIR}/") for rel in item.files):
        record.artifacts["loadgen_accuracy"] = str(folder / ACCURACY_DIR)
    for rel in item.files:
        if "/" not in rel:
            record.artifacts[rel.removesuffix(".json")] = str(folder / rel)
    if record.loadgen is not None:
        record.loadgen.log_dir = str(folder)


def _row(item: Found, result: str) -> ImportedResult:
    from reef.mlperf.importer import ImportedResult

    record = item.record
    info, perf, acc = record.imported, record.performance, record.accuracy
    assert info is not None
    return ImportedResult(
        id=record.id,
        result=result,
        status=record.status,
        path=info.path,
        division=info.division,
        submitter=info.submitter,
        system=info.system,
        benchmark=info.benchmark,
        scenario=record.scenario,
        throughput_qps=perf.throughput_qps if perf else None,
        p90_ms=perf.latency_ms.p90 if perf else None,
        p99_ms=perf.latency_ms.p99 if perf else None,
        accuracy_metric=acc.metric if acc else None,
        accuracy_value=acc.value if acc else None,
    )
