"""Processing one file: claim, tools, destination, outcome, finalization (docs/EXECUTION.md, Processing one file)."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from flask import current_app
from sqlalchemy import func, update

from unstract import errors, logcontext, metrics
from unstract.config import Settings
from unstract.connectors.errors import ConnectorError
from unstract.extensions import db
from unstract.models import Execution, FileExecution, Stage, Status
from unstract.models.base import utcnow
from unstract.models.plan import ExecutionPlan
from unstract.services import adapters, file_outcomes, queueing, usage
from unstract.services import execution_state as state
from unstract.services.runlog import RunLog
from unstract.sizes import json_size
from unstract.tools import IO_BOUND_TOOLS, ToolError, ToolLimits
from unstract.worker import io
from unstract.worker.context import JobContext, job_context, shutdown_requested
from unstract.worker.lease import file_heartbeat, waiting_files_heartbeat
from unstract.worker.slots import call_slots
from unstract.worker.toolrunner import tool_runner
from unstract.worker.transient import describe, retry_transient

process_log = logging.getLogger(__name__)  # the process's log (`log` names an execution's RunLog here)

RESERVATION_RETRY_SECONDS = 2


class FileFailed(Exception):
    """The file ends in ERROR with this `execution_error`."""


class FileStopped(Exception):
    """A stop was requested; the file ends STOPPED without a destination write."""


@dataclass
class Outcome:
    status: str
    result: dict | None = None
    error: str = ""
    reused: bool = False
    result_size: int = 0
    extracted_text: str | None = None  # the first text a step of this run extracted


@dataclass(frozen=True)
class ToolsOutput:
    """What a run of steps produced: the last step's output, and the text the first text-producing
    step extracted (None when no step did)."""

    output: dict
    extracted_text: str | None = None


def claim_file(fe: FileExecution, lease_seconds: int) -> uuid.UUID | None:
    """PENDING -> EXECUTING with a fresh claim token and lease; None when another job has it.

    `fe` (detached) takes the new attempt count and claim time. The caller commits, so the claim and
    its first log line share one transaction."""
    token, now = uuid.uuid4(), utcnow()
    claimed = db.session.execute(
        update(FileExecution).where(FileExecution.id == fe.id, FileExecution.status == Status.PENDING)
        .values(status=Status.EXECUTING, attempts=FileExecution.attempts + 1, claim_token=token,
                lease_expires_at=now + timedelta(seconds=lease_seconds), modified_at=now,
                claimed_at=func.coalesce(FileExecution.claimed_at, now))
        .returning(FileExecution.attempts, FileExecution.claimed_at, FileExecution.steps_done)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    fe.attempts, fe.claimed_at, fe.steps_done = claimed
    return token


def process_files(file_execution_ids: list[uuid.UUID], ctx: JobContext) -> None:
    """A batch of one execution's files in file order, each with its own claim, lease, outcome (EXECUTION.md, Batches).

    Files still waiting their turn are kept fresh for the reaper while the job lives; a file another
    job took meanwhile (a re-queue after a lost worker) is simply passed over. A plan with an I/O-bound
    tool runs up to UNSTRACT_FILE_CONCURRENCY files at once, each lane taking the next waiting file
    (EXECUTION.md, Throughput)."""
    waiting = _take_waiting_rows(file_execution_ids)
    if not waiting:
        return
    execution = read_only(db.session.get(Execution, waiting[0].execution_id))
    turns = _Turns(waiting)
    lanes = file_lanes(execution.run_plan, ctx.settings, len(waiting))
    with waiting_files_heartbeat(ctx.app, turns.queue, ctx.lease_seconds), logcontext.bound(execution_id=execution.id):
        if lanes == 1:
            _lane(turns, execution, ctx)
        else:
            _side_by_side(turns, execution, ctx, lanes)
    log = state.run_log(execution)
    in_one_transaction(ctx, log, lambda: finalize_if_done(execution.id, ctx), commit=False)  # it commits itself
    if log.rows:  # the note of a retried finalization
        log.commit()


def file_lanes(plan: ExecutionPlan, settings: Settings, files: int) -> int:
    """Files one batch job processes at once: UNSTRACT_FILE_CONCURRENCY (at most its files) when a tool
    of the plan waits on another service; else one, since CPU-bound tools gain nothing from sharing
    the worker's cores with each other (the workers are the parallelism there)."""
    if not IO_BOUND_TOOLS.intersection(plan.tool_ids):
        return 1
    return max(1, min(settings.file_concurrency, files))


class _Turns:
    """A batch's files still waiting their turn, handed to the job's lanes one at a time in file order.

    `queue` is what the waiting-files heartbeat keeps fresh: it shrinks as files are taken."""

    def __init__(self, waiting: list[FileExecution]) -> None:
        self._files = deque(waiting)
        self.queue = [fe.id for fe in waiting]
        self._lock = threading.Lock()

    def take(self) -> FileExecution | None:
        """The next file, or None when none is left or the worker is stopping (the rest handed back)."""
        with self._lock:
            if self._files and shutdown_requested.is_set():
                self._files.clear()
                _hand_back(list(self.queue))
            if not self._files:
                return None
            fe = self._files.popleft()
            self.queue.remove(fe.id)
            return fe

    def drop_the_rest(self) -> None:
        """A lane failed: the others take no new file (the reaper re-queues the rest, as after any failed job)."""
        with self._lock:
            self._files.clear()


def _lane(turns: _Turns, execution: Execution, ctx: JobContext) -> None:
    """Files one after another; each file's outcome is committed with the next file's claim, so a file
    costs two transactions, not three."""
    log = state.run_log(execution)
    unsaved: Callable[[], object] | None = None
    while (fe := turns.take()) is not None:
        with logcontext.bound(file_execution_id=fe.id):
            unsaved = process_file(fe, execution, ctx, log, unsaved)
    in_one_transaction(ctx, log, lambda: _stage(unsaved))


_lane_threads: ThreadPoolExecutor | None = None
_lane_threads_lock = threading.Lock()


def _lane_pool(size: int) -> ThreadPoolExecutor:
    """The worker's lane threads, kept for the life of the process (no thread start per job)."""
    global _lane_threads
    with _lane_threads_lock:
        if _lane_threads is None or _lane_threads._max_workers < size:
            _lane_threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="file-lane")
        return _lane_threads


def _side_by_side(turns: _Turns, execution: Execution, ctx: JobContext, lanes: int) -> None:
    """`lanes` lanes at once, each in its own app context (its own database session and log rows); a
    lane's error is raised once every lane has ended, so no lane outlives its job."""
    db.session.commit()  # the touch of the waiting rows (_take_waiting_rows): the lanes' claims update them
    pool = _lane_pool(ctx.settings.file_concurrency)
    running = [pool.submit(contextvars.copy_context().run, _lane_with_own_session, turns, execution, ctx)
               for _ in range(lanes)]
    failures = [error for error in (future.exception() for future in running) if error is not None]
    if failures:
        raise failures[0]


def _lane_with_own_session(turns: _Turns, execution: Execution, ctx: JobContext) -> None:
    with ctx.app.app_context():
        try:
            _lane(turns, execution, ctx)
        except BaseException:
            turns.drop_the_rest()
            raise
        finally:
            db.session.rollback()
            db.session.remove()


def _stage(unsaved: Callable[[], object] | None) -> None:
    if unsaved is not None:
        unsaved()


def _after(unsaved: Callable[[], object] | None, action: Callable, *args):
    """Stage the previous file's outcome, then `action`: both go into one transaction."""
    _stage(unsaved)
    return action(*args)


def in_one_transaction(ctx: JobContext, log: RunLog, stage: Callable, *, commit: bool = True):
    """Run `stage` and commit (with the log rows it adds); after a transient database error roll back,
    note the retry in the log and run it all again (docs/RELIABILITY.md, Transient faults).

    Everything a try stages is redone by the next one, so `stage` must stage, not commit (finalize's own
    commit is its last step and conditional). With commit=False nothing is committed: a failed try only
    drops the rows it added."""
    kept = list(log.rows)

    def attempt():
        result = stage()
        if commit:
            log.commit()
        return result

    def before_retry(exc: BaseException, delay: float) -> None:
        nonlocal kept
        db.session.rollback()
        log.rows = kept
        log.warn(Stage.PROCESSING, f"Retrying after a transient database error: {describe(exc)}")
        kept = list(log.rows)

    return retry_transient(attempt, ctx.settings.transient_retry_seconds, before_retry)


def _hand_back(file_execution_ids: list[uuid.UUID]) -> None:
    """The worker is stopping: the files not started go back to the queue, a job each."""
    try:
        queueing.enqueue_each_alone(file_execution_ids)
    except errors.QueueUnavailable:
        pass  # reaper rule 2 re-queues them once they have been left alone for a lease


def _take_waiting_rows(file_execution_ids: list[uuid.UUID]) -> list[FileExecution]:
    """The batch's files still PENDING, detached, in file order; touching them tells the reaper that
    a job holds them (rule 2 re-queues PENDING files unchanged for more than a lease)."""
    rows = db.session.scalars(
        update(FileExecution).where(FileExecution.id.in_(file_execution_ids), FileExecution.status == Status.PENDING)
        .values(modified_at=utcnow()).returning(FileExecution)
        .execution_options(synchronize_session=False)).all()
    for row in rows:
        read_only(row)
    return sorted(rows, key=lambda row: row.file_number)


def process_file(fe: FileExecution, execution: Execution, ctx: JobContext, log: RunLog,
                 unsaved: Callable[[], object] | None = None) -> Callable[[], object] | None:
    """One file end to end; `fe` is detached and was PENDING when the job read it. `unsaved` (the
    previous file's outcome) is committed with this file's claim; this file's outcome is returned in
    the same form, for the caller to commit."""
    if _takes_reservation(fe, execution):
        held = in_one_transaction(ctx, log, partial(_after, unsaved, _reserve, fe, execution))
        unsaved = None
        if not held:
            queueing.enqueue(queueing.FILES_JOB, fe.id, queueing.file_job_id(fe.id),
                             delay_seconds=RESERVATION_RETRY_SECONDS)
            return None
    token = in_one_transaction(ctx, log, partial(_after, unsaved, _claim_and_note, fe, ctx, log))
    if token is None:
        return None  # another job has it
    with file_heartbeat(ctx.app, fe.id, token, ctx.lease_seconds):
        outcome = in_one_transaction(ctx, log, lambda: produce_outcome(fe, execution, ctx, log), commit=False)
    process_log.info("file %r: %s", fe.file_name, outcome.status)
    return partial(record, fe, execution, token, outcome, log, commit=False)


def _claim_and_note(fe: FileExecution, ctx: JobContext, log: RunLog) -> uuid.UUID | None:
    token = claim_file(fe, ctx.lease_seconds)
    if token is not None:
        log.info(Stage.PROCESSING, f"Processing file '{fe.file_name}' (attempt {fe.attempts}).",
                 file_execution_id=fe.id)
    return token


def read_only(row):
    """Detach a row the job only reads, so later commits do not reload it (and its JSON plan) each time."""
    db.session.expunge(row)
    return row


def _takes_reservation(fe: FileExecution, execution: Execution) -> bool:
    """Uploads with file history take their identity's reservation before the claim (EXECUTION.md, Reservations)."""
    return fe.file_path is None and execution.use_file_history


def _reserve(fe: FileExecution, execution: Execution) -> bool:
    return file_outcomes.reserve(execution.workflow_id, "", fe.file_hash, execution.id, fe.id)


def stop_requested(execution_id: uuid.UUID) -> bool:
    return bool(db.session.scalar(
        db.select(Execution.stop_requested).where(Execution.id == execution_id).execution_options(
            populate_existing=True)))


def produce_outcome(fe: FileExecution, execution: Execution, ctx: JobContext, log: RunLog) -> Outcome:
    """Steps 2–7 of docs/EXECUTION.md, Processing one file: everything that can fail the file, as an Outcome."""
    try:
        produced, reused = _output(fe, execution, ctx, log)
    except FileStopped:
        return Outcome(Status.STOPPED)
    except FileFailed as exc:
        return Outcome(Status.ERROR, error=str(exc))
    outcome = deliver(fe, execution, produced.output, ctx, log, reused=reused)
    outcome.extracted_text = produced.extracted_text
    return outcome


def deliver(fe: FileExecution, execution: Execution, output: dict, ctx: JobContext, log: RunLog, *,
            reused: bool = False) -> Outcome:
    """Steps 6–7 of docs/EXECUTION.md, Processing one file: a last stop check, the output's size, then
    the destination write."""
    try:
        if stop_requested(execution.id):
            raise FileStopped()
        size = checked_output_size(output, ctx.settings.max_result_bytes)
        target = write_output(fe, execution, output, ctx, log)
    except FileStopped:
        return Outcome(Status.STOPPED)
    except FileFailed as exc:
        return Outcome(Status.ERROR, error=str(exc))
    if target:
        log.info(Stage.DESTINATION, f"Wrote output to {target}.", file_execution_id=fe.id)
    return Outcome(Status.COMPLETED, result=output, reused=reused, result_size=size)


def checked_output_size(output: dict, limit: int) -> int:
    """The output's compact JSON size; an output above UNSTRACT_MAX_RESULT_BYTES fails the file."""
    size = json_size(output)
    if size > limit:
        raise FileFailed(f"Output too large: {size} bytes (limit {limit}).")
    return size


def _output(fe: FileExecution, execution: Execution, ctx: JobContext, log: RunLog) -> tuple[ToolsOutput, bool]:
    if stop_requested(execution.id):
        raise FileStopped()
    if fe.file_path is None and execution.use_file_history and not execution.run_plan.retry:
        row = file_outcomes.find_history(execution.workflow_id, "", fe.file_hash)
        if row is not None and row.status == Status.COMPLETED:
            log.info(Stage.PROCESSING, f"Reused the stored result for '{fe.file_name}' (file history).",
                     file_execution_id=fe.id)
            return ToolsOutput(row.result), True
    source = read_source(fe, execution, ctx)
    return run_tools(fe, execution, source, range(fe.steps_done + 1, execution.total_steps + 1), log), False


def read_source(fe: FileExecution, execution: Execution, ctx: JobContext) -> bytes:
    try:
        return io.read_source(fe, execution.run_plan, ctx.settings, ctx.secret_key)
    except (FileNotFoundError, IsADirectoryError):
        raise FileFailed(f"Source file not found: {fe.file_path or fe.file_name}.") from None
    except ConnectorError as exc:
        raise FileFailed(f"Source error: {exc}") from None


def run_tool(step: int, fe: FileExecution, execution: Execution, source: bytes, previous: dict | None,
             log: RunLog) -> ToolsOutput:
    """Run one tool step; a tool failure fails the file with `<tool_id>: <message>`."""
    tool = execution.run_plan.tool(step)
    log.info(Stage.TOOL, f"Running step {step}/{execution.total_steps}: {tool.tool_id}.",
             file_execution_id=fe.id, step=step)
    ctx = job_context()
    settings = ctx.settings
    started = time.perf_counter()
    try:
        call_settings = tool_settings(tool, execution)
        with call_slots(tool.tool_id, call_settings, settings, partial(_raise_if_stopped, execution.id)):
            result = tool_runner().run(tool.tool_id, source, fe.mime_type, previous, call_settings,
                                       timeout=settings.tool_timeout_seconds,
                                       limits=ToolLimits(max_text_chars=settings.max_text_chars))
    except ToolError as exc:
        usage.add_usage(execution.id, fe.id, exc.usage)
        metrics.observe_tool(tool.tool_id, started)
        _log_warnings(tool.tool_id, exc.warnings, fe, step, log)
        message = f"{tool.tool_id}: {exc}"
        log.error(Stage.TOOL, message, file_execution_id=fe.id, step=step)
        raise FileFailed(message) from None
    usage.add_usage(execution.id, fe.id, result.usage)
    metrics.observe_tool(tool.tool_id, started)
    _log_warnings(tool.tool_id, result.warnings, fe, step, log)
    text = None if result.text is None else result.text[:settings.max_text_chars]
    return ToolsOutput(result.output, text)


def _log_warnings(tool_id: str, warnings: list[str], fe: FileExecution, step: int, log: RunLog) -> None:
    for warning in warnings:
        log.warn(Stage.TOOL, f"{tool_id}: {warning}", file_execution_id=fe.id, step=step)


def _raise_if_stopped(execution_id: uuid.UUID) -> None:
    if stop_requested(execution_id):
        raise FileStopped()


def tool_settings(tool, execution: Execution) -> dict:
    """The settings sent to the tool process (an llm_extractor's include its adapter, key included);
    the call is never logged."""
    return adapters.tool_call_settings(execution.organization_id, tool.tool_id, tool.metadata,
                                       current_app.config["SECRET_KEY"])


def run_tools(fe: FileExecution, execution: Execution, source: bytes, steps, log: RunLog,
              previous: dict | None = None) -> ToolsOutput:
    """Steps in order, each receiving the source and the previous output.

    `stop_requested` is checked before each step after the first; the caller has just checked it
    before the first (step 2 of EXECUTION.md, Processing one file, or the step job's check before each file)."""
    text = None
    for index, step in enumerate(steps):
        if index and stop_requested(execution.id):
            raise FileStopped()
        produced = run_tool(step, fe, execution, source, previous, log)
        previous, text = produced.output, text if text is not None else produced.extracted_text
    return ToolsOutput(previous, text)


def keep_extracted_text(text: str | None) -> dict:
    """The UPDATE values that store `text` as the file's extracted text unless an earlier step (an earlier
    step job) stored one already: the first text-producing step's text is the one kept."""
    if text is None:
        return {}
    return {"extracted_text": func.coalesce(FileExecution.extracted_text, text)}


def write_output(fe: FileExecution, execution: Execution, output: dict, ctx: JobContext, log: RunLog) -> str | None:
    """The destination write, tried again while it fails transiently (it replaces its own earlier writes)."""
    def before_retry(exc: BaseException, delay: float) -> None:
        log.warn(Stage.DESTINATION, f"Retrying after a transient database error: {describe(exc)}",
                 file_execution_id=fe.id)

    try:
        return retry_transient(lambda: io.write_destination(fe, execution, output, ctx.settings, ctx.secret_key),
                               ctx.settings.transient_retry_seconds, before_retry)
    except (ConnectorError, OSError) as exc:
        raise FileFailed(f"Destination error: {exc}") from None


def record(fe: FileExecution, execution: Execution, token: uuid.UUID | None, outcome: Outcome,
           log: RunLog, *, commit: bool = True) -> bool:
    """Step 8 of EXECUTION.md, Processing one file: one transaction, conditional on the claim; a lost claim drops all,
    including the file's log rows. With commit=False the caller commits (the rows are staged)."""
    elapsed = (utcnow() - (fe.claimed_at or fe.created_at)).total_seconds()
    values = {"execution_time": round(elapsed, 3), "lease_expires_at": None}
    values.update(keep_extracted_text(outcome.extracted_text))
    if outcome.status == Status.COMPLETED:
        values["result"], values["result_size"] = outcome.result, outcome.result_size
    elif outcome.status == Status.ERROR:
        values["execution_error"] = outcome.error
    if not state.transition_file(fe.id, outcome.status, when=(Status.EXECUTING,), claim_token=token, **values):
        db.session.rollback()
        log.discard()
        return False
    if outcome.status != Status.STOPPED and not outcome.reused:
        file_outcomes.record_outcome(execution.workflow_id, fe, outcome.status, error=outcome.error,
                                     result=outcome.result, result_size=outcome.result_size)
    state.release_reservations([fe.id])
    state.count_outcome(execution.id, outcome.status)
    _log_outcome(fe, outcome, elapsed, log)
    if commit:
        log.commit()
    return True


def _log_outcome(fe: FileExecution, outcome: Outcome, elapsed: float, log: RunLog) -> None:
    if outcome.status == Status.COMPLETED:
        log.info(Stage.PROCESSING, f"File '{fe.file_name}' completed in {elapsed:.3f} s.", file_execution_id=fe.id)
    elif outcome.status == Status.ERROR:
        log.error(Stage.PROCESSING, f"File '{fe.file_name}' failed: {outcome.error}", file_execution_id=fe.id)
    else:
        log.info(Stage.PROCESSING, f"File '{fe.file_name}' stopped.", file_execution_id=fe.id)


def finalize_if_done(execution_id: uuid.UUID, ctx: JobContext) -> None:
    """Step 9 of docs/EXECUTION.md, Processing one file: the job that ends the last open file finalizes (once)."""
    if state.processing_is_over(execution_id):
        state.finalize(execution_id, ctx.data_dir)
