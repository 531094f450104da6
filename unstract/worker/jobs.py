"""RQ entry points: thin, ids in (as strings), each run inside an app context with a clean session."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime

from flask import Flask, current_app, has_app_context
from rq import get_current_job
from sqlalchemy import select

from unstract import logcontext
from unstract.extensions import db
from unstract.models import Execution, FileExecution, Stage
from unstract.models.base import utcnow
from unstract.services import execution_state as state
from unstract.worker.context import job_context
from unstract.worker.transient import describe, retry_transient

log = logging.getLogger(__name__)

_worker_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """The worker process's application, used when a job starts without an app context."""
    global _worker_app
    _worker_app = app


@contextmanager
def _app_scope():
    """A fresh app context per job, so each job has its own database session."""
    app = current_app._get_current_object() if has_app_context() else _worker_app
    if app is None:
        raise RuntimeError("no application bound to this worker")
    with app.app_context():
        yield


def _queued_ids() -> dict:
    """The ids the job was queued with (RQ job meta: request_id, execution_id), if any."""
    job = get_current_job()
    return job.meta if job is not None else {}


def _run(step: Callable, row_id, execution_id_of: Callable = lambda row_id: row_id, *,
         execution_id: uuid.UUID | None = None) -> None:
    """Run the job's step; a transient database error that escaped the step's own retries (a claim, a
    listing, a finalization) runs it again once the database answers, instead of failing the job
    (docs/RELIABILITY.md, Transient faults). Every step starts from what the database says is left to do.
    Its log records bind the request id the job was queued with and the execution id when known."""
    queued = _queued_ids()
    with _app_scope(), logcontext.bound(request_id=queued.get("request_id"),
                                        execution_id=execution_id or queued.get("execution_id")):
        log.info("%s started", step.__module__.rsplit(".", 1)[-1])
        ctx = job_context()
        retries: list[tuple[datetime, str]] = []

        def attempt() -> None:
            try:
                step(row_id, ctx)
            finally:
                db.session.rollback()
                db.session.remove()

        def before_retry(exc: BaseException, delay: float) -> None:
            retries.append((utcnow(), describe(exc)))
            log.warning("%s(%s): transient database error (%s); running it again in %.2f s",
                        step.__name__, row_id, describe(exc), delay)

        retry_transient(attempt, ctx.settings.transient_retry_seconds, before_retry)
        if retries:
            _note_retries(execution_id_of(row_id), retries)
        log.info("%s finished", step.__module__.rsplit(".", 1)[-1])


def _note_retries(execution_id: uuid.UUID, retries: list[tuple[datetime, str]]) -> None:
    """Once the database is back, the execution log gets a line per retry, dated when it happened."""
    try:
        execution = db.session.get(Execution, execution_id) if execution_id else None
        if execution is None:
            return
        run_log = state.run_log(execution)
        for at, error in retries:
            run_log.warn(Stage.PROCESSING, f"Retrying after a transient database error: {error}", at=at)
        run_log.commit()
    except Exception:  # noqa: BLE001 - the note is informative; the job's work is done
        log.exception("could not log the retries of execution %s", execution_id)
    finally:
        db.session.remove()


def _execution_of_files(file_execution_ids: list[uuid.UUID]) -> uuid.UUID | None:
    return db.session.scalar(select(FileExecution.execution_id).where(FileExecution.id == file_execution_ids[0]))


def run_listing(execution_id: str) -> None:
    """Claim an execution, snapshot its plan, select its files and fan out."""
    from unstract.worker.listing import run_listing as work

    _run(work, uuid.UUID(execution_id), execution_id=uuid.UUID(execution_id))


def process_files(*file_execution_ids: str) -> None:
    """Process file executions of one execution end to end, one after the other."""
    from unstract.worker.runner import process_files as work

    _run(work, [uuid.UUID(row_id) for row_id in file_execution_ids], _execution_of_files)


process_file = process_files  # jobs queued by earlier versions name the single-file entry point


def run_steps(execution_id: str) -> None:
    """Serve one NEXT or CONTINUE of a step execution."""
    from unstract.worker.steps import run_steps as work

    _run(work, uuid.UUID(execution_id), execution_id=uuid.UUID(execution_id))



def deliver_webhook(delivery_id: str) -> None:
    """One attempt of a webhook delivery (the state is in its row; a stale or duplicate job does nothing)."""
    from unstract.worker.webhooks import deliver

    with _app_scope():
        try:
            deliver(uuid.UUID(delivery_id), job_context())
        finally:
            db.session.rollback()
            db.session.remove()
