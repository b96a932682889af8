"""Runs get a covering index of the columns analyses read, so that a Pareto frontier or a
scoreboard over 100,000 runs reads the index, not every wide row with its record.

Each row of ``runs`` carries its whole record (a few KB), so scanning the table to read three
numbers per run reads the whole database file; this index holds the filtered and ranked
columns of every run in a few percent of that. ``status`` leads, since ``reef board`` always
selects valid runs.

The index is made only where it is missing, so that this revision may be replayed over tables
that already have it (a repaired ``alembic_version``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

NAME = "ix_runs_analysis"
# A frozen copy of reef.results.models.ANALYSIS_COLUMNS at this revision.
COLUMNS = (
    "status", "target_name", "scenario", "hardware", "backend", "target_version", "created_at",
    "p50_ms", "p90_ms", "p99_ms", "throughput_qps", "accuracy_value", "accuracy_metric",
    "tags", "id",
)  # fmt: skip


def upgrade() -> None:
    op.create_index(NAME, "runs", list(COLUMNS), if_not_exists=True)


def downgrade() -> None:
    op.drop_index(NAME, table_name="runs")
