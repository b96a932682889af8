"""The server's database and the reads its REST API makes: where the database is, opening it
(upgrading its schema, refusing one a newer Reef wrote), ``reef server init-db``, and a page
of runs at a time behind an opaque cursor.

The server keeps a database of its own, apart from the user's results database: by default a
SQLite file under ``REEF_HOME/server/``; ``--db`` (or ``REEF_SERVER_DB_URL``) points it at
PostgreSQL, the production database, with the same schema and migrations. The verbs here take
``db``: a URL, an open ``ServerDatabase`` (what the server holds for its lifetime), or None
for the default.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel

from reef.errors import ServerError
from reef.meta.summary import RunSummary

if TYPE_CHECKING:
    from reef.meta.run import RunRecord
    from reef.results.board import Board
    from reef.results.compare import Comparison
    from reef.results.pareto import Frontier, Objective
    from reef.results.query import RunFilter, Sort
    from reef.results.store import Store

SERVER_DB_ENV = "REEF_SERVER_DB_URL"  # the config setting server_db_url's variable
SERVER_DIR = "server"
SERVER_DB_FILE = "reef-server.db"
DEFAULT_PAGE = 20
MAX_PAGE = 500


class CursorError(ServerError):
    """A cursor this server did not give, or one given for another sort or filter (422)."""


def server_home() -> Path:
    """The server's own folder: ``REEF_HOME/server``, holding its SQLite database (by default)
    and the files of submitted runs."""
    from reef.config import reef_home

    return reef_home() / SERVER_DIR


def server_db_url(db_url: str | None = None) -> str:
    """The server's database: ``db_url`` if given, else ``REEF_SERVER_DB_URL``, else the
    config file's ``server_db_url``, else SQLite at
    ``REEF_HOME/server/reef-server.db``. The user's own results database (``REEF_DB_URL``)
    is never the server's by default."""
    if db_url:
        return db_url
    from reef import config

    value = config.get("server_db_url")  # REEF_SERVER_DB_URL, else the config file
    if value:
        return str(value)
    return f"sqlite:///{server_home() / SERVER_DB_FILE}"


def server_files_root() -> Path:
    """Where the server keeps the files of submitted runs: ``REEF_HOME/server/runs``."""
    return server_home() / "runs"


class ServerDatabase:
    """The server's database, open (its schema brought to the newest revision) until
    ``close()``: what ``server_open`` returns and the verbs' ``db`` takes. ``url`` is the
    database as given; ``shown`` is it without a password."""

    def __init__(self, url: str, store: Store) -> None:
        self.url = url
        self.store = store

    @property
    def shown(self) -> str:
        from reef.config import redact_url

        return redact_url(self.url)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def server_open(db_url: str | None = None) -> ServerDatabase:
    """Open the server's database (``server_db_url``), creating it or upgrading its schema
    as needed. A database a newer Reef wrote (a schema revision this Reef does not know) is
    refused and left as it is; so is one whose schema table contradicts its tables. The
    caller closes it."""
    from reef.results import Store

    url = server_db_url(db_url)
    store = Store(url)
    if store.read_only is not None:
        reason = store.read_only
        store.close()
        from reef.errors import DatabaseReadOnly

        raise DatabaseReadOnly(
            f"the server's database {_shown(url)} cannot be written: {reason}",
            hint="give the server a writable database (--db), or make its folder writable",
        )
    return ServerDatabase(url, store)


@contextlib.contextmanager
def opened(db: str | ServerDatabase | None) -> Iterator[ServerDatabase]:
    """``db`` as an open database: as it is when already open (left open), else opened here
    for the block and closed after it."""
    if isinstance(db, ServerDatabase):
        yield db
        return
    with server_open(db) as database:
        yield database


class ServerDbStatus(BaseModel):
    """What ``reef server init-db`` did: the database (password hidden), its schema revision
    before (None: a new database) and after, and whether it was upgraded."""

    database: str
    revision: str
    was: str | None
    upgraded: bool


def server_init_db(db_url: str | None = None) -> ServerDbStatus:
    """Create the server's database or bring its schema to the newest revision (what the
    server also does when it starts). A database a newer Reef wrote is refused, unchanged."""
    from reef.results.migrate import HEAD
    from reef.results.tokens import recorded_revisions

    url = server_db_url(db_url)
    before = recorded_revisions(url)
    with server_open(url):
        pass
    was = before[0] if len(before) == 1 else None
    return ServerDbStatus(database=_shown(url), revision=HEAD, was=was, upgraded=was != HEAD)


def _shown(url: str) -> str:
    from reef.config import redact_url

    return redact_url(url)


# --- runs, a page at a time ------------------------------------------------------------------


class RunsPage(BaseModel):
    """One page of runs, in the order asked for, and the cursor of the next page (None on
    the last). A cursor is opaque; it holds the position after the page's last run, so runs
    stored while a client pages through are neither repeated nor skipped (those that sort
    before the position are not shown: start again to see them)."""

    runs: list[RunSummary]
    next_cursor: str | None


def _fingerprint(order: Sort, run_filter: RunFilter) -> str:
    """What a cursor is bound to: the sort and the filter it was given for. Not ``since``
    and ``until``: given as ages (``7d``), they move with each request."""
    from dataclasses import replace

    fixed = replace(run_filter, since=None, until=None)
    text = json.dumps([str(order), repr(fixed)], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def runs_page(
    run_filter: RunFilter | None = None,
    *,
    sort: Sort | str | None = None,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    db: str | ServerDatabase | None = None,
) -> RunsPage:
    """A page of at most ``limit`` runs passing ``run_filter`` (``reef runs list``'s
    filters), in ``sort`` order (``reef runs list --sort``: newest first by default), after
    ``cursor`` (``next_cursor`` of the page before; None: the first page). A bad filter,
    sort, limit or cursor raises before anything is read (exit 2, HTTP 422)."""
    from reef.results.query import NEWEST_FIRST, RunFilter, Sort

    wanted = run_filter or RunFilter()
    order = (Sort.parse(sort) if isinstance(sort, str) else sort) or NEWEST_FIRST
    if not 1 <= limit <= MAX_PAGE:
        raise ServerError(f"limit: must be 1 to {MAX_PAGE}, not {limit}")
    from reef.api.dashboard import dashboard_runs

    with opened(db) as database:
        # The database finds the page: ORDER BY ... LIMIT after the cursor's position.
        rows = dashboard_runs(
            wanted, sort=order, limit=limit, cursor=cursor, db=database, count=False
        )
        records = database.store.get_many(row.id for row in rows.runs)
        summaries = [RunSummary.of(record) for record in records]
    next_cursor = rows.next_cursor
    return RunsPage(runs=summaries, next_cursor=next_cursor)


def server_run(run_id: str, *, db: str | ServerDatabase | None = None) -> RunRecord:
    """One run of the server's database, by id or unique prefix, without its raw latencies;
    ``RunNotFound`` (HTTP 404) otherwise."""
    with opened(db) as database:
        return database.store.get(run_id)


# --- analyses of the server's runs -----------------------------------------------------------


def server_compare(
    runs: Sequence[str],
    *,
    baseline: int = 0,
    metric: str = "p50",
    alpha: float = 0.05,
    tolerance: float = 0.05,
    db: str | ServerDatabase | None = None,
) -> Comparison:
    """``compare`` over runs of the server's database (ids or unique prefixes), with their
    raw latencies where they kept them."""
    from reef.api.analysis import compare
    from reef.results.compare import check_request

    check_request(list(runs), baseline, alpha, tolerance)
    with opened(db) as database:
        records = [database.store.find(ref) for ref in runs]
    return compare(records, baseline=baseline, metric=metric, alpha=alpha, tolerance=tolerance)


def server_pareto(
    objectives: Sequence[str | Objective],
    *,
    run_filter: RunFilter | None = None,
    db: str | ServerDatabase | None = None,
) -> Frontier:
    """``pareto`` over the runs of the server's database that ``run_filter`` selects."""
    from reef.results.pareto import frontier, objectives_of
    from reef.results.query import RunFilter

    wanted = objectives_of(objectives)
    with opened(db) as database:
        return frontier(database.store, wanted, run_filter or RunFilter())


def server_board(
    metric: str | Objective | None = "auto",
    *,
    run_filter: RunFilter | None = None,
    hardware: str | None = None,
    db: str | ServerDatabase | None = None,
) -> Board:
    """``board`` over the runs of the server's database that ``run_filter`` selects."""
    from reef.results.board import parse_metric, scoreboard
    from reef.results.query import RunFilter

    chosen = parse_metric(metric) if isinstance(metric, str) else metric
    with opened(db) as database:
        return scoreboard(database.store, chosen, run_filter or RunFilter(), hardware)
