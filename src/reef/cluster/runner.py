"""Running a sweep's cells as Dask tasks and taking their runs in as they finish.

Each pending cell is one task (``reef.api.sweep_cell_run`` on an agent) asking for the cell's
resources. What plain Dask does not do, this does:

* A cell that asks for a resource no agent offers fails at once, naming the resource and what
  the agents offer; Dask would keep it waiting for such a worker forever (dask#9587). The
  same holds while the sweep runs: a cell whose only capable agents left fails after
  ``stranded_s`` seconds without one.
* A cell lost with its agent is given to another agent once (the scheduler's
  ``allowed-failures``, which ``reef cluster up`` sets to 1); the runs it returns are taken in
  once, whatever answers twice (``reef.api.sweep_cell_done``).
* ``reef sweep cancel ID`` stops it: its cells still pending are cancelled.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reef import api
from reef.errors import ReefError

if TYPE_CHECKING:
    from distributed import Client, Future

    from reef.api import SweepState

# What a progress callback gets: the cell's key, its new status, a line saying why.
Progress = Callable[[str, str, str], None]
POLL_S = 0.5
STRANDED_S = 10.0
TASK_PREFIX = "reef-cell-"


def offered(client: Client) -> dict[str, float]:
    """Each resource some agent offers, with the most any one offers."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    found: dict[str, float] = {}
    for worker in workers.values():
        for name, amount in (worker.get("resources") or {}).items():
            found[name] = max(found.get(name, 0.0), float(amount))
    return found


def missing(resources: dict[str, float], offers: dict[str, float]) -> list[str]:
    return [name for name, amount in resources.items() if offers.get(name, 0.0) < amount]


def _offer_words(offers: dict[str, float]) -> str:
    if not offers:
        return "no agent is connected"
    return "the agents offer " + ", ".join(sorted(offers))


def run_sweep(
    state: SweepState,
    client: Client,
    *,
    progress: Progress | None = None,
    stranded_s: float = STRANDED_S,
    task: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    receive: Callable[[list[dict[str, Any]]], list[tuple[str, bool]]] | None = None,
) -> SweepState:
    """Run the sweep's pending cells on ``client``'s cluster until every one is done, failed
    or cancelled; each outcome is journaled as it comes. ``task`` replaces what an agent runs
    for a cell (the benchmarks' trivial cells); ``receive`` takes the runs in (default: this
    machine's results database; a server: its own, as submissions)."""
    import distributed

    note = progress or (lambda key, status, line: None)
    work = task or api.sweep_cell_run
    offers = offered(client)
    futures: dict[Future[Any], str] = {}
    for cell in api.sweep_cells_pending(state):
        lacking = missing(cell.resources, offers)
        if lacking:
            why = f"no agent offers {lacking[0]} ({_offer_words(offers)})"
            api.sweep_cell_failed(state, cell.key, why)
            note(cell.key, "failed", why)
            continue
        state.cells[cell.key].attempts += 1
        future = client.submit(
            work,
            cell.model_dump(mode="json"),
            key=f"{TASK_PREFIX}{state.id}-{cell.key}",
            resources=cell.resources,
            pure=False,
        )
        futures[future] = cell.key
    api.sweep_save(state)
    stranded: dict[str, float] = {}
    remaining = set(futures)
    while remaining:
        with client.as_current():  # the client distributed.wait waits with
            try:
                done, _ = distributed.wait(
                    list(remaining), timeout=POLL_S, return_when="FIRST_COMPLETED"
                )
            except TimeoutError:
                done = set()
        for future in done:
            remaining.discard(future)
            _finished(state, futures[future], future, note, receive)
        if not remaining:
            break
        if api.sweep_cancel_requested(state):
            client.cancel(list(remaining))
            for future in remaining:
                api.sweep_cell_failed(state, futures[future], "cancelled", cancelled=True)
                note(futures[future], "cancelled", "cancelled")
            remaining.clear()
            break
        _fail_stranded(state, client, remaining, futures, stranded, stranded_s, note)
    from datetime import UTC, datetime

    state.finished_at = datetime.now(UTC)
    api.sweep_save(state)
    return state


def _finished(
    state: SweepState,
    key: str,
    future: Future[Any],
    note: Progress,
    receive: Callable[[list[dict[str, Any]]], list[tuple[str, bool]]] | None,
) -> None:
    if future.status == "finished":
        try:
            stored = api.sweep_cell_done(state, key, future.result(), receive=receive)
        except ReefError as exc:
            api.sweep_cell_failed(state, key, f"its runs could not be taken in: {exc.message}")
            note(key, "failed", exc.message)
            return
        note(key, "done", f"{len(stored)} run(s) stored")
        return
    if future.status == "cancelled":
        api.sweep_cell_failed(state, key, "cancelled", cancelled=True)
        note(key, "cancelled", "cancelled")
        return
    error = future.exception()
    name = type(error).__name__
    if name == "KilledWorker":
        why = "its agent was lost twice while running it"
    else:
        message = getattr(error, "message", None) or str(error) or name
        why = f"{name}: {str(message).splitlines()[0][:500]}"
    api.sweep_cell_failed(state, key, why)
    note(key, "failed", why)


def _fail_stranded(
    state: SweepState,
    client: Client,
    remaining: set[Future[Any]],
    futures: dict[Future[Any], str],
    stranded: dict[str, float],
    stranded_s: float,
    note: Progress,
) -> None:
    """Fail the cells no connected agent can run any more, once that has lasted
    ``stranded_s`` (an agent restarting is given that long)."""
    offers = offered(client)
    now = time.monotonic()
    for future in list(remaining):
        key = futures[future]
        lacking = missing(state.cells[key].cell.resources, offers)
        if not lacking:
            stranded.pop(key, None)
            continue
        since = stranded.setdefault(key, now)
        if now - since < stranded_s:
            continue
        client.cancel([future])
        remaining.discard(future)
        why = f"no agent offers {lacking[0]} any more ({_offer_words(offers)})"
        api.sweep_cell_failed(state, key, why)
        note(key, "failed", why)


def run_one(
    client: Client,
    work: Callable[[dict[str, Any]], dict[str, Any]],
    payload: dict[str, Any],
    *,
    resources: dict[str, float],
    stranded_s: float = STRANDED_S,
) -> dict[str, Any]:
    """Run ``work(payload)`` on an agent offering ``resources`` and return its answer: a
    ``ClusterError`` at once when no agent offers them, or when none has for ``stranded_s``
    while it waited; the task's own error raised as it came."""
    import distributed

    from reef.errors import ClusterError

    offers = offered(client)
    lacking = missing(resources, offers)
    if lacking:
        raise ClusterError(f"no agent offers {lacking[0]} ({_offer_words(offers)})")
    future = client.submit(work, payload, resources=resources, pure=False)
    since: float | None = None
    while True:
        with client.as_current(), contextlib.suppress(TimeoutError):
            distributed.wait([future], timeout=POLL_S)
        if future.done():
            break
        lacking = missing(resources, offered(client))
        if not lacking:
            since = None
            continue
        since = since if since is not None else time.monotonic()
        if time.monotonic() - since >= stranded_s:
            client.cancel([future])
            raise ClusterError(f"no agent offers {lacking[0]} any more")
    if future.status == "error" and type(future.exception()).__name__ == "KilledWorker":
        raise ClusterError("the trial's agent was lost twice while measuring it")
    answer: dict[str, Any] = future.result()
    return answer


def trial_runner(client: Client) -> Callable[..., list[Any]]:
    """``reef tune``'s trial runner on the cluster: each trial measured by an agent, one
    measurement at a time on it (``bench``), its runs checked and stored here."""
    return api.cluster_trial_runner(
        lambda payload: run_one(client, api.trial_cell_run, payload, resources={"bench": 1.0})
    )
