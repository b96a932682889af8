"""Which runs a report or a plot covers: those named by id, or those a filter selects (the
newest first, up to a limit), and the raw latencies of the few that are drawn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reef.errors import ReefError
from reef.report.errors import ReportError

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.results.query import RunFilter

__all__ = ["raw_latencies", "select_runs"]


def select_runs(
    run_ids: Sequence[str], limit: int, run_filter: RunFilter | None = None
) -> tuple[list[RunRecord], list[str]]:
    """The runs ``run_ids`` name (unique prefixes; each once), or else the newest ``limit``
    runs ``run_filter`` selects, and warnings about the choice. Ids and a filter together, an
    unknown run, a limit under 1 or a filter that selects nothing are refused."""
    from reef.results import Store
    from reef.results.query import RunFilter

    selection = run_filter or RunFilter()
    if limit < 1:
        raise ReportError("--limit must be at least 1")
    if run_ids and not selection.is_empty():
        raise ReportError(
            "give run ids or filters, not both",
            hint="filters select runs on their own; ids name them",
        )
    warnings: list[str] = []
    with Store() as store:
        if run_ids:
            records = [store.find(ref) for ref in run_ids]
            seen: set[str] = set()
            unique = []
            for record in records:
                if record.id not in seen:
                    seen.add(record.id)
                    unique.append(record)
            return unique, warnings
        total = store.count(selection)
        if total == 0:
            problem = store.explain_empty(selection)
            if problem is not None:
                raise problem
            raise ReportError("no runs recorded yet", hint="try `reef demo`")
        records = store.list(selection, limit=limit)
    if total > len(records):
        warnings.append(
            f"{total:,} runs match; the report covers the newest {len(records):,} (--limit)"
        )
    return records, warnings


def raw_latencies(records: list[RunRecord]) -> dict[str, list[float]]:
    """Raw latencies in ms of the runs that kept them (read from the store only for the runs
    drawn, since a run may hold hundreds of thousands)."""
    from reef.results import Store

    found: dict[str, list[float]] = {}
    missing = [r for r in records if r.latencies_ns is None]
    for record in records:
        if record.latencies_ns is not None:
            found[record.id] = [ns / 1e6 for ns in record.latencies_ns]
    if missing:
        with Store() as store:
            for record in missing:
                try:
                    values = store.latencies(record.id)
                except ReefError:  # a record given from elsewhere, not in this store
                    values = None
                if values:
                    found[record.id] = [ns / 1e6 for ns in values]
    return found
