"""Every status write of executions and file executions goes through here (docs/EXECUTION.md, Statuses).

Each write is a conditional UPDATE on a non-terminal current status, so a terminal status
never changes and concurrent writers (jobs, reapers, STOP calls) cannot overwrite each other.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from sqlalchemy import delete, exists, func, select, update

from unstract import metrics
from unstract.extensions import db
from unstract.models import (
    NON_TERMINAL,
    TERMINAL,
    Execution,
    FileExecution,
    FileReservation,
    Organization,
    Phase,
    Stage,
    Status,
)
from unstract.models.base import utcnow
from unstract.services.deliveries import queue_for_terminal
from unstract.services.runlog import RunLog
from unstract.services.wakeups import note_settled

ERROR_MESSAGE_LIMIT = 1000


def transition_execution(execution_id: uuid.UUID, to: str, *, when: tuple = (), **values) -> bool:
    """Move an execution to `to` if its status is non-terminal (and in `when`, when given); a move to a
    terminal status writes its webhook deliveries in the same transaction, and wakes its synchronous
    waiters and queues those deliveries once committed."""
    allowed = tuple(when) or tuple(NON_TERMINAL)
    result = db.session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(allowed))
        .values(status=to, modified_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    moved = result.rowcount == 1
    if moved and to in TERMINAL:
        queue_for_terminal(execution_id, to)
        note_settled(execution_id)
        metrics.count_after_commit("executions", to)
    return moved


def transition_file(file_execution_id: uuid.UUID, to: str, *, when: tuple = (),
                    claim_token: uuid.UUID | None = None, **values) -> bool:
    """Move a file execution to `to` if non-terminal (and still held by `claim_token`, when given)."""
    allowed = tuple(when) or tuple(NON_TERMINAL)
    conditions = [FileExecution.id == file_execution_id, FileExecution.status.in_(allowed)]
    if claim_token is not None:
        conditions.append(FileExecution.claim_token == claim_token)
    result = db.session.execute(
        update(FileExecution).where(*conditions)
        .values(status=to, modified_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    moved = result.rowcount == 1
    if moved and to in TERMINAL:
        metrics.count_after_commit("files", to)
    return moved


def refresh_counters(execution_id: uuid.UUID) -> None:
    """successful_files/failed_files = counts of COMPLETED/ERROR file executions (recounted at finalization)."""
    def count(status: str):
        return (select(func.count()).select_from(FileExecution)
                .where(FileExecution.execution_id == execution_id, FileExecution.status == status)
                .scalar_subquery())

    db.session.execute(
        update(Execution).where(Execution.id == execution_id)
        .values(successful_files=count(Status.COMPLETED), failed_files=count(Status.ERROR))
        .execution_options(synchronize_session=False)
    )


def count_outcome(execution_id: uuid.UUID, status: str) -> None:
    """Add one file's outcome to the execution's counters, in the transaction of its conditional status
    change: each file reaches a terminal status once, so the counters stay equal to the counts recorded at processing
    step 8 without recounting every file of the execution for each one (and an increment under the
    row lock cannot miss a concurrent outcome the way two concurrent recounts can)."""
    column = {Status.COMPLETED: Execution.successful_files, Status.ERROR: Execution.failed_files}.get(status)
    if column is not None:
        db.session.execute(
            update(Execution).where(Execution.id == execution_id).values({column: column + 1})
            .execution_options(synchronize_session=False)
        )


def release_reservations(file_execution_ids: list[uuid.UUID]) -> None:
    if file_execution_ids:
        db.session.execute(
            delete(FileReservation).where(FileReservation.file_execution_id.in_(file_execution_ids))
            .execution_options(synchronize_session=False)
        )


def has_open_files(execution_id: uuid.UUID) -> bool:
    return bool(db.session.scalar(select(_open_files_of(execution_id))))


def processing_is_over(execution_id: uuid.UUID) -> bool:
    """The execution is in phase PROCESSING and none of its files is open: time to finalize."""
    return db.session.scalar(select(Execution.id).where(
        Execution.id == execution_id, Execution.phase == Phase.PROCESSING, ~_open_files_of(execution_id))) is not None


def _open_files_of(execution_id: uuid.UUID):
    return exists().where(FileExecution.execution_id == execution_id, FileExecution.status.in_(tuple(NON_TERMINAL)))


def end_open_files(execution_id: uuid.UUID, to: str, error: str | None = None,
                   only: tuple = tuple(NON_TERMINAL)) -> list[uuid.UUID]:
    """Set every open file of the execution to `to` (STOPPED or ERROR); releases their reservations."""
    ids = list(db.session.scalars(select(FileExecution.id).where(
        FileExecution.execution_id == execution_id, FileExecution.status.in_(only))))
    if ids:
        values = {"execution_error": error} if error is not None else {}
        ended = db.session.execute(
            update(FileExecution)
            .where(FileExecution.id.in_(ids), FileExecution.status.in_(only))
            .values(status=to, modified_at=utcnow(), lease_expires_at=None, **values)
            .execution_options(synchronize_session=False)
        )
        metrics.count_after_commit("files", to, ended.rowcount)
        release_reservations(ids)
    return ids


_org_ids: dict[uuid.UUID, str] = {}


def run_log(execution: Execution) -> RunLog:
    """A log collector for the execution; the org's string id never changes, so it is cached."""
    org_id = _org_ids.get(execution.organization_id)
    if org_id is None:
        org_id = db.session.scalar(select(Organization.org_id).where(Organization.id == execution.organization_id))
        _org_ids[execution.organization_id] = org_id
    return RunLog(execution.id, org_id)


def _final_status(execution: Execution) -> tuple[str, str]:
    if execution.stop_requested:
        return Status.STOPPED, ""
    if execution.total_files == 0 or execution.successful_files > 0:
        return Status.COMPLETED, ""
    first = db.session.execute(
        select(FileExecution.file_name, FileExecution.execution_error)
        .where(FileExecution.execution_id == execution.id, FileExecution.status == Status.ERROR)
        .order_by(FileExecution.file_number).limit(1)
    ).first()
    detail = f"{first[0]}: {first[1]}" if first else "no file was processed"
    message = f"All {execution.total_files} file(s) failed. First error: {detail}"
    return Status.ERROR, message[:ERROR_MESSAGE_LIMIT]


def _closing_values(execution: Execution) -> dict:
    return {
        "execution_time": round((utcnow() - execution.created_at).total_seconds(), 3),
        "awaiting_action": False,
        "next_step": None,
        "phase": Phase.DONE,
        "lease_expires_at": None,
    }


def finalize(execution_id: uuid.UUID, data_dir: Path) -> bool:
    """Close an EXECUTING execution exactly once (conditional update); commits (docs/EXECUTION.md, Finalization)."""
    refresh_counters(execution_id)
    db.session.flush()
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    if execution is None or execution.status != Status.EXECUTING:
        db.session.commit()
        return False
    status, message = _final_status(execution)
    if not transition_execution(execution_id, status, when=(Status.EXECUTING,), error_message=message,
                                **_closing_values(execution)):
        db.session.rollback()
        return False
    log = run_log(execution)
    log.info(Stage.FINALIZE, f"Total files: {execution.total_files}, {execution.successful_files} "
                             f"successfully executed and {execution.failed_files} error(s).")
    if status == Status.ERROR:
        log.error(Stage.FINALIZE, message)
    log.commit()
    remove_ended_run_files(data_dir, execution_id)
    return True


def fail_execution(execution_id: uuid.UUID, message: str, data_dir: Path, *, stage: str = Stage.FINALIZE) -> bool:
    """End a non-terminal execution in ERROR with `message`; its open files share it (EXECUTION.md, Finalization)."""
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    if execution is None:
        return False
    message = message[:ERROR_MESSAGE_LIMIT]
    if not transition_execution(execution_id, Status.ERROR, error_message=message, **_closing_values(execution)):
        db.session.rollback()
        return False
    end_open_files(execution_id, Status.ERROR, error=message)
    refresh_counters(execution_id)
    log = run_log(execution)
    log.error(stage, message)
    log.commit()
    remove_ended_run_files(data_dir, execution_id)
    return True


def stop_unclaimed(execution_id: uuid.UUID, data_dir: Path) -> bool:
    """A PENDING execution that no worker claimed becomes STOPPED at once."""
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    values = _closing_values(execution)
    if not transition_execution(execution_id, Status.STOPPED, when=(Status.PENDING,), **values):
        return False
    end_open_files(execution_id, Status.STOPPED)
    db.session.commit()
    remove_run_files(data_dir, execution_id)
    return True


def run_dirs(data_dir: Path, execution_id: uuid.UUID) -> list[Path]:
    """Staged uploads and step outputs of one execution."""
    return [data_dir / "uploads" / str(execution_id), data_dir / "executions" / str(execution_id)]


def remove_run_files(data_dir: Path, execution_id: uuid.UUID) -> None:
    for path in run_dirs(data_dir, execution_id):
        shutil.rmtree(path, ignore_errors=True)


RETRYABLE = (Status.ERROR, Status.STOPPED)


def remove_ended_run_files(data_dir: Path, execution_id: uuid.UUID) -> None:
    """At the end of a run: its step files go, and so do its staged uploads except those of files that
    ended ERROR or STOPPED, which a retry may run again until the retention job removes them
    (UNSTRACT_RETRY_UPLOAD_HOURS; docs/EXECUTION.md, Retrying failed files)."""
    uploads, steps = run_dirs(data_dir, execution_id)
    shutil.rmtree(steps, ignore_errors=True)
    kept = {Path(path).name for path in db.session.scalars(select(FileExecution.staged_path).where(
        FileExecution.execution_id == execution_id, FileExecution.status.in_(RETRYABLE),
        FileExecution.staged_path.is_not(None)))}
    if not kept:
        shutil.rmtree(uploads, ignore_errors=True)
        return
    for staged in uploads.iterdir() if uploads.is_dir() else ():
        if staged.name not in kept:
            staged.unlink(missing_ok=True)
