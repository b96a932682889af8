"""Runs get tags and a free-text search column; backend and version get indexes.

``tags`` (``|tag|tag|``) and ``search_text`` are filled from each stored record. They sit
before ``record_json`` so that SQLite reads them without reading the record.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-20
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

NEW_INDEXES = ("backend", "target_version")
BATCH = 1000


def upgrade() -> None:
    # recreate="always" on SQLite: it can only place the new columns before record_json in a
    # copy. Elsewhere a plain ALTER TABLE adds them last: PostgreSQL cannot drop the old table
    # that run_latencies' foreign key depends on, and has no column order worth a copy.
    sqlite = op.get_bind().dialect.name == "sqlite"
    place: dict[str, Any] = {"insert_before": "record_json"} if sqlite else {}
    with op.batch_alter_table("runs", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("tags", sa.Text(), nullable=True), **place)
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=True), **place)
    for column in NEW_INDEXES:
        op.create_index(op.f(f"ix_runs_{column}"), "runs", [column])

    runs = sa.table(
        "runs",
        sa.column("id", sa.String()),
        sa.column("record_json", sa.Text()),
        sa.column("tags", sa.Text()),
        sa.column("search_text", sa.Text()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(runs.c.id, runs.c.record_json)).all()
    update = (
        runs.update()
        .where(runs.c.id == sa.bindparam("run_id"))
        .values(tags=sa.bindparam("new_tags"), search_text=sa.bindparam("new_text"))
    )
    for start in range(0, len(rows), BATCH):
        values = []
        for run_id, text in rows[start : start + BATCH]:
            tags, search = _derived(json.loads(text))
            values.append({"run_id": run_id, "new_tags": tags, "new_text": search})
        conn.execute(update, values)


def downgrade() -> None:
    for column in NEW_INDEXES:
        op.drop_index(op.f(f"ix_runs_{column}"), table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("search_text")
        batch.drop_column("tags")


def _derived(record: dict[str, Any]) -> tuple[str, str]:
    """A frozen copy of how revision 0002 derives tags and search text from a record."""
    target = record.get("target") or {}
    solution = record.get("solution") or {}
    predictor = record.get("predictor") or {}
    tags = [str(target.get("kind") or "")]
    if solution.get("name"):
        tags.append(str(solution["name"]))
    extra = target.get("tags")
    if isinstance(extra, list):
        tags.extend(str(t) for t in extra)
    tags = list(dict.fromkeys(t.lower() for t in tags if t))
    parts = [
        target.get("name"),
        target.get("version"),
        (record.get("settings") or {}).get("scenario"),
        predictor.get("name"),
        record.get("status"),
        *(record.get("reasons") or []),
        solution.get("name"),
        *tags,
    ]
    search = "\n".join(str(p) for p in parts if p).lower()
    return "|" + "|".join(tags) + "|", search
