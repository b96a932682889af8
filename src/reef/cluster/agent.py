"""``reef agent``: a Dask worker that runs Reef's cells on this machine.

It advertises what ``reef detect`` finds as Dask worker resources (``reef.api.agent_profile``:
``bench`` 1, so that the machine runs one measurement at a time; its hardware label; its
backends; its GPUs), and a worker plugin publishes its profile to the scheduler
(``reef-agents`` in the scheduler's metadata), which ``reef cluster status`` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from distributed import WorkerPlugin

METADATA_KEY = "reef-agents"


class AgentPlugin(WorkerPlugin):
    """Publishes the worker's agent profile to the scheduler when the worker starts, and
    takes it back when it closes."""

    name = "reef-agent"

    async def setup(self, worker: Any) -> None:
        from reef import api

        loop = asyncio.get_running_loop()
        profile = await loop.run_in_executor(None, api.agent_profile)
        profile["name"] = str(worker.name)
        await worker.scheduler.set_metadata(keys=[METADATA_KEY, worker.address], value=profile)

    async def teardown(self, worker: Any) -> None:
        with contextlib.suppress(Exception):  # the scheduler is gone: nothing to take back
            await worker.scheduler.set_metadata(keys=[METADATA_KEY, worker.address], value=None)


def run_agent(scheduler: str, *, name: str | None = None, timeout_s: float = 30.0) -> None:
    """Run an agent until it is stopped (SIGTERM, Ctrl-C) or its scheduler goes away: a Dask
    nanny keeping one single-threaded worker process with this machine's resources."""
    from distributed import Nanny

    from reef import api
    from reef.cluster.connect import configure
    from reef.errors import ClusterError

    configure()
    profile = api.agent_profile()

    async def main() -> None:
        try:
            nanny = Nanny(
                scheduler,
                name=name,
                nthreads=1,
                resources=profile["resources"],
                plugins={AgentPlugin()},
                death_timeout=timeout_s,
                dashboard=False,
            )
            await asyncio.wait_for(nanny.start(), timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler}: {exc or type(exc).__name__}",
                hint="check the address and that `reef cluster up` runs there",
            ) from None
        try:
            await nanny.finished()
        finally:
            await nanny.close()

    asyncio.run(main())
