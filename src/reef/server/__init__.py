"""Reef's server: the REST API over a database of submitted runs, with tokens, limits and an
audit log (``reef server``; install ``reef-bench[server]``).

A face, like the CLI: every endpoint calls a ``reef.api`` verb. ``create_app`` (in
``reef.server.app``) builds the FastAPI application for an open server database; ``reef
server`` serves it with uvicorn. FastAPI is imported only here, never by ``import reef``.
"""
