"""The server's submissions and their verifications.

``submissions`` holds one row per run submitted to a server: the token that submitted it
(None: stored without one), when, its status (``unverified`` until an independent rerun
reproduces it, then ``verified``), and what finds its reruns: the key of its configuration
(``reef.api.verification.configuration_key``) and its hardware label. ``verifications``
holds each judged pair: the run, the rerun that was judged against it, the verdict
(``reproduced``, ``differs`` or ``inconclusive``, the rule of ``reef reproduce``), a line of
detail and when. Rows go with their runs (``ON DELETE CASCADE``). Both are plain tables that
every Reef database gets; a results database that never serves leaves them empty.

The tables and indexes are made only where they are missing, so that this revision may be
replayed over tables that already have them (revisions 0003 to 0006 leave the runs table
alike).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("token_id", sa.String(32), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config_key", sa.String(64), nullable=False),
        sa.Column("hardware", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_submissions_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_submissions")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_submissions_config_key"),
        "submissions",
        ["config_key", "hardware"],
        if_not_exists=True,
    )
    op.create_index(op.f("ix_submissions_status"), "submissions", ["status"], if_not_exists=True)
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("verifying_run_id", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_verifications_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["verifying_run_id"],
            ["runs.id"],
            name=op.f("fk_verifications_verifying_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verifications")),
        sa.UniqueConstraint("run_id", "verifying_run_id", name=op.f("uq_verifications_run_id")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_verifications_verifying_run_id"),
        "verifications",
        ["verifying_run_id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_verifications_verifying_run_id"), table_name="verifications")
    op.drop_table("verifications")
    op.drop_index(op.f("ix_submissions_status"), table_name="submissions")
    op.drop_index(op.f("ix_submissions_config_key"), table_name="submissions")
    op.drop_table("submissions")
