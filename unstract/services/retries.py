"""Retrying the failed files of an ended execution (docs/EXECUTION.md, Retrying failed files).

A retry is a new COMPLETE execution with `retry_of` set, queued like any other: its listing job claims it,
lists exactly the files that ended ERROR or STOPPED (read again from the source as they are now) and fans
out, so leases, the reaper and finalization treat it as any run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from unstract import errors
from unstract.config import Settings
from unstract.extensions import db
from unstract.models import TERMINAL, Execution, ExecutionType, FileExecution
from unstract.models.base import utcnow
from unstract.models.plan import ExecutionPlan, PlannedUpload, RetryFile
from unstract.policy import Requester
from unstract.services import execution_queries, executions, queueing
from unstract.services import execution_state as state

NOTHING_TO_RETRY = "No file of this execution ended in ERROR or STOPPED: nothing to retry."
NOTHING_CHOSEN_TO_RETRY = "None of the chosen files of this execution ended in ERROR or STOPPED: nothing to retry."
UPLOADS_EXPIRED = ("The uploaded files of this execution are no longer kept (UNSTRACT_RETRY_UPLOAD_HOURS); "
                   "send them again with a new execute call.")


def retry(who: Requester, execution_id: uuid.UUID, settings: Settings,
          only: Collection[uuid.UUID] | None = None) -> Execution:
    """Queue a new execution of the failed and stopped files of `execution_id` (of those among the file
    executions `only`, when given); returns it (PENDING)."""
    old, workflow = execution_queries.get_visible_execution(who, execution_id)
    if old.status not in TERMINAL:
        raise errors.Conflict("The execution has not ended yet; retry its failed files once it has.",
                              code="execution_busy")
    failed = retryable_files(old.id, only)
    if not failed:
        raise errors.ValidationFailed(NOTHING_TO_RETRY if only is None else NOTHING_CHOSEN_TO_RETRY,
                                      code="nothing_to_retry")
    source_type = _source_type(old, failed)
    if source_type == "API":
        _check_uploads_kept(old, failed, settings.retry_upload_hours)
    plan = executions.check_startable(workflow)
    if plan.source.connection_type != source_type:
        raise errors.ValidationFailed("The workflow's source changed since this execution ran; its files "
                                      "cannot be retried.", code="source_changed")
    executions.check_throttle(who, settings)
    return _create(who, old, failed, settings)


def _source_type(old: Execution, failed: list[FileExecution]) -> str:
    """The old run's source type, from its plan (or, without a snapshot, from its files: uploads have no path)."""
    if old.run_plan.source is not None:
        return old.run_plan.source.connection_type
    return "API" if failed[0].file_path is None else "FILESYSTEM"


def retryable_files(execution_id: uuid.UUID, only: Collection[uuid.UUID] | None = None) -> list[FileExecution]:
    """The execution's files that ended ERROR or STOPPED (those among `only`, when given), in file order."""
    query = select(FileExecution).where(FileExecution.execution_id == execution_id,
                                        FileExecution.status.in_(state.RETRYABLE))
    if only is not None:
        query = query.where(FileExecution.id.in_(list(only)))
    return list(db.session.scalars(query.order_by(FileExecution.file_number)))


def ended_at(execution: Execution) -> datetime:
    """When the execution reached its terminal status (execution_time counts from created_at)."""
    return execution.created_at + timedelta(seconds=execution.execution_time or 0.0)


def uploads_expired(execution: Execution, hours: int, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= ended_at(execution) + timedelta(hours=hours)


def _check_uploads_kept(old: Execution, failed: list[FileExecution], hours: int) -> None:
    missing = any(not fe.staged_path or not Path(fe.staged_path).is_file() for fe in failed)
    if missing or uploads_expired(old, hours):
        raise errors.Conflict(UPLOADS_EXPIRED, code="uploads_expired")


def _create(who: Requester, old: Execution, failed: list[FileExecution], settings: Settings) -> Execution:
    execution = Execution(
        id=uuid.uuid4(), workflow_id=old.workflow_id, organization_id=who.org.id, created_by=who.user_id,
        execution_mode="QUEUE", execution_type=ExecutionType.COMPLETE, use_file_history=old.use_file_history,
        timeout=0, total_steps=old.total_steps, retry_of=old.id, plan=None,
    )
    execution_id = execution.id
    try:
        if _source_type(old, failed) == "API":
            uploads = _copy_uploads(failed, state.run_dirs(settings.data_dir, execution_id)[0])
            execution.run_plan = ExecutionPlan(uploads=uploads, retry=True)
        else:
            execution.run_plan = ExecutionPlan(retry=True, retry_files=tuple(
                RetryFile(fe.file_path, fe.file_hash, fe.file_size) for fe in failed))
        db.session.add(execution)
        db.session.commit()
        queueing.enqueue(queueing.LISTING_JOB, execution_id, queueing.listing_job_id(execution_id))
    except (errors.DomainError, OSError):
        executions.discard(execution_id, settings.data_dir)
        raise
    return execution


def _copy_uploads(failed: list[FileExecution], directory: Path) -> tuple[PlannedUpload, ...]:
    """The kept uploads, linked (or copied) into the new execution's upload directory: the retry owns its
    files, whatever later removes the old execution's."""
    directory.mkdir(parents=True, exist_ok=True)
    uploads = []
    for index, fe in enumerate(failed):
        target = directory / f"{index:04d}"
        try:
            os.link(fe.staged_path, target)
        except OSError:
            shutil.copyfile(fe.staged_path, target)
        uploads.append(PlannedUpload(fe.file_name, str(target), fe.file_hash, fe.file_size, fe.mime_type))
    return tuple(uploads)
