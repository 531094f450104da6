"""Execution log rows (docs/EXECUTION.md, Logs), inserted directly and batched per transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert

from unstract.extensions import db
from unstract.models import LEVEL_ORDER, ExecutionLog, LogLevel, Stage
from unstract.models.base import utcnow


@dataclass
class RunLog:
    """Collects the log rows of one unit of work; `flush()` adds them to the session's transaction.

    Rows are written with the transaction that changes the state they describe, in one
    multi-row INSERT, so a hot path costs one statement per transaction and not one per line.
    """

    execution_id: uuid.UUID
    organization_id: str
    rows: list[dict] = field(default_factory=list)

    def add(self, level: str, stage: str, message: str, *, file_execution_id: uuid.UUID | None = None,
            step: int | None = None, at: datetime | None = None) -> None:
        at = at or utcnow()
        self.rows.append({
            "execution_id": self.execution_id,
            "file_execution_id": file_execution_id,
            "event_time": at,
            "level": level,
            "level_rank": LEVEL_ORDER[LogLevel(level)],
            "stage": stage,
            "data": {
                "timestamp": round(at.timestamp(), 6),
                "type": "LOG",
                "level": level,
                "stage": stage,
                "log": message,
                "step": step,
                "execution_id": str(self.execution_id),
                "file_execution_id": str(file_execution_id) if file_execution_id else None,
                "organization_id": self.organization_id,
            },
        })

    def info(self, stage: str, message: str, **kw) -> None:
        self.add(LogLevel.INFO, stage, message, **kw)

    def warn(self, stage: str, message: str, **kw) -> None:
        self.add(LogLevel.WARN, stage, message, **kw)

    def error(self, stage: str, message: str, **kw) -> None:
        self.add(LogLevel.ERROR, stage, message, **kw)

    def flush(self) -> None:
        """Stage the collected rows in the current transaction (the caller commits)."""
        if self.rows:
            db.session.execute(insert(ExecutionLog), self.rows)
            self.rows = []

    def discard(self) -> None:
        """Forget the rows not yet flushed (their transaction was rolled back)."""
        self.rows = []

    def commit(self) -> None:
        self.flush()
        db.session.commit()


__all__ = ["RunLog", "Stage", "LogLevel"]
