"""Recovery of stuck executions (docs/EXECUTION.md, Recovery): each action is a conditional update; reapers may race."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, exists, select, update

from unstract import errors
from unstract.extensions import db
from unstract.models import (
    NON_TERMINAL,
    TERMINAL,
    Execution,
    FileExecution,
    FileReservation,
    Phase,
    Stage,
    Status,
)
from unstract.models.base import utcnow
from unstract.models.plan import BATCH_SIZE_KEY
from unstract.services import deliveries, queueing
from unstract.services import execution_state as state
from unstract.services.runlog import RunLog
from unstract.worker import runner
from unstract.worker.context import JobContext, job_context


@dataclass
class ReapResult:
    requeued: int = 0
    failed: int = 0
    finalized: int = 0


def reap_once() -> ReapResult:
    """One pass of the recovery rules inside an app context."""
    ctx, result = job_context(), ReapResult()
    for rule in (_expired_files, _orphaned_pending_files, _expired_execution_leases, _unqueued_pending,
                 _finished_processing, _idle_step_executions, _stale_reservations, _lost_deliveries):
        try:
            rule(ctx, result)
        finally:
            db.session.rollback()
    return result


def _expired_files(ctx: JobContext, result: ReapResult) -> None:
    """Rule 1: expired file leases go back to PENDING, or ERROR at the attempt limit."""
    now, limit = utcnow(), ctx.settings.max_attempts
    rows = db.session.scalars(select(FileExecution).where(
        FileExecution.status == Status.EXECUTING, FileExecution.lease_expires_at < now)).all()
    for fe in rows:
        execution = db.session.get(Execution, fe.execution_id)
        log = state.run_log(execution)
        if fe.attempts < limit:
            if state.transition_file(fe.id, Status.PENDING, when=(Status.EXECUTING,), claim_token=fe.claim_token,
                                     lease_expires_at=None):
                db.session.execute(update(FileExecution).where(FileExecution.id == fe.id)
                                   .values(claim_token=None).execution_options(synchronize_session=False))
                log.warn(Stage.PROCESSING, f"Worker lost while processing '{fe.file_name}' (attempt {fe.attempts} "
                                           f"of {limit}); re-queued.", file_execution_id=fe.id)
                log.commit()
                _requeue_file(fe.id)
                result.requeued += 1
            continue
        outcome = runner.Outcome(Status.ERROR, error=f"Processing was interrupted {limit} times; giving up.")
        if runner.record(fe, execution, fe.claim_token, outcome, log):
            result.failed += 1
            runner.finalize_if_done(execution.id, ctx)


def _requeue_file(file_execution_id: uuid.UUID) -> None:
    try:
        queueing.enqueue(queueing.FILES_JOB, file_execution_id, queueing.file_job_id(file_execution_id))
    except Exception:  # noqa: BLE001 - rule 2 retries once Redis is back
        pass


def _orphaned_pending_files(ctx: JobContext, result: ReapResult) -> None:
    """Rule 2: PENDING files of PROCESSING executions, unchanged for more than L, with no queued job.

    A running job keeps the files of its batch fresh (runner.process_files), so only a queued job can
    still cover a file unchanged for that long: its batch job or a job of its own. All of them are
    checked in one pipelined Redis round trip per pass, however long the backlog."""
    cutoff = utcnow() - timedelta(seconds=ctx.lease_seconds)
    rows = db.session.execute(select(
        FileExecution.id, FileExecution.execution_id, FileExecution.file_number,
        Execution.plan[BATCH_SIZE_KEY].as_integer(), FileExecution.file_name,
    ).join(Execution).where(
        FileExecution.status == Status.PENDING, FileExecution.modified_at < cutoff,
        Execution.phase == Phase.PROCESSING, Execution.status == Status.EXECUTING)).all()
    if not rows:
        return
    covering = {fe_id: _covering_job_ids(fe_id, execution_id, number, size)
                for fe_id, execution_id, number, size, _ in rows}
    try:
        queued = queueing.waiting_job_ids(set().union(*covering.values()))
        orphans = [row for row in rows if not covering[row[0]] & queued]
        for chunk in queueing.batched(orphans, 500):
            queueing.enqueue_each_alone([row[0] for row in chunk])
            _note_requeued_orphans(chunk)
            _touch_pending([row[0] for row in chunk])
            result.requeued += len(chunk)
    except errors.QueueUnavailable:
        return  # Redis is away: the next pass tries again


def _note_requeued_orphans(rows) -> None:
    """One log line per re-queued file, staged for _touch_pending's commit."""
    logs: dict[uuid.UUID, RunLog] = {}
    for fe_id, execution_id, _, _, file_name in rows:
        if execution_id not in logs:
            logs[execution_id] = state.run_log(db.session.get(Execution, execution_id))
        logs[execution_id].warn(Stage.PROCESSING, f"Recovered: file '{file_name}' was waiting with no job "
                                                  "queued for it; re-queued.", file_execution_id=fe_id)
    for log in logs.values():
        log.flush()


def _note(execution_id: uuid.UUID, message: str) -> None:
    """A recovery line in the execution's log, staged for the caller's commit."""
    log = state.run_log(db.session.get(Execution, execution_id))
    log.warn(Stage.PROCESSING, f"Recovered: {message}")
    log.flush()


def _touch_pending(file_execution_ids: list[uuid.UUID]) -> None:
    """Re-queued now: not an orphan again for another lease."""
    db.session.execute(update(FileExecution)
                       .where(FileExecution.id.in_(file_execution_ids), FileExecution.status == Status.PENDING)
                       .values(modified_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()


def _covering_job_ids(fe_id: uuid.UUID, execution_id: uuid.UUID, number: int, batch_size: int | None) -> set[str]:
    """Ids of the jobs that may hold this file: the listing's batch job and a re-queued job of its own."""
    ids = {queueing.file_job_id(fe_id)}
    if batch_size:
        ids.add(queueing.file_batch_job_id(execution_id, queueing.batch_index(number, batch_size)))
    return ids


def _expired_execution_leases(ctx: JobContext, result: ReapResult) -> None:
    """Rule 3: listing and step jobs whose lease expired are restarted, or the run fails at the limit."""
    limit = ctx.settings.max_attempts
    rows = db.session.scalars(select(Execution).where(
        Execution.status == Status.EXECUTING, Execution.phase.in_((Phase.LISTING, Phase.RUNNING_STEP)),
        Execution.lease_expires_at < utcnow())).all()
    for execution in rows:
        listing = execution.phase == Phase.LISTING
        used = execution.attempts if listing else execution.lease_attempts
        if used >= limit:
            if state.fail_execution(execution.id, f"Execution was interrupted {limit} times; giving up.", ctx.data_dir):
                result.failed += 1
            continue
        if listing and state.transition_execution(execution.id, Status.PENDING, when=(Status.EXECUTING,),
                                                  phase=Phase.QUEUED, lease_expires_at=None):
            _note(execution.id, f"the listing was interrupted (attempt {used} of {limit}); listing again.")
            db.session.commit()
            _enqueue(queueing.LISTING_JOB, execution.id, queueing.listing_job_id(execution.id))
            result.requeued += 1
        elif not listing and not queueing.job_is_live(queueing.steps_job_id(execution.id)) \
                and _enqueue(queueing.STEPS_JOB, execution.id, queueing.steps_job_id(execution.id)):
            _note(execution.id, "the step job was interrupted; running it again.")
            db.session.commit()
            result.requeued += 1


def _enqueue(func: str, row_id: uuid.UUID, job_id: str) -> bool:
    try:
        queueing.enqueue(func, row_id, job_id)
    except Exception:  # noqa: BLE001 - retried on the next pass
        return False
    return True


def _unqueued_pending(ctx: JobContext, result: ReapResult) -> None:
    """Rule 4: PENDING executions older than L with no live listing job are enqueued again."""
    cutoff = utcnow() - timedelta(seconds=ctx.lease_seconds)
    ids = db.session.scalars(select(Execution.id).where(
        Execution.status == Status.PENDING, Execution.modified_at < cutoff)).all()
    for execution_id in ids:
        if not queueing.job_is_live(queueing.listing_job_id(execution_id)) \
                and _enqueue(queueing.LISTING_JOB, execution_id, queueing.listing_job_id(execution_id)):
            _note(execution_id, "the execution was waiting with no listing job queued; queued it again.")
            db.session.commit()
            result.requeued += 1


def _finished_processing(ctx: JobContext, result: ReapResult) -> None:
    """Rule 5: PROCESSING executions whose files are all terminal are finalized."""
    open_files = exists().where(FileExecution.execution_id == Execution.id,
                                FileExecution.status.in_(tuple(NON_TERMINAL)))
    ids = db.session.scalars(select(Execution.id).where(
        Execution.status == Status.EXECUTING, Execution.phase == Phase.PROCESSING, ~open_files)).all()
    for execution_id in ids:
        if state.finalize(execution_id, ctx.data_dir):
            result.finalized += 1


def _idle_step_executions(ctx: JobContext, result: ReapResult) -> None:
    """Rule 6: step executions paused for longer than the idle timeout end in ERROR."""
    cutoff = utcnow() - timedelta(seconds=ctx.settings.step_idle_timeout_seconds)
    ids = db.session.scalars(select(Execution.id).where(
        Execution.status == Status.EXECUTING, Execution.awaiting_action.is_(True),
        Execution.paused_at < cutoff)).all()
    for execution_id in ids:
        if state.fail_execution(execution_id, "Step execution timed out waiting for an action.", ctx.data_dir):
            result.failed += 1


def _stale_reservations(ctx: JobContext, result: ReapResult) -> None:
    """Rule 7: reservations whose file execution is terminal or gone."""
    live = exists().where(FileExecution.id == FileReservation.file_execution_id,
                          FileExecution.status.notin_(tuple(TERMINAL)))
    db.session.execute(delete(FileReservation).where(~live).execution_options(synchronize_session=False))
    db.session.commit()


def _lost_deliveries(ctx: JobContext, result: ReapResult) -> None:
    """Rule 8: webhook deliveries due for longer than L, unclaimed, with no queued job (lost with Redis or a
    killed worker) are queued again; the claim of an attempt keeps a late duplicate job from sending twice."""
    rows = deliveries.orphaned(ctx.lease_seconds)
    if not rows:
        return
    try:
        queued = queueing.waiting_job_ids({deliveries.job_id(delivery_id, token) for delivery_id, token in rows})
    except errors.QueueUnavailable:
        return  # Redis is away: the next pass tries again
    lost = [(delivery_id, token) for delivery_id, token in rows if deliveries.job_id(delivery_id, token) not in queued]
    result.requeued += deliveries.requeue(lost)
