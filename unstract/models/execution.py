"""Executions and file executions with their status machines (docs/EXECUTION.md, Statuses)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from unstract.extensions import db
from unstract.models.base import JSONType, StoredResult, Timestamps, UTCDateTime, uuid_pk
from unstract.models.plan import ExecutionPlan


class Status(StrEnum):
    """Statuses shared by executions and file executions."""

    PENDING = "PENDING"
    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


TERMINAL = frozenset({Status.COMPLETED, Status.STOPPED, Status.ERROR})
NON_TERMINAL = frozenset({Status.PENDING, Status.EXECUTING})
STATUS_VALUES = tuple(s.value for s in Status)


class Phase(StrEnum):
    """Internal progress of an execution; tells the reaper which job owns it."""

    QUEUED = "QUEUED"
    LISTING = "LISTING"
    PROCESSING = "PROCESSING"
    AWAITING_ACTION = "AWAITING_ACTION"
    RUNNING_STEP = "RUNNING_STEP"
    DONE = "DONE"


class ExecutionType(StrEnum):
    COMPLETE = "COMPLETE"
    STEP = "STEP"


class LLMUsage:
    """Tokens, calls and cost of the LLM calls made (docs/EXECUTION.md, Usage and cost); a file counts its
    own tools' calls, an execution the sum of its files'. cost_usd is null while no call had a known price."""

    prompt_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    llm_calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)


class Execution(LLMUsage, Timestamps, db.Model):
    __tablename__ = "execution"
    __table_args__ = (
        Index("ix_execution_workflow_created", "workflow_id", "created_at", "id"),
        Index("ix_execution_workflow_status", "workflow_id", "status", "created_at", "id"),
        Index("ix_execution_org_status", "organization_id", "status"),
        Index("ix_execution_status_phase_lease", "status", "phase", "lease_expires_at"),
        Index("ix_execution_retry_of", "retry_of"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    execution_mode: Mapped[str] = mapped_column(String(8), nullable=False, default="INSTANT")
    execution_type: Mapped[str] = mapped_column(String(8), nullable=False, default=ExecutionType.COMPLETE)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=Status.PENDING)
    phase: Mapped[str] = mapped_column(String(16), nullable=False, default=Phase.QUEUED)
    total_files: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    successful_files: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_files: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error_message: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    execution_time: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    use_file_history: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    awaiting_action: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    next_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_steps: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    timeout: Mapped[int] = mapped_column(Integer, nullable=False, default=300)
    stop_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The frozen source, destination and tools of a run (kilobytes); no list reads it (EXECUTION_COLUMNS).
    plan: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    # The execution whose failed files this one runs again (docs/EXECUTION.md, Retrying failed files).
    retry_of: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="SET NULL"), nullable=True
    )

    workflow = relationship("Workflow")

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def run_plan(self) -> ExecutionPlan:
        """The plan column as a typed value, read once per stored value (jobs ask for it per file)."""
        raw = self.plan
        cached = self.__dict__.get("_run_plan")
        if cached is None or cached[0] is not raw:
            cached = self.__dict__["_run_plan"] = (raw, ExecutionPlan.from_json(raw))
        return cached[1]

    @run_plan.setter
    def run_plan(self, value: ExecutionPlan) -> None:
        self.plan = value.to_json()


class FileExecution(LLMUsage, StoredResult, Timestamps, db.Model):
    __tablename__ = "file_execution"
    __table_args__ = (
        UniqueConstraint("execution_id", "file_number"),
        Index("ix_file_execution_execution_status", "execution_id", "status"),
        Index("ix_file_execution_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="CASCADE"), nullable=False
    )
    file_number: Mapped[int] = mapped_column(Integer, nullable=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    file_size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    file_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    provider_file_uuid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    mime_type: Mapped[str] = mapped_column(String(128), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=Status.PENDING)
    execution_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    execution_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    claim_token: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    steps_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    staged_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_mtime: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The text the file's first text-producing step extracted (cut at UNSTRACT_MAX_TEXT_CHARS), for a
    # deployment run's include_extracted_text whatever the last step outputs; read only when asked for.
    extracted_text: Mapped[str | None] = mapped_column(Text, nullable=True, deferred=True)

    execution: Mapped[Execution] = relationship()
