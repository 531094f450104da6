"""Schedules of workflows and the history of their fired runs (docs/EXECUTION.md, Schedules)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from unstract.extensions import db
from unstract.models.base import Timestamps, UTCDateTime, utcnow, uuid_pk


class RunStatus(StrEnum):
    """What became of one due time: claimed by a worker, then started, skipped or failed to start."""

    CLAIMED = "CLAIMED"
    STARTED = "STARTED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


class Schedule(Timestamps, db.Model):
    __tablename__ = "schedule"
    # The scheduler's one query: active schedules by due time.
    __table_args__ = (Index("ix_schedule_due", "is_active", "next_run_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
    )
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False, index=True
    )
    cron: Mapped[str] = mapped_column(String(128), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    description: Mapped[str] = mapped_column(String(490), nullable=False, default="")
    allow_overlap: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_run_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    workflow = relationship("Workflow")
    creator = relationship("User", foreign_keys=[created_by])


class ScheduleRun(db.Model):
    """One due time of a schedule. The unique (schedule_id, due_at) is the claim: a due time is fired
    by whichever worker inserts its row, and by no other."""

    __tablename__ = "schedule_run"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at", name="uq_schedule_run_due"),
        Index("ix_schedule_run_status_claimed", "status", "claimed_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("schedule.id", ondelete="CASCADE"), nullable=False
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=RunStatus.CLAIMED)
    reason: Mapped[str] = mapped_column(String(490), nullable=False, default="")
    execution_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="SET NULL"), nullable=True
    )
