"""The seam between the search and the measurement: a *trial runner* takes one
``TrialRequest`` (a configuration as ``reef bench`` settings) and returns the ``RunRecord``s
it measured, stored in Reef's store and tagged ``tune:STUDY``.

``local_runner`` measures on this machine through Reef's own benchmark session, as
``reef bench`` does. Another runner (a Dask cluster's, sending each request to an agent)
takes its place without the search knowing: the request is plain JSON-serialisable settings,
and only the records come back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reef.bench.job import PredictorSettings
    from reef.bench.progress import Reporter
    from reef.meta.run import RunRecord
    from reef.meta.settings import BenchSettings


@dataclass(frozen=True)
class TrialRequest:
    """One measurement of one configuration: ``target`` as ``reef bench`` takes it, its
    settings, and the tags its runs carry (``tune:STUDY``)."""

    target: str
    settings: BenchSettings
    predictor: PredictorSettings
    tags: tuple[str, ...] = ()


TrialRunner = Callable[[TrialRequest], "list[RunRecord]"]


def tag_records(tags: tuple[str, ...]) -> Callable[[RunRecord], None]:
    """Add ``tags`` to a record's target tags, which the store keeps in its ``tags`` column
    (``reef.results.query.run_tags``): what ``--tag tune:STUDY`` selects."""

    def annotate(record: RunRecord) -> None:
        own = getattr(record.target, "tags", None)
        kept = [str(t) for t in own] if isinstance(own, list) else []
        # An extra field of the record (its models keep unknown fields): set by name.
        setattr(record.target, "tags", [*kept, *(t for t in tags if t not in kept)])  # noqa: B010

    return annotate


def local_runner(
    target: str, *, in_process: bool = False, reporter: Reporter | None = None
) -> TrialRunner:
    """Trials measured here, one after another, each run stored as ``reef bench`` stores
    it. ``target`` is resolved now, so that a bad one is refused before the study starts."""
    from reef.bench import session
    from reef.bench.backends import check_options, default_backend
    from reef.bench.target import resolve

    resolved = resolve(target)

    def run(request: TrialRequest) -> list[RunRecord]:
        check_options(request.predictor, [default_backend(resolved)])
        with session.open_store(True) as db:
            return session.run(
                [(resolved, request.settings)],
                db,
                reporter,
                in_process=in_process,
                predictor=request.predictor,
                annotate=tag_records(request.tags),
            )

    return run
