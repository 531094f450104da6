"""Retention (docs/EXECUTION.md, Retention): old log rows, old ended executions and expired kept uploads
are deleted in small batches, each in its own short transaction, so readers are never held up.

File history is never purged by age: it is what keeps files from being processed again.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, or_, select

from unstract.config import Settings
from unstract.extensions import db
from unstract.models import TERMINAL, Execution, ExecutionLog, FileExecution
from unstract.models.base import utcnow
from unstract.services import execution_state as state

BATCH_SIZE = 500  # rows deleted per transaction
EXECUTION_BATCH = 50  # executions whose rows are deleted together
ORPHAN_UPLOAD_GRACE = timedelta(hours=1)  # an upload folder without its execution may be one being created
LOCK_KEY = "unstract:retention-lock"
INTERVAL_SECONDS = 3600  # the periodic purge runs at most once per interval across all workers


@dataclass
class PurgeReport:
    executions: int = 0
    file_executions: int = 0
    logs: int = 0
    upload_folders: int = 0

    def describe(self, *, dry_run: bool) -> str:
        verb = "Would delete" if dry_run else "Deleted"
        return (f"{verb} {self.executions} execution(s) with {self.file_executions} file execution(s), "
                f"{self.logs} log row(s) and {self.upload_folders} kept upload folder(s); file history is kept.")


@dataclass(frozen=True)
class Cutoffs:
    """Rows older than these go; None keeps them forever (a setting of 0)."""

    logs: datetime | None
    executions: datetime | None
    uploads_hours: int

    @classmethod
    def of(cls, settings: Settings, now: datetime | None = None) -> Cutoffs:
        now = now or utcnow()
        logs = now - timedelta(days=settings.log_retention_days) if settings.log_retention_days else None
        executions = (now - timedelta(days=settings.execution_retention_days)
                      if settings.execution_retention_days else None)
        return cls(logs, executions, settings.retry_upload_hours)


def purge(settings: Settings, *, dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
    """Apply the retention settings once (or with `dry_run` only count what would go)."""
    cutoffs, report = Cutoffs.of(settings, now), PurgeReport()
    if dry_run:
        return _count(cutoffs, settings.data_dir, report, now or utcnow())
    if cutoffs.executions is not None:
        _purge_executions(cutoffs.executions, settings.data_dir, report)
    if cutoffs.logs is not None:
        report.logs += _delete_in_batches(ExecutionLog, ExecutionLog.event_time < cutoffs.logs)
    report.upload_folders = len(_expired_upload_folders(settings.data_dir, cutoffs.uploads_hours, now or utcnow(),
                                                        remove=True))
    return report


# --- Executions ----------------------------------------------------------------------------------

def _old_executions(cutoff: datetime):
    """Ended executions created before the cutoff."""
    return select(Execution.id).where(Execution.created_at < cutoff, Execution.status.in_(tuple(TERMINAL)))


def _purge_executions(cutoff: datetime, data_dir: Path, report: PurgeReport) -> None:
    """EXECUTION_BATCH executions at a time: their logs and file executions in batches, then the rows."""
    while ids := list(db.session.scalars(_old_executions(cutoff).limit(EXECUTION_BATCH))):
        report.logs += _delete_in_batches(ExecutionLog, ExecutionLog.execution_id.in_(ids))
        report.file_executions += _delete_in_batches(FileExecution, FileExecution.execution_id.in_(ids))
        report.executions += _delete_rows(Execution, ids)
        for execution_id in ids:
            state.remove_run_files(data_dir, execution_id)


def _delete_in_batches(model, condition) -> int:
    """Delete the matching rows BATCH_SIZE at a time, one transaction each (the history clear's rule)."""
    deleted = 0
    while ids := list(db.session.scalars(select(model.id).where(condition).order_by(model.id).limit(BATCH_SIZE))):
        deleted += _delete_rows(model, ids)
    return deleted


def _delete_rows(model, ids: list) -> int:
    result = db.session.execute(delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


# --- Dry run -------------------------------------------------------------------------------------

def _count(cutoffs: Cutoffs, data_dir: Path, report: PurgeReport, now: datetime) -> PurgeReport:
    old = _old_executions(cutoffs.executions).scalar_subquery() if cutoffs.executions is not None else None
    if old is not None:
        report.executions = _count_where(Execution, Execution.id.in_(old))
        report.file_executions = _count_where(FileExecution, FileExecution.execution_id.in_(old))
    log_conditions = []
    if old is not None:
        log_conditions.append(ExecutionLog.execution_id.in_(old))
    if cutoffs.logs is not None:
        log_conditions.append(ExecutionLog.event_time < cutoffs.logs)
    if log_conditions:
        report.logs = _count_where(ExecutionLog, or_(*log_conditions))
    report.upload_folders = len(_expired_upload_folders(data_dir, cutoffs.uploads_hours, now, remove=False))
    db.session.rollback()
    return report


def _count_where(model, condition) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(condition))


# --- Kept uploads --------------------------------------------------------------------------------

def _expired_upload_folders(data_dir: Path, hours: int, now: datetime, *, remove: bool) -> list[Path]:
    """Upload folders of ended executions kept for a retry longer than UNSTRACT_RETRY_UPLOAD_HOURS, and
    folders whose execution is gone (once older than a grace period: a new execution stages first)."""
    from unstract.services.retries import uploads_expired

    root = data_dir / "uploads"
    folders = {_execution_id(path): path for path in (root.iterdir() if root.is_dir() else ()) if path.is_dir()}
    folders.pop(None, None)
    expired = []
    for chunk in _chunks(list(folders), BATCH_SIZE):
        rows = {row.id: row for row in db.session.scalars(select(Execution).where(Execution.id.in_(chunk)))}
        for execution_id in chunk:
            row, path = rows.get(execution_id), folders[execution_id]
            if row is None:
                if now - datetime.fromtimestamp(path.stat().st_mtime, tz=now.tzinfo) > ORPHAN_UPLOAD_GRACE:
                    expired.append(path)
            elif row.status in TERMINAL and uploads_expired(row, hours, now):
                expired.append(path)
        db.session.rollback()
    if remove:
        for path in expired:
            shutil.rmtree(path, ignore_errors=True)
    return expired


def _execution_id(path: Path) -> uuid.UUID | None:
    try:
        return uuid.UUID(path.name)
    except ValueError:
        return None


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- The periodic job ----------------------------------------------------------------------------

def purge_if_due(settings: Settings, redis_connection, now: datetime | None = None) -> PurgeReport | None:
    """Purge when no worker did in the last INTERVAL_SECONDS: a Redis key taken with SET NX and an
    expiry decides which worker runs it (the others skip); None when it was not this one's turn."""
    if not redis_connection.set(LOCK_KEY, "1", nx=True, ex=INTERVAL_SECONDS):
        return None
    return purge(settings, now=now)


# --- What the dashboard shows ----------------------------------------------------------------------

SIZED_TABLES = (("Executions", Execution), ("File executions", FileExecution), ("Log rows", ExecutionLog),
                ("File history rows", None))


def table_sizes() -> list[tuple[str, int]]:
    """Rows per table of the whole service: PostgreSQL's planner estimate (no scan of a large table on every
    page view), an exact count on SQLite."""
    from unstract.models import FileHistory

    models = [(label, model or FileHistory) for label, model in SIZED_TABLES]
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        estimates = dict(db.session.execute(text(
            "SELECT relname, GREATEST(reltuples, 0)::bigint FROM pg_class WHERE relname = ANY(:names)"),
            {"names": [model.__tablename__ for _, model in models]}).all())
        return [(label, int(estimates.get(model.__tablename__, 0))) for label, model in models]
    return [(label, _count_where(model, True)) for label, model in models]
