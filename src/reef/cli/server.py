"""reef server [--host] [--port] [--db URL] / reef server init-db [--db URL]

FastAPI and uvicorn (``reef-bench[server]``) are imported inside the command, never when
``reef`` starts.
"""

from __future__ import annotations

import os

import typer

from reef.cli._common import emit_json, stderr
from reef.errors import Terminated

app = typer.Typer(
    help="Serve Reef's REST API over a database of submitted runs (reef-bench[server]).",
    invoke_without_command=True,
)

_DB_HELP = (
    "the server's database, any SQLAlchemy URL (postgresql+psycopg://...) "
    "[REEF_SERVER_DB_URL, else REEF_HOME/server/reef-server.db]"
)
SERVER_EXTRA = "pip install 'reef-bench[server]'"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _check_address(host: str, port: int) -> None:
    """Refuse, before anything starts, an address this machine cannot listen on: a host it
    does not have, a port in use or not allowed."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise typer.BadParameter(f"{host!r}: {exc}", param_hint="--host") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise typer.BadParameter(
                f"cannot listen on {host}:{port}: {reason}", param_hint="--host/--port"
            ) from exc


@app.callback()
def server(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="the address to listen on"),
    port: int = typer.Option(8686, "--port", min=0, max=65535, help="the port to listen on"),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    anonymous_reads: bool = typer.Option(
        True,
        "--anonymous-reads/--no-anonymous-reads",
        help="whether runs may be read without a token",
    ),
    rate_limit: float = typer.Option(
        20.0, "--rate-limit", min=0, help="requests a second per token or address (0: no limit)"
    ),
    rate_burst: int = typer.Option(60, "--rate-burst", min=1, help="requests at once"),
    max_body_mb: float = typer.Option(
        64.0, "--max-body", min=0.001, help="the largest request body taken, in MiB"
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn's log level"),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        metavar="ADDR",
        help="a Dask scheduler (tcp://HOST:8786) the dashboard's evaluation form starts "
        "sweeps on (reef-bench[cluster])",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="server processes sharing the port (uvicorn's workers); each applies the rate "
        "limit on its own",
    ),
) -> None:
    """Serve Reef's REST API (under /api/v1; docs at /docs) over the server's database:
    submitted runs, listed and read, and tokens. The database is created, or its schema
    upgraded, first; one a newer Reef wrote is refused. SIGTERM or Ctrl-C stops it."""
    if ctx.invoked_subcommand is not None:
        return
    from reef import api

    try:
        import uvicorn

        from reef.server.app import (
            WORKER_ENV,
            ServerSettings,
            create_app,
            worker_environment,
        )
    except ImportError as exc:
        raise typer.BadParameter(
            f"the server needs {exc.name or 'FastAPI and uvicorn'}: {SERVER_EXTRA}"
        ) from exc

    if log_level.lower() not in LOG_LEVELS:
        raise typer.BadParameter(
            f"{log_level!r} is not one of {', '.join(LOG_LEVELS)}", param_hint="--log-level"
        )
    _check_address(host, port)
    settings = ServerSettings(
        anonymous_reads=anonymous_reads,
        rate=rate_limit,
        burst=rate_burst,
        max_body=int(max_body_mb * 1024 * 1024),
        scheduler=scheduler,
    )
    database = api.server_open(db)
    try:
        reads = "anonymous reads on" if anonymous_reads else "reads need a token"
        processes = f"; {workers} worker processes" if workers > 1 else ""
        if scheduler:
            processes += f"; evaluations on {scheduler}"
        stderr.print(
            f"Reef server on http://{host}:{port} (docs at /docs; database {database.shown}; "
            f"{reads}{processes})",
            markup=False,
        )
        try:
            if workers == 1:
                application = create_app(database, settings)
                uvicorn.run(application, host=host, port=port, log_level=log_level.lower())
            else:
                # Each worker opens the database itself (its schema is up to date by now).
                os.environ[WORKER_ENV] = worker_environment(database.url, settings)
                uvicorn.run(
                    "reef.server.app:create_worker_app",
                    factory=True,
                    workers=workers,
                    host=host,
                    port=port,
                    log_level=log_level.lower(),
                )
        except (KeyboardInterrupt, Terminated):
            # uvicorn stopped gracefully on the signal, then raised it again: a server
            # stopped by Ctrl-C or SIGTERM has ended as it should (exit 0).
            stderr.print("Reef server stopped", markup=False)
    finally:
        database.close()


@app.command("init-db")
def init_db(
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Create the server's database, or upgrade its schema to this Reef's (the server also
    does this when it starts). A database a newer Reef wrote is refused, unchanged."""
    from reef import api

    status = api.server_init_db(db)
    if json_out:
        emit_json(status.model_dump(mode="json"))
        return
    if status.was is None:
        done = f"created at schema revision {status.revision}"
    elif status.upgraded:
        done = f"upgraded from schema revision {status.was} to {status.revision}"
    else:
        done = f"already at schema revision {status.revision}"
    stderr.print(f"server database {status.database}: {done}", markup=False)
