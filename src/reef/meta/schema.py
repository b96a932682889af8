"""The JSON Schemas Reef publishes: each manifest kind, any component, the lock file, the run
record and the bench settings (``reef schema KIND``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from reef.errors import ReefError
from reef.meta.load import any_manifest, kinds
from reef.meta.lock import Lock
from reef.meta.run import RunRecord
from reef.meta.settings import BenchSettings

SCHEMA_KINDS = (
    "component",
    "model",
    "dataset",
    "solution",
    "program",
    "detector",
    "lock",
    "run",
    "settings",
)


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``kind``, one of ``SCHEMA_KINDS``: ``component`` is the union of
    every manifest kind, told apart by its ``kind`` field. Another ``kind`` is refused."""
    if kind not in SCHEMA_KINDS:
        raise ReefError(
            f"unknown schema kind {kind!r}", hint=f"choose from {', '.join(SCHEMA_KINDS)}"
        )
    if kind == "component":
        union: TypeAdapter[Any] = TypeAdapter(
            Annotated[any_manifest(), Field(discriminator="kind")]  # type: ignore[arg-type]
        )
        out: dict[str, Any] = union.json_schema()
        out["title"] = "Reef component (reef.yaml)"
        return out
    others: dict[str, type[BaseModel]] = {"lock": Lock, "run": RunRecord, "settings": BenchSettings}
    return (kinds().get(kind) or others[kind]).model_json_schema()
