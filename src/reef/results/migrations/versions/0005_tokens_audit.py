"""The server's API tokens and its audit log of writes.

``tokens`` holds one row per token ``reef token create`` (or the REST API) made: its public
id, name and scope, when it expires and whether it was revoked, and the SHA-256 of its secret;
the secret itself is never stored. ``audit_log`` records every write made through the server
or on its database: who (a token id, or the local admin), what, when, the target's id and the
client's address. Both are plain tables that every Reef database gets; a results database
that never serves leaves them empty.

The tables and the index are made only where they are missing, so that this revision may be
replayed over tables that already have them (a repaired ``alembic_version``: revisions 0003
to 0005 leave the runs table alike).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        if_not_exists=True,
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("client", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("tokens")
