"""Enqueueing jobs by dotted path (services never import the worker) with ids derived from rows."""

from __future__ import annotations

import uuid
from datetime import timedelta

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from unstract import errors
from unstract.extensions import rq

LISTING_JOB = "unstract.worker.jobs.run_listing"
FILE_JOB = "unstract.worker.jobs.process_file"
STEPS_JOB = "unstract.worker.jobs.run_steps"
LIVE_STATES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def listing_job_id(execution_id: uuid.UUID) -> str:
    return f"listing-{execution_id}"


def file_job_id(file_execution_id: uuid.UUID) -> str:
    return f"file-{file_execution_id}"


def steps_job_id(execution_id: uuid.UUID) -> str:
    return f"steps-{execution_id}"


def job_is_live(job_id: str) -> bool:
    """A job with this id is queued, scheduled or running (RQ's view, used only to avoid duplicates)."""
    try:
        return Job.fetch(job_id, connection=rq.connection()).get_status(refresh=True) in LIVE_STATES
    except NoSuchJobError:
        return False


def enqueue(func: str, row_id: uuid.UUID, job_id: str, *, delay_seconds: float = 0) -> None:
    """Enqueue `func(row_id)`; Redis trouble surfaces as 503 queue_unavailable."""
    try:
        queue = rq.queue()
        if delay_seconds:
            queue.enqueue_in(timedelta(seconds=delay_seconds), func, str(row_id), job_id=job_id)
        else:
            queue.enqueue(func, str(row_id), job_id=job_id, result_ttl=0, failure_ttl=86400)
    except RedisError:
        raise errors.QueueUnavailable() from None


def enqueue_many(func: str, row_ids: list[uuid.UUID], job_id_for) -> None:
    """One pipeline round trip for many jobs (the fan-out of a listing)."""
    from rq import Queue

    try:
        queue = rq.queue()
        with rq.connection().pipeline() as pipe:
            queue.enqueue_many(
                [Queue.prepare_data(func, (str(row_id),), job_id=job_id_for(row_id), result_ttl=0,
                                    failure_ttl=86400) for row_id in row_ids],
                pipeline=pipe,
            )
            pipe.execute()
    except RedisError:
        raise errors.QueueUnavailable() from None
