"""Execution log rows, inserted directly by workers and the API (docs/EXECUTION.md, Logs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unstract.extensions import db
from unstract.models.base import JSONType, UTCDateTime, utcnow


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


LEVEL_ORDER = {LogLevel.DEBUG: 0, LogLevel.INFO: 1, LogLevel.WARN: 2, LogLevel.ERROR: 3}


class Stage(StrEnum):
    INITIALIZE = "INITIALIZE"
    SOURCE = "SOURCE"
    PROCESSING = "PROCESSING"
    TOOL = "TOOL"
    DESTINATION = "DESTINATION"
    FINALIZE = "FINALIZE"


class ExecutionLog(db.Model):
    __tablename__ = "execution_log"
    __table_args__ = (
        # level_rank rides along so a minimum-level filter is counted and paged in the index alone.
        Index("ix_execution_log_exec_time_id", "execution_id", "event_time", "id", "level_rank"),
        # file_execution_id first: the cascade from a deleted file execution searches it too.
        Index("ix_execution_log_file_exec_time", "file_execution_id", "execution_id", "event_time", "id"),
        Index("ix_execution_log_exec_id", "execution_id", "id"),  # the `after` tail: O(new rows)
    )

    # SQLite only auto-increments an INTEGER PRIMARY KEY, hence the variant.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    execution_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("execution.id", ondelete="CASCADE"), nullable=False
    )
    file_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("file_execution.id", ondelete="CASCADE"), nullable=True
    )
    event_time: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    level_rank: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    data: Mapped[dict] = mapped_column(JSONType, nullable=False)
