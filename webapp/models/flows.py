"""Flows and their immutable versions: steps and transitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.types import JSONType, UTCDateTime, UUIDStr, new_uuid, utcnow


class Flow(db.Model):  # type: ignore[name-defined,misc]
    """A flow of one organisation; live when it has a current version and is not archived."""

    __tablename__ = "flows"
    __table_args__ = (Index("ix_flows_org_pk", "org_id", "pk"),)

    # pk orders by creation ("newest first" even within one clock tick); id is the public UUID.
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    current_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("flow_versions.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    current_version: Mapped[FlowVersion | None] = relationship(foreign_keys=[current_version_id])

    @property
    def is_live(self) -> bool:
        return self.current_version_id is not None and self.archived_at is None


class FlowVersion(db.Model):  # type: ignore[name-defined,misc]
    """An immutable graph; `doc` is its FlowVersionRead JSON, written once at creation."""

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "number"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(UUIDStr, unique=True, default=new_uuid)
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    doc: Mapped[str] = mapped_column(Text)

    steps: Mapped[list[Step]] = relationship(order_by="Step.position", back_populates="version")
    transitions: Mapped[list[StepTransition]] = relationship(
        order_by="StepTransition.position", back_populates="version"
    )


class Step(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "steps"

    id: Mapped[str] = mapped_column(UUIDStr, primary_key=True, default=new_uuid)
    version_id: Mapped[str] = mapped_column(ForeignKey("flow_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    step_type: Mapped[str] = mapped_column(String(20))
    prompt_template: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[FlowVersion] = relationship(back_populates="steps")


class StepTransition(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "step_transitions"

    id: Mapped[str] = mapped_column(UUIDStr, primary_key=True, default=new_uuid)
    version_id: Mapped[str] = mapped_column(ForeignKey("flow_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    source_step_id: Mapped[str] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"))
    target_step_id: Mapped[str] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"))
    label: Mapped[str | None] = mapped_column(String(200))

    version: Mapped[FlowVersion] = relationship(back_populates="transitions")
