"""``reef serve``'s application: the Open Inference Protocol v2 over FastAPI.

| method and path | answers |
| --- | --- |
| ``GET /v2`` | the server's metadata |
| ``GET /v2/health/live``, ``GET /v2/health/ready`` | liveness, readiness (200, or 503) |
| ``GET /v2/models/{m}[/versions/{v}]`` | the model's metadata |
| ``POST /v2/repository/index`` | the models served, pipelines included |
| ``GET /v2/models/{m}[/versions/{v}]/ready`` | the model's readiness |
| ``POST /v2/models/{m}[/versions/{v}]/infer`` | an inference (``reef.serving.protocol``) |
| ``GET /metrics`` | Prometheus metrics (``reef.serving.metrics``) |

Errors are the protocol's: HTTP 400 (a bad request), 404 (no such model or version, or no
such path), 405 (a method the path does not take), 413 (too large) or 503 (overloaded or
busy, with ``Retry-After``; not ready), each with ``{"error": "..."}``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from reef.api.serving import ServedModel
from reef.serving.admission import BodyBudget, Held
from reef.serving.batcher import Batcher, Overloaded
from reef.serving.metrics import Metrics
from reef.serving.pipeline import PipelineModel, pipelines_of
from reef.serving.protocol import HEADER_LENGTH, ProtocolError, parse_infer, response

RETRY_AFTER_S = 1
WORKER_HEADER = "Reef-Worker"  # the id of the process that answered (several workers)
# The OIP inference request as OpenAPI describes it (the handler reads the body itself: JSON,
# or JSON and binary tensors): what clients and Schemathesis see of it.
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string"},
        "parameters": {"type": "object"},
        "data": {"type": "array"},
    },
}
INFER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": {"type": "object"},
                        "inputs": {"type": "array", "items": _TENSOR},
                        "outputs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "parameters": {"type": "object"},
                                },
                            },
                        },
                    },
                }
            }
        },
    }
}


@dataclass(frozen=True)
class ServeSettings:
    max_batch_size: int = 8
    max_delay_ms: float = 2.0
    max_queue: int = 256
    slo_p99_ms: float | None = None  # the batching limits move to keep p99 within it
    drift_window: int = 500  # rows a drift check looks at (reef.serving.drift)
    max_body: int = 64 << 20  # the largest request body read, in bytes (413 past it)
    # the request bodies being answered at once, in bytes (503 past it; reef.serving.admission)
    max_inflight_bytes: int = 512 << 20
    payload_rate: float = 0.0  # the share of requests kept in the payload log (0: none)
    payload_max_bytes: int = 100 << 20  # the payload log's files, at most, a model
    payload_dir: Path | None = None  # None: REEF_HOME/payloads
    alert_webhook: str | None = None  # where a drifted window is POSTed
    drift_detector: str | None = None  # a reef.drift checker deciding each window
    workers: int = 1  # processes serving the port (reef serve --workers): above 1, answers
    # carry WORKER_HEADER (this process's id) and each keeps its own batcher and drift state


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_app(
    models: list[ServedModel],
    settings: ServeSettings | None = None,
    *,
    references: dict[str, Any] | None = None,
) -> FastAPI:
    """The application serving ``models`` (open already; closed when it stops); each model
    named in ``references`` (a drift profile of its first input's rows, ``reef.api.
    drift_profile``) has its live traffic checked against it."""
    from reef import __version__
    from reef.serving.drift import Watch

    settings = settings or ServeSettings()
    metrics = Metrics()
    batchers: dict[str, Batcher] = {}
    by_name = {m.name: m for m in models}
    # {m}-pipeline: the manifest's pre- and post-processing around {m} (reef.serving.pipeline)
    pipelines, no_pipeline = pipelines_of(models)
    ready = {"now": False}
    handling = dict.fromkeys(by_name, 0)  # requests for each model being answered now
    budget = BodyBudget(settings.max_inflight_bytes, metrics.body_bytes.set)
    watches = {
        name: Watch(
            by_name[name],
            profile,
            metrics,
            settings.drift_window,
            settings.alert_webhook,
            detector=settings.drift_detector,
        )
        for name, profile in (references or {}).items()
    }
    logs: dict[str, Any] = {}
    if settings.payload_rate > 0:
        from reef.config import reef_home
        from reef.serving.payloads import PayloadLog

        root = settings.payload_dir or reef_home() / "payloads"
        logs = {
            m.name: PayloadLog(
                m.name,
                root / m.name,
                rate=settings.payload_rate,
                max_bytes=settings.payload_max_bytes,
                metrics=metrics,
            )
            for m in models
        }

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for model in models:
            batcher = Batcher(
                model,
                max_batch_size=settings.max_batch_size,
                max_delay_ms=settings.max_delay_ms,
                max_queue=settings.max_queue,
                on_batch=functools.partial(metrics.batch_done, model.name),
                slo_p99_ms=settings.slo_p99_ms,
                arriving=functools.partial(handling.__getitem__, model.name),
            )
            await batcher.start()
            batchers[model.name] = batcher
        ready["now"] = True
        try:
            yield
        finally:
            ready["now"] = False  # not ready while it drains: a balancer sends no more
            for batcher in batchers.values():
                await batcher.stop()
            for watch in watches.values():
                watch.close()
            for log in logs.values():
                log.close()
            for model in models:
                model.close()
            metrics.worker_stopped()

    app = FastAPI(title="Reef serve", version=__version__, lifespan=lifespan, docs_url=None)
    app.state.metrics = metrics

    @app.exception_handler(StarletteHTTPException)
    async def routing_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A path no route takes (404) or a method it does not (405, with Allow): the
        # protocol's error body too, not FastAPI's {"detail"}.
        message = f"{exc.detail}: {request.method} {request.url.path}"
        return _error(exc.status_code, message, dict(exc.headers or {}))

    app.state.batchers = batchers

    def found(name: str, version: str | None) -> ServedModel | PipelineModel | JSONResponse:
        model: ServedModel | PipelineModel | None = by_name.get(name) or pipelines.get(name)
        if model is None:
            if name in no_pipeline:
                return _error(404, no_pipeline[name])
            known = ", ".join([*by_name, *pipelines])
            return _error(404, f"no model named {name!r} (this server has {known})")
        if version is not None and version != model.version:
            return _error(404, f"model {name!r} has no version {version!r} ({model.version})")
        return model

    @app.get("/v2")
    def server_metadata() -> dict[str, Any]:
        return {"name": "reef", "version": __version__, "extensions": ["binary_tensor_data"]}

    @app.post("/v2/repository/index")
    def repository_index() -> list[dict[str, Any]]:
        state = "READY" if ready["now"] else "UNAVAILABLE"
        listed: list[ServedModel | PipelineModel] = [*models, *pipelines.values()]
        return [{"name": m.name, "version": m.version, "state": state} for m in listed]

    @app.get("/v2/health/live")
    def live() -> dict[str, Any]:
        return {"live": True}

    @app.get("/v2/health/ready")
    def server_ready() -> Response:
        if not ready["now"]:
            return _error(503, "not ready")
        return JSONResponse({"ready": True})

    def metadata(name: str, version: str | None) -> Response:
        model = found(name, version)
        if isinstance(model, JSONResponse):
            return model
        return JSONResponse(
            {
                "name": model.name,
                "versions": [model.version],
                "platform": model.platform,
                "inputs": [t.model_dump() for t in model.inputs],
                "outputs": [t.model_dump() for t in model.outputs],
                # reef_model, reef_sha256: what `reef bench URL` compares with in-process runs
                **({"parameters": model.parameters} if getattr(model, "parameters", None) else {}),
            }
        )

    def model_ready(name: str, version: str | None) -> Response:
        model = found(name, version)
        if isinstance(model, JSONResponse):
            return model
        if not ready["now"]:
            return _error(503, f"model {name!r} is not ready")
        return JSONResponse({"name": model.name, "ready": True})

    async def infer(request: Request, name: str, version: str | None) -> Response:
        model = found(name, version)
        if isinstance(model, JSONResponse):
            return model
        started = time.perf_counter()
        served = model.served if isinstance(model, PipelineModel) else model
        metrics.requests.labels(model.name).inc()
        gauge = metrics.inflight.labels(model.name)
        gauge.inc()
        handling[served.name] += 1
        held = budget.hold()
        try:
            body = await _body(request, settings.max_body, held)
            if body is None:
                metrics.failures.labels(model.name, "413").inc()
                return _error(413, f"the request is larger than {settings.max_body} bytes")
            if isinstance(body, _Busy):
                metrics.failures.labels(model.name, "503").inc()
                return _error(503, held.busy(), {"Retry-After": str(RETRY_AFTER_S)})
            parsed = parse_infer(body, request.headers.get(HEADER_LENGTH), model)
            if parsed.rows == 0:
                raise ProtocolError("the inputs hold no rows")
            feeds = parsed.inputs
            if isinstance(model, PipelineModel):
                feeds = await model.preprocess(feeds, settings.max_queue)
            watch = watches.get(served.name)
            if watch is not None:
                watch.observe(feeds)
            batcher = batchers[served.name]
            answered = await batcher.infer(feeds, parsed.rows)
            metrics.limits(served.name, batcher.max_batch_size, batcher.max_delay_s)
            outputs = answered
            if isinstance(model, PipelineModel):
                outputs = await model.postprocess(answered)
            content, headers = response(model, parsed, outputs)
            if settings.workers > 1:
                headers[WORKER_HEADER] = str(os.getpid())
            log = logs.get(served.name)
            if log is not None:
                log.offer(parsed.id, feeds, answered)
            metrics.total.labels(model.name).observe(time.perf_counter() - started)
            return Response(content, headers=headers)
        except ProtocolError as exc:
            metrics.failures.labels(model.name, "400").inc()
            return _error(400, str(exc))
        except Overloaded as exc:
            metrics.failures.labels(model.name, "503").inc()
            return _error(
                503, f"overloaded: {exc}; retry later", {"Retry-After": str(RETRY_AFTER_S)}
            )
        except Exception as exc:  # the model failed on these inputs
            metrics.failures.labels(model.name, "500").inc()
            return _error(500, f"the model failed: {type(exc).__name__}: {exc}")
        finally:
            held.release()
            gauge.dec()
            handling[served.name] -= 1

    @app.get("/v2/models/{name}")
    def model_metadata(name: str) -> Response:
        return metadata(name, None)

    @app.get("/v2/models/{name}/versions/{version}")
    def version_metadata(name: str, version: str) -> Response:
        return metadata(name, version)

    @app.get("/v2/models/{name}/ready")
    def ready_model(name: str) -> Response:
        return model_ready(name, None)

    @app.get("/v2/models/{name}/versions/{version}/ready")
    def ready_version(name: str, version: str) -> Response:
        return model_ready(name, version)

    @app.post("/v2/models/{name}/infer", openapi_extra=INFER_BODY)
    async def infer_model(request: Request, name: str) -> Response:
        return await infer(request, name, None)

    @app.post("/v2/models/{name}/versions/{version}/infer", openapi_extra=INFER_BODY)
    async def infer_version(request: Request, name: str, version: str) -> Response:
        return await infer(request, name, version)

    @app.get("/v2/models/{name}/drift")
    def drift(name: str) -> Response:
        model = found(name, None)
        if isinstance(model, JSONResponse):
            return model
        # {m}-pipeline's requests are checked as {m}'s tensors, in {m}'s windows: the same state
        served = model.served if isinstance(model, PipelineModel) else model
        watch = watches.get(served.name)
        if watch is None:
            return _error(
                404, f"model {served.name!r} has no drift reference (reef serve --reference)"
            )
        state = watch.state()
        if settings.workers > 1:  # each worker checks the traffic it answered, on its own
            state["worker"] = {"pid": os.getpid(), "workers": settings.workers}
        return JSONResponse(state, headers={WORKER_HEADER: str(os.getpid())})

    @app.get("/metrics")
    def prometheus() -> Response:
        content, kind = metrics.render()
        return Response(content, media_type=kind)

    return app


class _Busy:
    """The body budget could not take a request (``reef.serving.admission``)."""


async def _body(request: Request, limit: int, held: Held) -> bytes | _Busy | None:
    """The request's body, or None past ``limit`` bytes: refused by its Content-Length
    before anything is read, else while it streams in (a chunked upload), so that an
    oversized request never takes more than ``limit`` bytes of memory. Its bytes are taken
    from the process's body budget as they arrive (``held``): _Busy when it cannot take
    them, and at once when it could not take the declared Content-Length now."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        if int(declared) > limit:
            return None
        if int(declared) > held.budget.room():
            return _Busy()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        if not held.take(len(chunk)):
            return _Busy()
        chunks.append(chunk)
    return b"".join(chunks)
