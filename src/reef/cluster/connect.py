"""Reaching a Dask scheduler, and the local cluster for development and tests.

Dask (``reef-bench[cluster]``) is imported inside these functions, never when ``reef``
starts. A scheduler that cannot be reached is a ``ClusterError`` (exit 3) in one line, within
``timeout_s``; Dask's own retries would keep a command waiting.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from reef.errors import ClusterError

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

CLUSTER_EXTRA = "pip install 'reef-bench[cluster]'"
CONNECT_TIMEOUT_S = 5.0
# A task of a worker that died while running it is given to another worker once; a second
# death marks it failed (Dask's default allows three).
ALLOWED_FAILURES = 1


def _dask() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError(
            f"the cluster needs Dask distributed ({exc.name}): {CLUSTER_EXTRA}"
        ) from exc
    return distributed


def configure() -> None:
    """Dask settings every Reef cluster process uses: worker processes that may start
    processes of their own (a benchmark runs in a worker process), a lost task retried once,
    and the agents' environment left as it was started. Dask would set OMP_NUM_THREADS,
    MKL_NUM_THREADS and OPENBLAS_NUM_THREADS to 1 (and MALLOC_TRIM_THRESHOLD_) for its worker
    processes, in the starting process's own environment: every benchmark an agent runs, and
    every process the client starts later, would be measured with one BLAS thread."""
    import dask

    dask.config.set(
        {
            "distributed.worker.daemon": False,
            "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
            "distributed.worker.memory.terminate": False,
            "distributed.nanny.pre-spawn-environ": {},
        }
    )


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> Client:
    """A client of the scheduler at ``address`` (``tcp://HOST:8786``)."""
    distributed = _dask()
    configure()
    if not address or ("://" not in address and ":" not in address):
        raise ClusterError(
            f"{address!r} is not a scheduler address",
            hint="give tcp://HOST:PORT, as `reef cluster up` prints it",
        )
    try:
        client: Client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
        return client
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address}: {_why(exc)}",
            hint="check the address and that `reef cluster up` (or dask scheduler) runs there",
        ) from None
    except ValueError as exc:  # a malformed address
        raise ClusterError(f"{address!r} is not a scheduler address: {exc}") from None


def close(client: Client) -> None:
    """Close a client (typed: Dask's own close is not)."""
    client.close()


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def start_local(
    workers: int,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    resources: dict[str, float] | None = None,
) -> LocalCluster:
    """A scheduler on ``host`` with ``workers`` process workers (none: a scheduler alone,
    for agents on other machines to join), each offering ``resources`` (an agent's:
    ``reef.api.agent_profile``)."""
    distributed = _dask()
    configure()
    from reef import api

    profile = api.agent_profile()
    try:
        cluster: LocalCluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host=host,
            scheduler_port=port,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            resources=resources if resources is not None else profile["resources"],
        )
    except OSError as exc:
        raise ClusterError(f"cannot start a local cluster: {_why(exc)}") from exc
    from reef.cluster.agent import AgentPlugin

    with contextlib.closing(distributed.Client(cluster, set_as_default=False)) as client:
        client.register_plugin(AgentPlugin(), name="reef-agent")
    return cluster


@contextlib.contextmanager
def client_for(scheduler: str | None, local: int | None) -> Iterator[Client]:
    """A client of the scheduler ``scheduler``, or of a local cluster of ``local`` workers
    started for the block and stopped after it."""
    if scheduler:
        client = connect(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    distributed = _dask()
    cluster = start_local(local or 1)
    try:
        client = distributed.Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
