"""``reef cluster status``: the agents a scheduler has, their hardware and what each runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from distributed import Client


class AgentInfo(BaseModel):
    address: str
    name: str
    host: str | None = None
    hardware: str | None = None  # None: a plain Dask worker, not a Reef agent
    backends: list[str] = Field(default_factory=list)
    gpus: int = 0
    resources: dict[str, float] = Field(default_factory=dict)
    running: list[str] = Field(default_factory=list, description="the tasks it runs now")


class ClusterStatus(BaseModel):
    scheduler: str
    agents: list[AgentInfo]


def cluster_status(client: Client) -> ClusterStatus:
    from reef.cluster.agent import METADATA_KEY

    info = client.scheduler_info(n_workers=-1)
    profiles: dict[str, Any] = client.get_metadata([METADATA_KEY], default={}) or {}
    processing: dict[str, list[Any]] = client.processing()
    agents = []
    for address, worker in sorted(info.get("workers", {}).items()):
        profile = profiles.get(address) or {}
        agents.append(
            AgentInfo(
                address=address,
                name=str(worker.get("name", address)),
                host=profile.get("host"),
                hardware=profile.get("hardware"),
                backends=list(profile.get("backends") or []),
                gpus=int(profile.get("gpus") or 0),
                resources=dict(worker.get("resources") or {}),
                running=[_task_name(k) for k in processing.get(address, [])],
            )
        )
    return ClusterStatus(scheduler=str(info.get("address", "")), agents=agents)


def _task_name(key: Any) -> str:
    text = str(key)
    return text.removeprefix("reef-cell-")


def scheduler_status(address: str) -> ClusterStatus:
    """``cluster_status`` of the scheduler at ``address``, over a client of its own."""
    from reef.cluster.connect import close, connect

    client = connect(address)
    try:
        return cluster_status(client)
    finally:
        close(client)
