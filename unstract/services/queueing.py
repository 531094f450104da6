"""Enqueueing jobs by dotted path (services never import the worker) with ids derived from rows."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from unstract import errors, logcontext
from unstract.extensions import db, rq
from unstract.models import FileExecution

LISTING_JOB = "unstract.worker.jobs.run_listing"
FILES_JOB = "unstract.worker.jobs.process_files"
STEPS_JOB = "unstract.worker.jobs.run_steps"
WAITING_STATES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
LIVE_STATES = WAITING_STATES | {JobStatus.STARTED}
ENQUEUE_CHUNK = 200  # jobs per pipeline round trip: bounded memory however many files a listing fans out


def listing_job_id(execution_id: uuid.UUID) -> str:
    return f"listing-{execution_id}"


def file_job_id(file_execution_id: uuid.UUID) -> str:
    """A job for one file on its own (a re-queue, or an upload waiting for its reservation)."""
    return f"file-{file_execution_id}"


def file_batch_job_id(execution_id: uuid.UUID, batch_index: int) -> str:
    """The listing's job for files number `batch_index * size + 1` … `(batch_index + 1) * size`."""
    return f"files-{execution_id}-{batch_index}"


def batch_index(file_number: int, batch_size: int) -> int:
    return (file_number - 1) // batch_size


def steps_job_id(execution_id: uuid.UUID) -> str:
    return f"steps-{execution_id}"


def job_is_live(job_id: str) -> bool:
    """A job with this id is queued, scheduled or running (RQ's view, used only to avoid duplicates)."""
    try:
        return Job.fetch(job_id, connection=rq.connection()).get_status(refresh=True) in LIVE_STATES
    except NoSuchJobError:
        return False


def waiting_job_ids(job_ids: set[str]) -> set[str]:
    """Those of `job_ids` that are queued, scheduled or deferred: one pipelined round trip for all."""
    ordered = sorted(job_ids)
    try:
        with rq.connection().pipeline(transaction=False) as pipe:
            for job_id in ordered:
                pipe.hget(Job.key_for(job_id), "status")
            statuses = pipe.execute()
    except RedisError:
        raise errors.QueueUnavailable() from None
    return {job_id for job_id, raw in zip(ordered, statuses, strict=True)
            if raw is not None and raw.decode() in WAITING_STATES}


def enqueue_each_alone(file_execution_ids: Iterable[uuid.UUID]) -> None:
    """A job of its own for each file (`file-<id>`): re-queues and hand-backs, which rule 2 can find."""
    enqueue_many(FILES_JOB, ((file_job_id(fe_id), (str(fe_id),)) for fe_id in file_execution_ids))


def worker_count() -> int:
    """Workers registered on the queue now (0 when Redis cannot tell)."""
    from rq import Worker

    try:
        queue = rq.queue()
        return Worker.count(connection=queue.connection, queue=queue)
    except RedisError:
        return 0


def job_meta() -> dict:
    """What a job carries from whoever queued it, for the worker's log records to bind: the request id, and
    the execution id when the job is queued while working on one (a listing's fan-out)."""
    ids = {name: logcontext.current(name) for name in ("request_id", "execution_id")}
    return {name: value for name, value in ids.items() if value}


def enqueue(func: str, row_id: uuid.UUID, job_id: str, *, delay_seconds: float = 0) -> None:
    """Enqueue `func(row_id)`; Redis trouble surfaces as 503 queue_unavailable."""
    try:
        queue = rq.queue()
        if delay_seconds:
            queue.enqueue_in(timedelta(seconds=delay_seconds), func, str(row_id), job_id=job_id, meta=job_meta())
        else:
            queue.enqueue(func, str(row_id), job_id=job_id, result_ttl=0, failure_ttl=86400, meta=job_meta())
    except RedisError:
        raise errors.QueueUnavailable() from None


def batched(items: Iterable, size: int):
    """Lists of up to `size` items (itertools.batched arrived in Python 3.12)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def enqueue_many(func: str, jobs: Iterable[tuple[str, tuple[str, ...]]]) -> None:
    """Enqueue `func(*args)` for each `(job_id, args)`, a pipeline round trip per chunk of jobs."""
    from rq import Queue

    try:
        queue, meta = rq.queue(), job_meta()
        for chunk in batched(jobs, ENQUEUE_CHUNK):
            with rq.connection().pipeline() as pipe:
                queue.enqueue_many([Queue.prepare_data(func, args, job_id=job_id, result_ttl=0, failure_ttl=86400,
                                                       meta=meta)
                                    for job_id, args in chunk], pipeline=pipe)
                pipe.execute()
    except RedisError:
        raise errors.QueueUnavailable() from None


@dataclass(frozen=True)
class RunningJob:
    job_id: str
    execution_id: uuid.UUID | None


def running_jobs(pids: Iterable[int]) -> dict[int, RunningJob] | None:
    """The job each of these worker processes (on this host) runs now, as RQ records it; None when Redis
    cannot tell."""
    from rq import Worker

    wanted, hostname = set(pids), socket.gethostname()
    found = {}
    try:
        queue = rq.queue()
        for worker in Worker.all(connection=queue.connection, queue=queue):
            if worker.pid in wanted and worker.hostname == hostname and (job_id := worker.get_current_job_id()):
                found[worker.pid] = RunningJob(job_id, execution_of_job(job_id))
    except RedisError:
        return None
    return found


def execution_of_job(job_id: str) -> uuid.UUID | None:
    """The execution a job works for, read back from the ids the functions above build."""
    kind, _, rest = job_id.partition("-")
    try:
        if kind in ("listing", "steps"):
            return uuid.UUID(rest)
        if kind == "files":
            return uuid.UUID(rest.rsplit("-", 1)[0])
        if kind == "file":
            file_execution = db.session.get(FileExecution, uuid.UUID(rest))
            return file_execution.execution_id if file_execution is not None else None
    except ValueError:
        return None
    return None
