"""The results database's tables.

Changing a table here needs a new revision in ``migrations/versions``: revisions are frozen
copies of the schema, so they never import this module.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Every constraint gets a predictable name: SQLite batch migrations can only drop or alter
# constraints they can name, and the names must match those written in the revisions.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Since revision 0004: a covering index of what analyses filter and rank by, so that a Pareto
# frontier or a board over many runs reads it instead of the wide rows (status first: a board
# reads valid runs only). Its order is frozen in the revision.
ANALYSIS_INDEX = "ix_runs_analysis"
ANALYSIS_COLUMNS = (
    "status", "target_name", "scenario", "hardware", "backend", "target_version", "created_at",
    "p50_ms", "p90_ms", "p99_ms", "throughput_qps", "accuracy_value", "accuracy_metric",
    "tags", "id",
)  # fmt: skip


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RunRow(Base):
    """One run. The columns are copies of record fields that are filtered or sorted on;
    ``record_json`` is the record itself and the only thing read back."""

    __tablename__ = "runs"
    __table_args__ = (Index(ANALYSIS_INDEX, *ANALYSIS_COLUMNS),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Naive UTC: SQLite has no time zones, and a uniform zone keeps ORDER BY correct.
    created_at: Mapped[datetime] = mapped_column(DateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    scenario: Mapped[str] = mapped_column(String(32), index=True)
    target_name: Mapped[str] = mapped_column(String(255), index=True)
    target_version: Mapped[str | None] = mapped_column(String(64), index=True)
    target_kind: Mapped[str] = mapped_column(String(16))
    backend: Mapped[str | None] = mapped_column(String(64), index=True)
    p50_ms: Mapped[float | None] = mapped_column(Float())
    p90_ms: Mapped[float | None] = mapped_column(Float())
    p99_ms: Mapped[float | None] = mapped_column(Float())
    throughput_qps: Mapped[float | None] = mapped_column(Float())
    accuracy_value: Mapped[float | None] = mapped_column(Float())
    accuracy_metric: Mapped[str | None] = mapped_column(String(64))
    format_version: Mapped[int] = mapped_column(Integer())
    # Since revision 0002. ``tags`` is ``|tag|tag|`` (see reef.results.query.run_tags);
    # ``search_text`` is what free-text search looks in, lower-cased.
    tags: Mapped[str | None] = mapped_column(Text())
    search_text: Mapped[str | None] = mapped_column(Text())
    # Since revision 0003: the CPU model and GPUs (reef.results.query.run_hardware).
    hardware: Mapped[str | None] = mapped_column(String(255), index=True)
    record_json: Mapped[str] = mapped_column(Text())


class LatencyRow(Base):
    """A run's raw per-query latencies, kept apart so that listing runs never reads them."""

    __tablename__ = "run_latencies"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(Integer())
    dtype: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary())


class TokenRow(Base):
    """Since revision 0005: one API token of the server. ``secret_sha256`` is the SHA-256 of
    its secret (32 random bytes); the secret itself is never stored."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    # Naive UTC, as runs.created_at.
    created_at: Mapped[datetime] = mapped_column(DateTime())
    created_by: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime())


class AuditRow(Base):
    """Since revision 0005: one write made through the server or on its database."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    client: Mapped[str | None] = mapped_column(String(255))


class SubmissionRow(Base):
    """Since revision 0006: one run submitted to the server: the token that submitted it,
    when, whether an independent rerun verified it, and what finds its reruns (the key of its
    configuration and its hardware label, ``reef.api.verification``)."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_config_key", "config_key", "hardware"),)

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    token_id: Mapped[str | None] = mapped_column(String(32))
    # Naive UTC, as runs.created_at.
    submitted_at: Mapped[datetime] = mapped_column(DateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)
    config_key: Mapped[str] = mapped_column(String(64))
    hardware: Mapped[str] = mapped_column(String(255))


class VerificationRow(Base):
    """Since revision 0006: one submitted run judged against another of the same
    configuration and hardware from another token, with ``reef reproduce``'s verdict."""

    __tablename__ = "verifications"
    __table_args__ = (UniqueConstraint("run_id", "verifying_run_id"),)

    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.id", ondelete="CASCADE"))
    verifying_run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    verdict: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text())
    at: Mapped[datetime] = mapped_column(DateTime())
