"""Execution log rows (docs/EXECUTION.md, Logs), inserted directly and batched per transaction.

Gap-free tailing (docs/OBSERVABILITY.md, Live-log tail): a reader of `after=<id>` advances its cursor to
the largest id it saw, so it must never be shown a row while a row of the same execution with a smaller
id can still appear. On PostgreSQL ids come from a sequence and transactions commit in any order, so:

- a writer inserts its log rows at the very end of its transaction (the session's before_commit), holding
  a SHARED per-execution advisory lock from just before the INSERT draws its ids until the commit;
- a reader reads the sequence's last drawn id B in the statement that takes the EXCLUSIVE lock of the
  execution (released at its end under AUTOCOMMIT): every writer that drew an id up to B has ended by
  then, so all of the execution's rows up to B are visible, and the reader shows only those
  (`LogFilter.through`).

Writers never wait for each other; a reader waits only for the commits in flight and holds nothing
while it reads; between taking the lock and committing a writer only inserts, so no deadlock involves
it. SQLite serializes writers and assigns ids inside its write lock: its ids become visible in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import event, insert, text

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
        """Stage the collected rows in the current transaction: they are inserted when it commits."""
        if self.rows:
            db.session.info.setdefault(STAGED_KEY, []).extend(self.rows)
            self.rows = []

    def discard(self) -> None:
        """Forget the rows not yet flushed (their transaction was rolled back)."""
        self.rows = []

    def commit(self) -> None:
        self.flush()
        db.session.commit()


# --- Gap-free tailing -----------------------------------------------------------------------------

STAGED_KEY = "unstract.log_rows"  # key in Session.info: log rows to insert when the transaction commits
TAIL_LOCK_SPACE = 0x756C6F67  # "ulog": the first key of the two-key advisory locks of log tailing


def tail_lock_key(execution_id: uuid.UUID) -> int:
    """The second advisory-lock key of an execution (a collision only makes two executions share a lock)."""
    return int.from_bytes(execution_id.bytes[:4], "big", signed=True)


def _on_postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock_for_writing(session, execution_ids: Iterable[uuid.UUID]) -> None:
    """Shared locks, in one order for every writer (so two writers of the same executions never deadlock)."""
    for key in sorted({tail_lock_key(i) for i in execution_ids}):
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:space, :key)"),
                        {"space": TAIL_LOCK_SPACE, "key": key})


@event.listens_for(db.session, "before_commit")
def _insert_staged_rows(session) -> None:
    rows = session.info.pop(STAGED_KEY, None)
    if not rows:
        return
    if _on_postgresql(session):
        _lock_for_writing(session, (row["execution_id"] for row in rows))
    session.execute(insert(ExecutionLog), rows)


@event.listens_for(db.session, "after_transaction_end")
def _forget_staged_rows(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit of the rows
        session.info.pop(STAGED_KEY, None)


def visible_log_bound(execution_id: uuid.UUID) -> int | None:
    """The largest log id up to which every row of the execution is visible from now on (None: no bound).

    Read with AUTOCOMMIT (a read-only request) the lock ends with its statement; inside a transaction it is
    held until that ends, which delays the execution's log writers by that long.
    """
    if not _on_postgresql(db.session):
        return None
    bound = db.session.scalar(_BOUND, {"space": TAIL_LOCK_SPACE, "key": tail_lock_key(execution_id)})
    return bound or 0


# One statement: the lock lasts at least until its end, so the sequence is read before the lock is taken
# or while it is held — either way no writer can draw an id up to the value read and still be in flight.
_BOUND = text("SELECT pg_sequence_last_value(pg_get_serial_sequence('execution_log', 'id')) "
              "FROM (SELECT pg_advisory_xact_lock(:space, :key)) AS settled")


__all__ = ["RunLog", "Stage", "LogLevel", "visible_log_bound"]
