"""The API's documentation pages, served without a network.

FastAPI's own ``/docs`` loads Swagger UI from a CDN, which an offline machine (or a user's
browser behind one) cannot reach. ``/docs`` here serves Swagger UI 5 from a Python package
that ships its files, where one is installed: ``fastapi-offline`` (Swagger UI 5 and ReDoc,
MIT) or ``swagger-ui-bundle`` of Swagger UI 5 (4.x cannot read OpenAPI 3.1, which FastAPI
writes). Without either, ``/docs`` is a plain HTML reference written here from the OpenAPI
document itself: every operation, its parameters and responses, no script at all.
``/openapi.json`` is always served.
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path
from typing import Any

SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"


def find_assets() -> Path | None:
    """A folder holding Swagger UI 5's ``swagger-ui-bundle.js`` and ``swagger-ui.css``, from
    an installed package; None when no package ships them."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is not None and spec.origin:
        static = Path(spec.origin).parent / "static"
        if (static / SWAGGER_JS).is_file() and (static / SWAGGER_CSS).is_file():
            return static
    spec = importlib.util.find_spec("swagger_ui_bundle")
    if spec is not None and spec.origin:
        vendor = Path(spec.origin).parent / "vendor"
        found = sorted(vendor.glob("swagger-ui-5*"), reverse=True) if vendor.is_dir() else []
        for folder in found:
            if (folder / SWAGGER_JS).is_file() and (folder / SWAGGER_CSS).is_file():
                return folder
    return None


def reference_page(openapi: dict[str, Any]) -> str:
    """A self-contained HTML page describing every operation of ``openapi``: what ``/docs``
    shows where no Swagger UI files are installed."""
    info = openapi.get("info", {})
    title = html.escape(str(info.get("title", "API")))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{title}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;"
        "padding:0 1em;line-height:1.4}code{background:#f3f3f3;padding:0 .2em}"
        "h3{margin-bottom:.2em}.m{font-weight:bold;text-transform:uppercase}"
        "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;"
        "text-align:left}</style></head><body>",
        f"<h1>{title} {html.escape(str(info.get('version', '')))}</h1>",
        "<p>The OpenAPI document is at <a href='/openapi.json'><code>/openapi.json</code></a>. "
        "Install <code>fastapi-offline</code> beside Reef for Swagger UI on this page, "
        "served from this server.</p>",
    ]
    if info.get("description"):
        parts.append(f"<p>{html.escape(str(info['description']))}</p>")
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            parts.append(
                f"<h3><span class='m'>{html.escape(method)}</span> "
                f"<code>{html.escape(path)}</code></h3>"
            )
            summary = operation.get("summary") or ""
            description = operation.get("description") or ""
            if summary:
                parts.append(f"<p><b>{html.escape(summary)}</b></p>")
            if description:
                parts.append(f"<p>{html.escape(description)}</p>")
            parameters = operation.get("parameters", [])
            if parameters:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>about</th></tr>")
                for p in parameters:
                    parts.append(
                        f"<tr><td><code>{html.escape(str(p.get('name')))}</code></td>"
                        f"<td>{html.escape(str(p.get('in')))}</td>"
                        f"<td>{html.escape(str(p.get('description') or ''))}</td></tr>"
                    )
                parts.append("</table>")
            responses = operation.get("responses", {})
            if responses:
                shown = ", ".join(
                    f"{html.escape(str(code))} {html.escape(str(r.get('description', '')))}"
                    for code, r in responses.items()
                )
                parts.append(f"<p>responses: {shown}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
