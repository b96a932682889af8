"""The server's FastAPI application: the REST API under ``/api/v1``, its errors in one JSON
shape, authentication by token, the rate and size limits, and the documentation pages.

Every endpoint is a call to a ``reef.api`` verb; nothing here knows how runs or tokens are
stored. Errors are ``{"error": {"code", "message", "hint"}}``, ``code`` being the
``ReefError``'s class name, with the HTTP status the error calls for (``http_status``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from reef import api
from reef.errors import (
    EXIT_ENVIRONMENT,
    AuthError,
    BadRequest,
    InternalError,
    RateLimited,
    ReefError,
    RunNotFound,
)
from reef.server import components, docs, web
from reef.server.limits import BodyLimit, RateLimiter

PREFIX = "/api/v1"
DEFAULT_RATE = 20.0  # requests a second, per token (or per address without one)
DEFAULT_BURST = 60
DEFAULT_MAX_BODY = 64 * 1024 * 1024  # bytes


@dataclass(frozen=True)
class ServerSettings:
    """How a server runs: whether reads need a token, its rate limit (requests a second per
    token, ``burst`` at once; 0: none), the largest request body it reads (bytes) and where
    submitted runs' files go. ``docs_assets`` is the folder of Swagger UI's files (None: look
    for an installed package; ``False``: serve the plain reference page)."""

    anonymous_reads: bool = True
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    max_body: int = DEFAULT_MAX_BODY
    docs_assets: Path | Literal[False] | None = None
    # Where submitted runs' files go; None: REEF_HOME/server/runs (api.server_files_root).
    files_root: Path | None = None
    # A Dask scheduler (tcp://HOST:8786) the dashboard's evaluation form starts sweeps on;
    # None: the server starts none.
    scheduler: str | None = None


def error_body(exc: ReefError) -> dict[str, Any]:
    """Reef's error shape: code (the class name), message and hint; the error's own fields
    (a manifest's problems, the seconds to wait) under ``details`` where it has any."""
    data = exc.to_json()
    extra = {k: v for k, v in data.items() if k not in ("error", "message", "hint")}
    body: dict[str, Any] = {"code": type(exc).__name__, "message": exc.message, "hint": exc.hint}
    if extra:
        body["details"] = extra
    return {"error": body}


def http_status(exc: ReefError) -> int:
    """The HTTP status of an error: its own ``http_status`` where it has one (the server's
    errors), else by kind: not found 404, conflict 409, too large 413, bad input 422, Reef or
    its environment failing 500 (503 where its database failed)."""
    own = getattr(exc, "http_status", None)
    if isinstance(own, int):
        return own
    name = type(exc).__name__
    if isinstance(exc, RunNotFound) or name.endswith("NotFound"):
        return 404
    if name.endswith("Conflict"):
        return 409
    if name.endswith("TooLarge"):
        return 413
    if exc.exit_code == EXIT_ENVIRONMENT:
        if isinstance(exc, InternalError):
            return 500
        return 503
    return 422


def _reef_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReefError)
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc), status_code=http_status(exc), headers=headers)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    message = "; ".join(problems[:5]) or "the request is not valid"
    if len(problems) > 5:
        message += f"; and {len(problems) - 5} more"
    error = BadRequest(message, hint="/docs describes every endpoint and what it takes")
    return JSONResponse(error_body(error), status_code=422)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    names = {404: "NotFound", 405: "MethodNotAllowed"}
    code = names.get(exc.status_code, "HTTPError")
    body = {"error": {"code": code, "message": str(exc.detail), "hint": None}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body(InternalError(exc)), status_code=500)


# --- authentication --------------------------------------------------------------------------

_BEARER = re.compile(r"Bearer\s+(\S+)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Caller:
    """Who made a request: their token (None: anonymous) and address."""

    token: api.TokenInfo | None
    client: str | None

    @property
    def actor(self) -> str:
        return api.token_actor(self.token)


def _caller(request: Request) -> Caller:
    state = request.app.state
    client = request.client.host if request.client else None
    header = request.headers.get("authorization")
    limiter: RateLimiter = state.limiter
    if header is None:
        limiter.take(f"address {client}", f"address {client}")
        return Caller(None, client)
    match = _BEARER.fullmatch(header)
    try:
        if match is None:
            raise AuthError(
                "the Authorization header is not 'Bearer <token>'",
                hint="send Authorization: Bearer reef_..., as `reef token create` printed it",
            )
        token = api.token_authenticate(match.group(1), db=state.db)
    except AuthError:
        # Guessing tokens is limited as anonymous requests are: by address.
        limiter.take(f"address {client}", f"address {client}")
        raise
    limiter.take(f"token {token.id}", f"token {token.id}")
    return Caller(token, client)


def needs(scope: str) -> Any:
    """The dependency an endpoint takes to need a token of ``scope`` (``read`` is open to
    anonymous callers where the server allows anonymous reads); it gives the ``Caller``."""

    def check(request: Request, caller: Annotated[Caller, Depends(_caller)]) -> Caller:
        anonymous = scope == "read" and request.app.state.settings.anonymous_reads
        api.token_require(caller.token, scope, anonymous=anonymous)
        return caller

    return Depends(check)


# --- bodies ----------------------------------------------------------------------------------


class TokenRequest(BaseModel):
    """What ``POST /api/v1/tokens`` takes."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["read", "submit", "publish", "admin"]
    expires: str | None = Field(None, description="an age (30d, 12h), a date, or never")
    name: str | None = None


class SubmitRequest(BaseModel):
    """What ``POST /api/v1/runs`` takes: run bundles (``reef.bench.bundle``), one or many."""

    model_config = ConfigDict(extra="forbid")

    runs: list[dict[str, Any]] = Field(description="run bundles, as reef submit sends them")


class SubmitAnswer(BaseModel):
    """Each run taken: ``created`` False when the server held the same run already."""

    accepted: list[api.Accepted]


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None


class ErrorBody(BaseModel):
    """Every error the API answers."""

    error: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": what}
    for status, what in (
        (401, "no token, or an unknown, expired or revoked one"),
        (403, "the token's scope does not allow it"),
        (422, "bad input"),
        (429, "too many requests (Retry-After says when to retry)"),
    )
}


def create_app(db: api.ServerDatabase, settings: ServerSettings | None = None) -> FastAPI:
    """The application serving the open server database ``db``."""
    from reef import __version__

    settings = settings or ServerSettings()
    app = FastAPI(
        title="Reef",
        version=__version__,
        description="Reef's results registry: submitted runs, listed and read; tokens. "
        "Authenticate with 'Authorization: Bearer <token>' (reef token create).",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.rate, settings.burst)
    app.state.evaluations = {}  # sweep id -> the thread running it (reef.server.evaluations)
    app.add_exception_handler(ReefError, _reef_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyLimit, limit=settings.max_body, error_body=error_body)
    _routes(app)
    app.include_router(components.router(needs))
    app.include_router(web.router())
    _docs(app, settings)
    return app


# What ``reef server --workers N`` hands each worker process: the database and the settings,
# as JSON (``worker_environment``), for ``create_worker_app`` to open and serve.
WORKER_ENV = "REEF_SERVER_WORKER"


def worker_environment(db_url: str, settings: ServerSettings) -> str:
    """The ``WORKER_ENV`` value that makes ``create_worker_app`` serve ``db_url``."""
    assets = settings.docs_assets
    return json.dumps(
        {
            "db": db_url,
            "anonymous_reads": settings.anonymous_reads,
            "rate": settings.rate,
            "burst": settings.burst,
            "max_body": settings.max_body,
            "docs_assets": str(assets) if isinstance(assets, Path) else assets,
            "files_root": None if settings.files_root is None else str(settings.files_root),
            "scheduler": settings.scheduler,
        }
    )


def create_worker_app() -> FastAPI:
    """The application of one worker process of ``reef server --workers N`` (uvicorn's
    factory): the database and settings the parent put in ``WORKER_ENV``, opened here (the
    parent brought its schema up to date already) and closed when the worker stops."""
    import os

    given = json.loads(os.environ[WORKER_ENV])
    assets = given["docs_assets"]
    settings = ServerSettings(
        anonymous_reads=bool(given["anonymous_reads"]),
        rate=float(given["rate"]),
        burst=int(given["burst"]),
        max_body=int(given["max_body"]),
        docs_assets=Path(assets) if isinstance(assets, str) else assets,
        files_root=Path(given["files_root"]) if given["files_root"] else None,
        scheduler=given.get("scheduler"),
    )
    database = api.server_open(given["db"])
    app = create_app(database, settings)
    app.router.on_shutdown.append(database.close)
    return app


def selecting_runs(
    model: Annotated[str | None, Query(description="the target's name")] = None,
    version: Annotated[str | None, Query(description="1.2.0 or '>=1.2,<2'")] = None,
    scenario: Annotated[str | None, Query(description="SingleStream, Offline, ...")] = None,
    backend: Annotated[str | None, Query(description="the predictor backend")] = None,
    status: Annotated[str | None, Query(description="valid, invalid, ...")] = None,
    tag: Annotated[str | None, Query(description="target kind, solution, tags")] = None,
    since: Annotated[str | None, Query(description="a date, ISO time or age (7d)")] = None,
    until: Annotated[str | None, Query(description="a date, ISO time or age")] = None,
    text: Annotated[str | None, Query(description="words found in the run")] = None,
) -> api.RunFilter:
    """The run filter of `reef runs list`, from the query: every filter given must hold."""
    return api.RunFilter().merged(
        model=model,
        version=version,
        scenario=scenario,
        backend=backend,
        status=status,
        tag=tag,
        since=since,
        until=until,
        text=text,
    )


def _routes(app: FastAPI) -> None:
    read, admin = needs("read"), needs("admin")

    @app.get(f"{PREFIX}/health", tags=["server"])
    def health() -> dict[str, Any]:
        """The server answers, and its Reef's version. No token needed; nothing about its
        database is said to anonymous callers."""
        from reef import __version__

        return {"status": "ok", "version": __version__}

    @app.get(f"{PREFIX}/runs", tags=["runs"], responses=_ERRORS)
    def list_runs(
        request: Request,
        run_filter: Annotated[api.RunFilter, Depends(selecting_runs)],
        caller: Caller = read,
        sort: Annotated[str, Query(description="reef runs list --sort")] = "-created_at",
        limit: Annotated[int, Query(description="runs per page, 1 to 500")] = 20,
        cursor: Annotated[str | None, Query(description="next_cursor of the last page")] = None,
        verified: Annotated[
            bool | None, Query(description="true: verified runs only; false: the others")
        ] = None,
    ) -> api.RunsPage:
        """Runs, filtered as `reef runs list` filters them, sorted (newest first by
        default), a page at a time: pass each page's next_cursor to get the next."""
        return api.runs_page(
            run_filter.merged(verified=verified),
            sort=sort,
            limit=limit,
            cursor=cursor,
            db=request.app.state.db,
        )

    @app.post(
        f"{PREFIX}/runs",
        tags=["runs"],
        responses={
            **_ERRORS,
            409: {"model": ErrorBody, "description": "a run stored with other content"},
            413: {"model": ErrorBody, "description": "over the size limits"},
        },
    )
    def submit_runs(
        request: Request, body: SubmitRequest, caller: Caller = needs("submit")
    ) -> SubmitAnswer:
        """Submit run bundles (a submit token or above): every bundle is checked, then each
        new run is stored, all or none. A run stored already with the same content is
        accepted again with created false; with other content, 409."""
        state = request.app.state
        accepted = api.accept_bundles(
            body.runs,
            db_url=state.db.url,
            store=state.db.store,
            files_root=state.settings.files_root or api.server_files_root(),
            submitter=caller.actor,
            token_id=caller.token.id if caller.token is not None else None,
            registry_root=getattr(state, "registry_root", None),
            client=caller.client,
        )
        return SubmitAnswer(accepted=accepted)

    @app.get(
        f"{PREFIX}/runs/{{run_id}}",
        tags=["runs"],
        responses={**_ERRORS, 404: {"model": ErrorBody, "description": "no such run"}},
    )
    def get_run(request: Request, run_id: str, caller: Caller = read) -> dict[str, Any]:
        """One run's record (a unique id prefix is enough), without its raw latencies, and
        its submission: who submitted it, whether it is verified and by which runs (null for
        a run not submitted through the API)."""
        record = api.server_run(run_id, db=request.app.state.db)
        submission = api.server_submission(record.id, db=request.app.state.db)
        return record.summary_json() | {
            "submission": None
            if submission is None
            else submission.model_dump(mode="json", exclude={"token_id", "configuration"})
        }

    @app.get(f"{PREFIX}/submissions", tags=["runs"], responses=_ERRORS)
    def list_submissions(
        request: Request,
        caller: Caller = read,
        status: Annotated[
            Literal["verified", "unverified"] | None, Query(description="verified or unverified")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="at most this many")] = 100,
    ) -> list[dict[str, Any]]:
        """Submitted runs, newest first: who submitted each, whether an independent rerun
        verified it, and its verifications."""
        found = api.server_submissions(status, limit=limit, db=request.app.state.db)
        return [s.model_dump(mode="json", exclude={"token_id"}) for s in found]

    @app.get(
        f"{PREFIX}/compare",
        tags=["analysis"],
        responses={**_ERRORS, 404: {"model": ErrorBody, "description": "no such run"}},
    )
    def compare(
        request: Request,
        run: Annotated[list[str], Query(description="two or more run ids (or prefixes)")],
        caller: Caller = read,
        baseline: int = 0,
        metric: str = "p50",
        alpha: float = 0.05,
        tolerance: float = 0.05,
    ) -> dict[str, Any]:
        """`reef compare` over the server's runs: the first (or baseline) against the rest."""
        result = api.server_compare(
            run,
            baseline=baseline,
            metric=metric,
            alpha=alpha,
            tolerance=tolerance,
            db=request.app.state.db,
        )
        return dict(result.model_dump(mode="json"))

    @app.get(f"{PREFIX}/pareto", tags=["analysis"], responses=_ERRORS)
    def pareto(
        request: Request,
        run_filter: Annotated[api.RunFilter, Depends(selecting_runs)],
        objective: Annotated[
            list[str], Query(description="2 or 3 of latency_p90:min, accuracy:max, ...")
        ],
        caller: Caller = read,
    ) -> dict[str, Any]:
        """`reef pareto` over the server's runs that the filters select."""
        result = api.server_pareto(objective, run_filter=run_filter, db=request.app.state.db)
        return dict(result.model_dump(mode="json"))

    @app.get(f"{PREFIX}/board", tags=["analysis"], responses=_ERRORS)
    def board(
        request: Request,
        run_filter: Annotated[api.RunFilter, Depends(selecting_runs)],
        caller: Caller = read,
        metric: str = "auto",
        hardware: str | None = None,
        verified_only: Annotated[
            bool, Query(description="rank only runs an independent rerun verified")
        ] = False,
    ) -> dict[str, Any]:
        """`reef board` over the server's runs: the best valid run per model, scenario and
        hardware."""
        result = api.server_board(
            metric,
            run_filter=run_filter.merged(verified=True) if verified_only else run_filter,
            hardware=hardware,
            db=request.app.state.db,
        )
        return dict(result.model_dump(mode="json"))

    @app.post(f"{PREFIX}/tokens", tags=["tokens"], status_code=201, responses=_ERRORS)
    def create_token(request: Request, body: TokenRequest, caller: Caller = admin) -> api.NewToken:
        """Make a token (admin only). The answer holds the token: the only copy there is."""
        return api.token_create(
            body.scope,
            expires=body.expires,
            name=body.name,
            db=request.app.state.db,
            actor=caller.actor,
            client=caller.client,
        )

    @app.get(f"{PREFIX}/tokens", tags=["tokens"], responses=_ERRORS)
    def list_tokens(request: Request, caller: Caller = admin) -> list[api.TokenInfo]:
        """Every token, without secrets (admin only)."""
        return api.token_list(db=request.app.state.db)

    @app.delete(
        f"{PREFIX}/tokens/{{token_id}}",
        tags=["tokens"],
        responses={**_ERRORS, 404: {"model": ErrorBody, "description": "no such token"}},
    )
    def revoke_token(request: Request, token_id: str, caller: Caller = admin) -> api.TokenInfo:
        """Revoke a token (admin only): from now on it is refused with 401."""
        return api.token_revoke(
            token_id, db=request.app.state.db, actor=caller.actor, client=caller.client
        )

    @app.get(f"{PREFIX}/audit", tags=["tokens"], responses=_ERRORS)
    def audit(
        request: Request,
        caller: Caller = admin,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[api.AuditEvent]:
        """The audit log of writes, newest first (admin only)."""
        return api.audit_log(limit=limit, db=request.app.state.db)


def _docs(app: FastAPI, settings: ServerSettings) -> None:
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    assets = docs.find_assets() if settings.docs_assets is None else settings.docs_assets
    if assets:
        from fastapi.staticfiles import StaticFiles

        app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")
        redoc = (assets / docs.REDOC_JS).is_file()

        @app.get("/docs", include_in_schema=False)
        def swagger() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="Reef API",
                swagger_js_url=f"/docs/assets/{docs.SWAGGER_JS}",
                swagger_css_url=f"/docs/assets/{docs.SWAGGER_CSS}",
                swagger_favicon_url="data:,",
            )

        if redoc:

            @app.get("/redoc", include_in_schema=False)
            def redoc_page() -> HTMLResponse:
                return get_redoc_html(
                    openapi_url="/openapi.json",
                    title="Reef API",
                    redoc_js_url=f"/docs/assets/{docs.REDOC_JS}",
                    redoc_favicon_url="data:,",
                    with_google_fonts=False,
                )

        return

    @app.get("/docs", include_in_schema=False)
    def reference() -> HTMLResponse:
        return HTMLResponse(docs.reference_page(app.openapi()))
