"""Initial schema: runs and their raw latencies.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

RUN_INDEXES = ("created_at", "scenario", "status", "target_name")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scenario", sa.String(32), nullable=False),
        sa.Column("target_name", sa.String(255), nullable=False),
        sa.Column("target_version", sa.String(64), nullable=True),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(64), nullable=True),
        sa.Column("p50_ms", sa.Float(), nullable=True),
        sa.Column("p90_ms", sa.Float(), nullable=True),
        sa.Column("p99_ms", sa.Float(), nullable=True),
        sa.Column("throughput_qps", sa.Float(), nullable=True),
        sa.Column("accuracy_value", sa.Float(), nullable=True),
        sa.Column("accuracy_metric", sa.String(64), nullable=True),
        sa.Column("format_version", sa.Integer(), nullable=False),
        sa.Column("record_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    for column in RUN_INDEXES:
        op.create_index(op.f(f"ix_runs_{column}"), "runs", [column])

    op.create_table(
        "run_latencies",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("dtype", sa.String(16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_latencies_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_latencies")),
    )


def downgrade() -> None:
    op.drop_table("run_latencies")
    for column in RUN_INDEXES:
        op.drop_index(op.f(f"ix_runs_{column}"), table_name="runs")
    op.drop_table("runs")
