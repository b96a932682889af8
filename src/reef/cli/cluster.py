"""reef cluster up --local N / reef cluster status --scheduler ADDR / reef agent --scheduler ADDR

Dask (``reef-bench[cluster]``) is imported inside the commands.
"""

from __future__ import annotations

import typer

from reef.cli._common import emit_json, stderr, stdout
from reef.errors import Terminated

app = typer.Typer(
    help="A Dask cluster of Reef agents: start a local one, see its agents (reef-bench[cluster]).",
    no_args_is_help=True,
)


@app.command("up")
def up(
    local: int = typer.Option(
        ..., "--local", min=0, max=64, help="local process workers (agents) to start; 0: none"
    ),
    port: int = typer.Option(8786, "--port", min=0, max=65535, help="the scheduler's port"),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="the address to listen on (0.0.0.0: every interface)"
    ),
) -> None:
    """Start a Dask scheduler with N local process workers, each a Reef agent (0: the
    scheduler alone, for `reef agent` on other machines); it runs until Ctrl-C or SIGTERM."""
    import time

    from reef.cluster.connect import start_local

    cluster = start_local(local, port=port, host=host)
    try:
        stderr.print(
            f"Dask scheduler at {cluster.scheduler_address} with {local} Reef agent(s); "
            "Ctrl-C stops it",
            markup=False,
        )
        stdout.print(cluster.scheduler_address, markup=False)
        while True:
            time.sleep(1)
    except (KeyboardInterrupt, Terminated):
        stderr.print("cluster stopped", markup=False)
    finally:
        cluster.close()


@app.command("status")
def status(
    scheduler: str = typer.Option(..., "--scheduler", metavar="ADDR", help="tcp://HOST:8786"),
    json_out: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The scheduler's agents: their hardware, backends, resources and what each runs."""
    from reef.cluster.connect import connect
    from reef.cluster.status import cluster_status

    client = connect(scheduler)
    try:
        found = cluster_status(client)
    finally:
        client.close()
    if json_out:
        emit_json(found.model_dump(mode="json"))
        return
    stdout.print(f"scheduler {found.scheduler}: {len(found.agents)} agent(s)", markup=False)
    for agent in found.agents:
        what = agent.hardware or "not a Reef agent"
        running = ", ".join(agent.running) if agent.running else "idle"
        stdout.print(
            f"  {agent.name} ({agent.address}) {what}; backends "
            f"{', '.join(agent.backends) or '-'}; GPUs {agent.gpus}; {running}",
            markup=False,
            highlight=False,
        )


def agent(
    scheduler: str = typer.Option(..., "--scheduler", metavar="ADDR", help="tcp://HOST:8786"),
    name: str | None = typer.Option(None, "--name", help="the agent's name (default: Dask's)"),
) -> None:
    """Run a Reef agent: a Dask worker offering this machine's hardware, backends and GPUs
    as resources, one measurement at a time, until Ctrl-C or SIGTERM."""
    from reef.cluster.agent import run_agent

    stderr.print(f"Reef agent for {scheduler}; Ctrl-C stops it", markup=False)
    try:
        run_agent(scheduler, name=name)
    except (KeyboardInterrupt, Terminated):
        stderr.print("agent stopped", markup=False)
