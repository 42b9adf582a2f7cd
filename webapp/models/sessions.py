"""Sessions (runs of a flow version), their step runs, and idempotency records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import JSONType, UTCDateTime, UUIDStr, new_uuid, utcnow


class Session(db.Model):  # type: ignore[name-defined,misc]
    """One run of one flow version."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_flow_pk", "flow_id", "pk"),
        Index("ix_sessions_flow_status_pk", "flow_id", "status", "pk"),
        Index("ix_sessions_flow_updated", "flow_id", "updated_at"),
        Index("ix_sessions_runner", "run", "status"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    # org_id is denormalised so every scope check is one indexed comparison.
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    flow_version_id: Mapped[str] = mapped_column(
        ForeignKey("flow_versions.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="NEW")
    steps_count: Mapped[int] = mapped_column(Integer, default=0)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    # True when the built-in runner was asked to execute this session.
    run: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on every change; the ETag is derived from it.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StepRun(db.Model):  # type: ignore[name-defined,misc]
    """One executed step of a session (durable: the runner resumes from these)."""

    __tablename__ = "step_runs"
    __table_args__ = (Index("ix_step_runs_session_position", "session_id", "position"),)

    id: Mapped[str] = mapped_column(UUIDStr, primary_key=True, default=new_uuid)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rendered_prompt: Mapped[Any] = mapped_column(JSONType, nullable=True)
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    transition_id: Mapped[str | None] = mapped_column(UUIDStr)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class IdempotencyRecord(db.Model):  # type: ignore[name-defined,misc]
    """The first answer to a creating POST with an Idempotency-Key, kept 24 hours."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("org_id", "method", "path", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    key: Mapped[str] = mapped_column(String(255))
    body_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="processing")
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
