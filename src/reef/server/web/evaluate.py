"""The dashboard's push-button evaluation: ``/evaluate`` (a form picking models, scenarios,
backends and hardware; starting it needs a token of scope ``submit``) and ``/evaluate/ID`` (a
sweep's cells as they finish, with links to their runs). The sweep runs on the server's Dask
scheduler (``reef.server.evaluations``); a server started without ``--scheduler`` says so."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from reef import api
from reef.errors import Forbidden, ReefError
from reef.server.web.markup import Safe, html, join, segment
from reef.server.web.pages import (
    _db,
    _error,
    _html,
    _Page,
    _registry_root,
    _respond,
    _run_link,
    _same_origin,
    _viewer,
)

MAX_FIELDS = 200
DEFAULT_DURATION_S = 10.0


def _scheduler(request: Request) -> str | None:
    scheduler: str | None = request.app.state.settings.scheduler
    return scheduler


def _agents(scheduler: str) -> tuple[list[str], list[str], str | None]:
    """The hardware labels and backends the scheduler's agents offer; a line saying why
    there are none where it cannot be reached."""
    from reef.cluster.status import scheduler_status

    try:
        found = scheduler_status(scheduler)
    except ReefError as exc:
        return [], [], exc.message
    hardware = sorted({a.hardware for a in found.agents if a.hardware})
    backends = sorted({b for a in found.agents for b in a.backends})
    if not found.agents:
        return [], [], f"no agent is connected to {scheduler}"
    return hardware, backends, None


def _checks(name: str, values: list[str], chosen: set[str]) -> Safe:
    return join(
        html(
            '<label class="check"><input type="checkbox" name="{}" value="{}"{}> {}</label>',
            name,
            value,
            Safe(" checked") if value in chosen else Safe(""),
            value,
        )
        for value in values
    )


def _form(request: Request, problem: ReefError | None = None) -> _Page:
    scheduler = _scheduler(request)
    if scheduler is None:
        body = html(
            "<h1>Evaluate</h1><p>{}</p>",
            "This server starts no evaluations: run it with --scheduler tcp://HOST:8786 (a "
            "Dask scheduler with Reef agents) to evaluate models from here.",
        )
        return _Page("Evaluate", body)
    choices = api.evaluation_choices(registry_root=_registry_root(request))
    hardware, backends, why = _agents(scheduler)
    note = html('<p class="muted">{}</p>', why) if why else Safe("")
    error = _error(problem) if problem is not None else Safe("")
    sweeps = [s for s in api.sweep_list() if s.source == "dashboard"][:20]
    recent = join(
        html(
            '<li><a href="/evaluate/{}">{}</a> {} cells: {} done, {} failed, {} pending</li>',
            segment(s.id),
            s.id,
            len(s.cells),
            s.counts()["done"],
            s.counts()["failed"],
            s.counts()["pending"],
        )
        for s in sweeps
    )
    body = html(
        "<h1>Evaluate</h1><p>Pick models, scenarios, backends and hardware: each combination "
        "is benchmarked on an agent of the cluster ({}), and its runs are submitted here as "
        "yours (a token of scope submit). No backend or hardware ticked: each model's own "
        "backend, on any agent.</p>{}{}"
        '<form class="evaluate" method="post" action="/evaluate">'
        "<fieldset><legend>models</legend>{}</fieldset>"
        "<fieldset><legend>scenarios</legend>{}</fieldset>"
        "<fieldset><legend>backends</legend>{}</fieldset>"
        "<fieldset><legend>hardware</legend>{}</fieldset>"
        '<label>seconds a run<input type="number" name="duration_s" value="{}" min="0.1" '
        'step="any"></label> <button type="submit">Start</button></form>'
        "<h2>Recent evaluations</h2><ul>{}</ul>",
        scheduler,
        error,
        note,
        _checks("model", choices["models"], set()),
        _checks("scenario", choices["scenarios"], {"SingleStream"}),
        _checks("backend", backends, set()),
        _checks("hardware", hardware, set()),
        f"{DEFAULT_DURATION_S:g}",
        recent or html("<li>{}</li>", "none yet"),
    )
    return _Page("Evaluate", body, 422 if problem is not None else 200)


def _spec(fields: dict[str, list[str]]) -> dict[str, Any]:
    duration = (fields.get("duration_s") or [str(DEFAULT_DURATION_S)])[0]
    try:
        seconds: Any = float(duration)
    except ValueError:
        seconds = duration  # the spec's check names it
    return {
        "name": "dashboard evaluation",
        "targets": fields.get("model", []),
        "scenarios": fields.get("scenario", []),
        "backends": fields.get("backend", []),
        "hardware": fields.get("hardware", []),
        "settings": {"duration_s": seconds},
    }


def _sweep(request: Request, sweep_id: str) -> _Page:
    state = api.sweep_status(sweep_id)
    counts = state.counts()
    rows = join(
        html(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.status,
            c.cell.label,
            c.agent or "",
            join((_run_link(r) for r in c.run_ids), " ") if c.run_ids else (c.error or ""),
        )
        for c in state.cells.values()
    )
    refresh = counts["pending"] > 0 and not state.cancel_requested
    body = html(
        "<h1>Evaluation {}</h1><p>{} cells: {} done, {} failed, {} cancelled, {} pending{}."
        "</p><table><thead><tr><th>status</th><th>cell</th><th>agent</th><th>runs</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        state.id,
        len(state.cells),
        counts["done"],
        counts["failed"],
        counts["cancelled"],
        counts["pending"],
        " (this page refreshes until every cell has finished)" if refresh else "",
        rows,
    )
    if refresh:
        body = Safe('<meta http-equiv="refresh" content="2">' + body)
    return _Page(f"Evaluation {state.id}", body)


def routes(router: APIRouter) -> None:
    @router.get("/evaluate")
    def evaluate_form(request: Request) -> Response:
        return _respond(request, lambda: _form(request))

    @router.post("/evaluate")
    async def evaluate(request: Request) -> Response:
        from fastapi.concurrency import run_in_threadpool

        from reef.server import evaluations

        if not _same_origin(request):
            page = _Page("Evaluate", _error(Forbidden("the form came from another site")), 403)
            return _html(request, page, None)
        raw = await request.body()
        fields = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
        started: list[api.SweepState] = []

        def build() -> _Page:
            viewer = _viewer(request)
            api.token_require(viewer, "submit")
            assert viewer is not None
            if _scheduler(request) is None:
                return _form(request)
            try:
                state = api.sweep_start_spec(_spec(fields), source="dashboard")
            except ReefError as exc:
                return _form(request, exc)
            client = request.client.host if request.client else None
            api.audit_record(
                "sweep.start", [state.id], actor=api.token_actor(viewer), client=client,
                db=_db(request),
            )  # fmt: skip
            evaluations.start(request.app, state, viewer, client)
            started.append(state)
            return _Page("Evaluate", Safe(""))

        response = await run_in_threadpool(_respond, request, build)
        if started:
            return RedirectResponse(f"/evaluate/{started[0].id}", status_code=303)
        return response

    @router.get("/evaluate/{sweep_id}")
    def evaluation(request: Request, sweep_id: str) -> Response:
        return _respond(request, lambda: _sweep(request, sweep_id))
