"""Runs get a hardware label: the CPU model, and the GPUs the run saw, for scoreboards.

``hardware`` is filled from each stored record's environment, so that ``reef board`` groups
runs by hardware without reading their records. It sits before ``record_json``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

BATCH = 1000


def upgrade() -> None:
    # A copy on SQLite, to place the column before record_json; ALTER TABLE elsewhere (0002).
    sqlite = op.get_bind().dialect.name == "sqlite"
    place: dict[str, Any] = {"insert_before": "record_json"} if sqlite else {}
    with op.batch_alter_table("runs", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("hardware", sa.String(255), nullable=True), **place)
    op.create_index(op.f("ix_runs_hardware"), "runs", ["hardware"])

    runs = sa.table(
        "runs",
        sa.column("id", sa.String()),
        sa.column("record_json", sa.Text()),
        sa.column("hardware", sa.String()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(runs.c.id, runs.c.record_json)).all()
    update = (
        runs.update()
        .where(runs.c.id == sa.bindparam("run_id"))
        .values(hardware=sa.bindparam("label"))
    )
    for start in range(0, len(rows), BATCH):
        values = [
            {"run_id": run_id, "label": _label(json.loads(text).get("environment"))}
            for run_id, text in rows[start : start + BATCH]
        ]
        conn.execute(update, values)


def downgrade() -> None:
    op.drop_index(op.f("ix_runs_hardware"), table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("hardware")


def _label(environment: Any) -> str:
    """A frozen copy of how revision 0003 labels a run's hardware."""
    hardware = environment.get("hardware") if isinstance(environment, dict) else None
    if not isinstance(hardware, dict):
        return "unknown hardware"
    cpu = hardware.get("cpu")
    model = cpu.get("model") if isinstance(cpu, dict) else None
    label = model.strip() if isinstance(model, str) and model.strip() else "unknown hardware"
    gpu = hardware.get("gpu")
    devices = gpu.get("devices") if isinstance(gpu, dict) else None
    if isinstance(devices, list):
        names: dict[str, int] = {}
        for device in devices:
            name = device.get("name") if isinstance(device, dict) else None
            if isinstance(name, str) and name:
                names[name] = names.get(name, 0) + 1
        parts = [name if n == 1 else f"{n}x {name}" for name, n in names.items()]
        if parts:
            label = f"{label} + {', '.join(parts)}"
    return label
