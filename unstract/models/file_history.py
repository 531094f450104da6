"""File history (what was processed) and reservations (what is being processed): docs/EXECUTION.md, File history."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, func, text
from sqlalchemy.orm import Mapped, mapped_column

from unstract.extensions import db
from unstract.models.base import JSONType, StoredResult, Timestamps, UTCDateTime, utcnow, uuid_pk


class FileHistory(StoredResult, Timestamps, db.Model):
    __tablename__ = "file_history"
    __table_args__ = (
        UniqueConstraint("workflow_id", "path_key", "cache_key"),
        # The primary key ends each list index, so a page's keys are found in the index alone (issue 6).
        Index("ix_file_history_wf_created", "workflow_id", "created_at", "id"),
        Index("ix_file_history_wf_modified", "workflow_id", "modified_at", "id"),
        Index("ix_file_history_wf_status", "workflow_id", "status", "created_at", "id"),
        Index("ix_file_history_wf_count", "workflow_id", "execution_count"),  # narrow: unfiltered counts use it
        Index("ix_file_history_wf_path", "workflow_id", "file_path", "id"),
        # The case-insensitive path prefix filter searches this range (services.file_history); the columns
        # after it let prefix-filtered counts and page keys come from the index alone, on both databases.
        Index("ix_file_history_wf_lower_path", "workflow_id", func.lower(text("file_path")).label("lower_path"),
              "file_path", "status", "execution_count", "created_at", "id",
              postgresql_ops={"lower_path": "text_pattern_ops"}),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False
    )
    cache_key: Mapped[str] = mapped_column(String(64), nullable=False)
    provider_file_uuid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    file_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    path_key: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    execution_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, nullable=False, default=dict)


class FileReservation(db.Model):
    __tablename__ = "file_reservation"
    __table_args__ = (UniqueConstraint("workflow_id", "path_key", "cache_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow.id", ondelete="CASCADE"), nullable=False
    )
    path_key: Mapped[str] = mapped_column(String(1000), nullable=False)
    cache_key: Mapped[str] = mapped_column(String(64), nullable=False)
    execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="CASCADE"), nullable=False, index=True
    )
    file_execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("file_execution.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


