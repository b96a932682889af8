"""Push-button evaluation: a sweep the dashboard's form starts, run on the server's Dask
scheduler (``reef server --scheduler ADDR``) in a thread of the server, its runs taken in as
submissions of the token that started it (checked as any submission is, and judged against
other tokens' runs), so that they appear on the boards as they finish.

A sweep the server was running when it stopped keeps the cells it had not finished pending,
in ``REEF_HOME/sweeps/``; it is not resumed on its own.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from reef import api
from reef.errors import ReefError

if TYPE_CHECKING:
    from fastapi import FastAPI


def start(app: FastAPI, state: api.SweepState, token: api.TokenInfo, client: str | None) -> None:
    """Run the sweep ``state`` on the server's scheduler, in a thread of its own."""
    thread = threading.Thread(
        target=_run, args=(app, state, token, client), name=f"reef-{state.id}", daemon=True
    )
    running: dict[str, threading.Thread] = app.state.evaluations
    running[state.id] = thread
    thread.start()


def _run(app: FastAPI, state: api.SweepState, token: api.TokenInfo, address: str | None) -> None:
    from reef.cluster.connect import close, connect
    from reef.cluster.runner import run_sweep

    settings = app.state.settings
    db = app.state.db
    actor = api.token_actor(token)

    def receive(bundles: list[dict[str, Any]]) -> list[tuple[str, bool]]:
        accepted = api.accept_bundles(
            bundles,
            db_url=db.url,
            store=db.store,
            files_root=settings.files_root or api.server_files_root(),
            submitter=actor,
            token_id=token.id,
            registry_root=getattr(app.state, "registry_root", None),
            client=address,
        )
        return [(a.id, a.created) for a in accepted]

    try:
        client = connect(settings.scheduler)
    except ReefError as exc:
        for cell in api.sweep_cells_pending(state):
            api.sweep_cell_failed(state, cell.key, exc.message)
        api.sweep_save(state)
        return
    try:
        run_sweep(state, client, receive=receive)
    except Exception as exc:  # the thread's end: said in the sweep, not lost in a log
        for cell in api.sweep_cells_pending(state):
            api.sweep_cell_failed(state, cell.key, f"the evaluation stopped: {exc}")
        api.sweep_save(state)
    finally:
        close(client)
        app.state.evaluations.pop(state.id, None)
