"""The web dashboard: pages rendered on the server (``reef.server.web.pages``), with inline
SVG charts (``charts``), one small script and one style sheet served by the server itself
(``assets``), and every value escaped on its way into a page (``markup``)."""

from __future__ import annotations

from reef.server.web.pages import router

__all__ = ["router"]
