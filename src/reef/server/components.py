"""The component registry's REST routes, under ``/api/v1``: publish a pack, search, list a
component's versions, show a version's manifest, yank one, and download a pack by sha256.

Each route calls a ``reef.api`` registry verb; errors are ``ReefError``s, which the app's
handler answers in Reef's one JSON shape (a name, version or pack that is not published:
404; a version published with other content: 409; a pack refused by the checks ``reef
install`` makes: 422). ``router(needs)`` takes the app's dependency that checks a token's
scope (``needs("publish")``); reads use ``needs("read")``. The registry's folder is
``app.state.registry_root`` where set, else ``REEF_HOME/server/components``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from reef.api import registry as api

PREFIX = "/api/v1"
PACK_MEDIA_TYPE = "application/gzip"


def _root(request: Request) -> Path | None:
    root = getattr(request.app.state, "registry_root", None)
    return Path(root) if root is not None else None


def _publisher(caller: Any) -> str:
    actor = getattr(caller, "actor", None)
    return actor if isinstance(actor, str) and actor else "anonymous"


def _no_auth() -> None:
    return None


def _audit(request: Request, caller: Any, action: str, target: str) -> None:
    """Record a write in the server's audit log, where the app has a database."""
    db = getattr(request.app.state, "db", None)
    if db is None:
        return
    from reef import api as reef_api

    client = getattr(caller, "client", None)
    reef_api.audit_record(action, [target], actor=_publisher(caller), client=client, db=db)


def router(needs: Callable[[str], Any] | None = None) -> APIRouter:
    """The registry's routes; ``needs(scope)`` is the dependency that checks the request's
    token for ``scope`` (without it, as in a bare app, nothing is checked)."""
    read = needs("read") if needs is not None else Depends(_no_auth)
    publish = needs("publish") if needs is not None else Depends(_no_auth)
    routes = APIRouter(prefix=PREFIX, tags=["components"])
    found: dict[int | str, dict[str, Any]] = {404: {"description": "not published"}}

    @routes.post(
        "/components",
        status_code=201,
        responses={
            200: {"description": "the same content was already published: nothing changed"},
            409: {"description": "the version is published with other content"},
            413: {"description": "the pack is over the server's upload limit"},
            422: {"description": "the pack fails the checks `reef install` makes"},
        },
    )
    async def publish_pack(request: Request, caller: Any = publish) -> JSONResponse:
        """Publish a pack (`reef pack`'s .reef.tar.gz, as the request body): its root
        component, checked as `reef install` checks a pack. A published version never
        changes: the same content again is a no-op (200), other content is refused (409)."""
        body = await request.body()
        published = await run_in_threadpool(
            api.registry_publish, body, publisher=_publisher(caller), root=_root(request)
        )
        status = 201 if published.status == "published" else 200
        if status == 201:
            ref = f"{published.name}@{published.version}"
            await run_in_threadpool(_audit, request, caller, "component.publish", ref)
        return JSONResponse(published.model_dump(mode="json"), status_code=status)

    @routes.get("/components")
    def search_components(
        request: Request,
        caller: Any = read,
        q: Annotated[str | None, Query(description="text in the name, description or tags")] = None,
        kind: Annotated[str | None, Query(description="model, dataset, solution, ...")] = None,
        tag: Annotated[list[str] | None, Query(description="every tag given")] = None,
        yanked: Annotated[bool, Query(description="include yanked versions")] = False,
        limit: Annotated[
            int, Query(ge=1, le=api.MAX_COMPONENTS_PAGE, description="versions a page")
        ] = api.DEFAULT_COMPONENTS_PAGE,
        cursor: Annotated[
            str | None, Query(description="a page's next_cursor, for the page after it")
        ] = None,
    ) -> dict[str, Any]:
        """Published versions matching the text, kind and tags, by name, newest first, a page
        at a time: pass each page's next_cursor (null on the last page) to get the next."""
        page = api.registry_page(
            q, kind=kind, tags=tag, yanked=yanked, limit=limit, cursor=cursor, root=_root(request)
        )
        return page.model_dump(mode="json")

    @routes.get("/components/{name}", responses=found)
    def component_versions(request: Request, name: str, caller: Any = read) -> dict[str, Any]:
        """Every published version of a component, oldest first; yanked ones are marked."""
        entries = api.registry_versions(name, root=_root(request))
        return {"name": name, "versions": [e.model_dump(mode="json") for e in entries]}

    @routes.get("/components/{name}/{version}", responses=found)
    def component_manifest(
        request: Request, name: str, version: str, caller: Any = read
    ) -> dict[str, Any]:
        """One published version: its entry and its manifest (the reef.yaml text)."""
        return api.registry_manifest(name, version, root=_root(request)).model_dump(mode="json")

    @routes.post("/components/{name}/{version}/yank", responses=found)
    def yank_version(
        request: Request, name: str, version: str, caller: Any = publish
    ) -> dict[str, Any]:
        """Yank a version: search no longer offers it; its manifest and pack stay, for the
        locks that pin it."""
        entry = api.registry_yank(name, version, root=_root(request))
        _audit(request, caller, "component.yank", f"{name}@{version}")
        return entry.model_dump(mode="json")

    @routes.get(
        "/packs/{sha256}",
        responses={200: {"content": {PACK_MEDIA_TYPE: {}}}, **found},
        response_class=FileResponse,
    )
    def download_pack(request: Request, sha256: str, caller: Any = read) -> FileResponse:
        """A published pack, by the sha256 of its bytes."""
        path = api.registry_pack_path(sha256, root=_root(request))
        return FileResponse(
            path,
            media_type=PACK_MEDIA_TYPE,
            filename=f"{sha256}.reef.tar.gz",
            headers={"ETag": f'"{sha256}"', "Cache-Control": "public, max-age=31536000"},
        )

    return routes
