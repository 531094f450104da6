"""The listing job: claim the execution, snapshot the plan, select files, fan out (docs/EXECUTION.md, Listing)."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from itertools import chain, islice

from sqlalchemy import delete, insert, update

from unstract.connectors.errors import ConnectorError
from unstract.connectors.filestore import FileEntry, PathEscapeError
from unstract.extensions import db
from unstract.jsonschemas import CONVERT_HINT, unreadable_extensions
from unstract.models import Execution, ExecutionType, FileExecution, Phase, Stage, Status, Workflow
from unstract.models.base import utcnow
from unstract.models.plan import ExecutionPlan, ListingCap, RetryFile
from unstract.services import execution_state as state
from unstract.services import file_outcomes, queueing, wakeups
from unstract.services.plans import PlanError, build_plan, validate_plan
from unstract.worker import io
from unstract.worker.context import JobContext
from unstract.worker.lease import execution_heartbeat
from unstract.worker.runner import file_lanes

LISTING_CHUNK = 500  # candidates hashed, checked and inserted together: a few statements per chunk, not per file


class ListingError(Exception):
    """The source cannot be listed; ends the execution in ERROR with this message."""


def claim(execution_id: uuid.UUID, ctx: JobContext) -> Execution | None:
    """PENDING -> EXECUTING (attempts + 1, phase LISTING, lease); stores the plan snapshot."""
    lease = utcnow() + timedelta(seconds=ctx.lease_seconds)
    claimed = db.session.execute(
        update(Execution).where(Execution.id == execution_id, Execution.status == Status.PENDING)
        .values(status=Status.EXECUTING, attempts=Execution.attempts + 1, phase=Phase.LISTING,
                lease_expires_at=lease, modified_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not claimed:
        db.session.rollback()
        return None
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    if not execution.run_plan.has_snapshot:
        workflow = db.session.get(Workflow, execution.workflow_id)
        execution.run_plan = execution.run_plan.with_snapshot(build_plan(workflow))
        execution.total_steps = len(execution.run_plan.tools)
    db.session.commit()
    return execution


def run_listing(execution_id: uuid.UUID, ctx: JobContext) -> None:
    execution = claim(execution_id, ctx)
    if execution is None:
        return
    log = state.run_log(execution)
    tools = execution.run_plan.tool_ids
    log.info(Stage.INITIALIZE, f"Execution started (attempt {execution.attempts}); {len(tools)} tool step(s): "
                               f"{', '.join(tools)}.")
    log.commit()
    try:
        plan = validate_plan(execution.run_plan)
    except PlanError as exc:
        state.fail_execution(execution_id, str(exc), ctx.data_dir)
        return
    with execution_heartbeat(ctx.app, execution_id, Phase.LISTING, ctx.lease_seconds):
        try:
            file_ids = _select_and_commit(execution, plan, ctx)
        except (ListingError, ConnectorError) as exc:
            db.session.rollback()
            state.fail_execution(execution_id, str(exc), ctx.data_dir, stage=Stage.SOURCE)
            return
    _after_listing(execution_id, file_ids, ctx)


def _select_and_commit(execution: Execution, plan: ExecutionPlan, ctx: JobContext) -> list[uuid.UUID]:
    """Insert the selected file executions; returns their ids in file-number order (1, 2, …)."""
    log = state.run_log(execution)
    capped = None
    if plan.source.connection_type == "API":
        file_ids = _upload_rows(execution, log)
    else:
        file_ids, capped = _filesystem_rows(execution, plan, ctx, log)
    db.session.refresh(execution, ["stop_requested"])
    if execution.stop_requested:
        db.session.rollback()
        return []
    execution.total_files = len(file_ids)
    stored = execution.run_plan
    execution.run_plan = replace(plan, uploads=stored.uploads, duplicates=stored.duplicates,
                                 batch_size=batch_size(len(file_ids), ctx, plan), capped=capped)
    log.flush()
    db.session.commit()
    return file_ids


def batch_size(files: int, ctx: JobContext, plan: ExecutionPlan) -> int:
    """Files per job: up to UNSTRACT_FILE_BATCH_SIZE, but small enough that every worker gets about
    four jobs, so a small execution still spreads over all workers. A plan whose files run side by
    side (runner.file_lanes) gets one wave per job instead: as many files as a job runs at once, since
    a job ends with its slowest file and a worker takes one job at a time. Stored in the plan, because
    the reaper derives a file's job id from its number and the batch size."""
    workers = max(queueing.worker_count(), 1)
    lanes = file_lanes(plan, ctx.settings, files)
    if lanes > 1:
        return max(1, min(lanes, files // workers))
    return max(1, min(ctx.settings.file_batch_size, files // (4 * workers)))


def _new_file_execution(execution: Execution, number: int, **fields) -> FileExecution:
    return FileExecution(id=uuid.uuid4(), execution_id=execution.id, file_number=number,
                         status=Status.PENDING, **fields)


def _upload_rows(execution: Execution, log) -> list[uuid.UUID]:
    rows, plan = [], execution.run_plan
    for number, upload in enumerate(plan.uploads or (), start=1):
        rows.append(_new_file_execution(
            execution, number, file_name=upload.name, file_path=None, file_size=upload.size,
            file_hash=upload.sha256, mime_type=upload.mime_type, staged_path=upload.staged_path))
    duplicates = plan.duplicates or ()
    for dropped, first in duplicates:
        log.info(Stage.SOURCE, f"Skipping duplicate upload '{dropped}' (same content as '{first}').")
    log.info(Stage.SOURCE, f"Found {len(rows) + len(duplicates)} matching file(s); "
                           f"selected {len(rows)} for processing.")
    db.session.add_all(rows)
    return [row.id for row in rows]


def _filesystem_rows(execution: Execution, plan: ExecutionPlan, ctx: JobContext,
                     log) -> tuple[list[uuid.UUID], ListingCap | None]:
    """The selected ids, and the cap when `maxFiles` left matching files for a later run."""
    if plan.retry_files is not None:
        return _retry_rows(execution, plan, ctx, log), None
    config = plan.source.settings
    max_files = config.get("maxFiles", 100)
    with io.open_store(plan.source, ctx.settings, ctx.secret_key) as store:
        for folder in io.source_folders(config):
            if folder and not store.is_dir(folder):
                raise ListingError(f"The provided path '{folder}' is not a valid directory.")
        unreadable: list[str] = []
        entries = io.ordered(list(io.candidates(store, config, io.excluded_output_prefix(plan), unreadable)),
                             config.get("fileProcessingOrder", "unordered"))
        _warn_unreadable(unreadable, log)
        rules = HistoryRules(execution, config, ctx)
        eligible = EligibleFiles(store, entries, rules, log)
        # Hash the likely selection before the first write, so the write transaction stays short.
        head = list(islice(eligible, max_files))
        file_ids = _reserve(execution, chain(head, eligible), max_files, rules, log)
    log.info(Stage.SOURCE, f"Found {len(entries)} matching file(s); selected {len(file_ids)} for processing.")
    # A full selection consumed `head` whole, so whatever `eligible` still holds was left out.
    left = eligible.left() if len(file_ids) == max_files else 0
    if not left:
        return file_ids, None
    log.info(Stage.SOURCE, f"Max files to process is {max_files}: up to {left} more matching file(s) are "
                           "left for the next run.")
    return file_ids, ListingCap(max_files, left)


def _warn_unreadable(names: list[str], log) -> None:
    """Files the tools cannot read are not processed (they would only fail): say how many and which types."""
    if names:
        log.warn(Stage.SOURCE, f"Skipped {len(names)} file(s) the tools cannot read "
                               f"({', '.join(unreadable_extensions(names))}): {CONVERT_HINT}.")


def _retry_rows(execution: Execution, plan: ExecutionPlan, ctx: JobContext, log) -> list[uuid.UUID]:
    """A retry lists exactly the failed files, read again as they are now; history does not skip them,
    reservations still do (docs/EXECUTION.md, Retrying failed files)."""
    with io.open_store(plan.source, ctx.settings, ctx.secret_key) as store:
        chosen = [_retry_candidate(store, item) for item in plan.retry_files]
    rules = HistoryRules(execution, plan.source.settings, ctx)
    file_ids = _reserve(execution, iter(chosen), len(chosen), rules, log)
    log.info(Stage.SOURCE, f"Retrying {len(chosen)} failed file(s) of execution {execution.retry_of}; "
                           f"selected {len(file_ids)} for processing.")
    return file_ids


def _retry_candidate(store, item: RetryFile) -> Candidate:
    """The file at its path now; a file gone keeps what it was, and its processing fails with
    `Source file not found` like any missing source file."""
    try:
        sha, size = store.sha256_and_size(item.path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PathEscapeError):
        return Candidate(FileEntry(item.path, item.size, None), item.sha256, item.size)
    return Candidate(FileEntry(item.path, size, None), sha, size)


class EligibleFiles(Iterator["Candidate"]):
    """Candidates with their hashes, minus those file history says to skip; hashed and checked a chunk
    at a time (a query per chunk), so a capped listing never hashes the files it does not reach."""

    def __init__(self, store, entries: list, rules: HistoryRules, log):
        self.store, self.entries, self.rules, self.log = store, entries, rules, log
        self.examined = 0  # entries hashed and checked so far
        self.ready: deque[Candidate] = deque()

    def __next__(self) -> Candidate:
        while not self.ready:
            if self.examined >= len(self.entries):
                raise StopIteration
            self._examine(self.entries[self.examined:self.examined + LISTING_CHUNK])
        return self.ready.popleft()

    def _examine(self, chunk: list) -> None:
        self.examined += len(chunk)
        hashed = [Candidate(entry, *self.store.sha256_and_size(entry.path)) for entry in chunk]
        skipped = self.rules.skipped([(c.entry.path, c.sha) for c in hashed], self.log)
        self.ready.extend(c for c in hashed if (c.entry.path, c.sha) not in skipped)

    def left(self) -> int:
        """Files not taken yet: checked ones exactly, unexamined ones at most (history may skip them)."""
        return len(self.ready) + len(self.entries) - self.examined


@dataclass(frozen=True)
class Candidate:
    entry: FileEntry
    sha: str
    size: int


class HistoryRules:
    """The history skip for one listing (off when the run ignores file history; docs/EXECUTION.md, File history)."""

    def __init__(self, execution: Execution, config: dict, ctx: JobContext):
        workflow = db.session.get(Workflow, execution.workflow_id)
        self.workflow_id = execution.workflow_id
        self.enabled = execution.use_file_history and not execution.run_plan.retry
        self.limit = file_outcomes.max_execution_count(workflow, ctx.settings.max_file_execution_count)
        self.cutoff = file_outcomes.expiry_cutoff(config)

    def skipped(self, identities: list[tuple[str, str]], log) -> set[tuple[str, str]]:
        """The (path, sha) identities to skip, each logged with its reason."""
        if not self.enabled or not identities:
            return set()
        rows = file_outcomes.live_histories(self.workflow_id, identities, self.cutoff)
        skipped = set()
        for path, sha in identities:
            row = rows.get((path, sha))
            if row is not None and row.status == Status.COMPLETED:
                log.info(Stage.SOURCE, f"Skipping file '{path}' as it has already been processed. "
                                       "Clear the file markers to process it again.")
            elif row is not None and row.execution_count >= self.limit:
                log.info(Stage.SOURCE, f"Skipping file '{path}': it reached the maximum execution count "
                                       f"({self.limit}).")
            else:
                continue
            skipped.add((path, sha))
        return skipped


def _reserve(execution: Execution, eligible: Iterator[Candidate], max_files: int, rules: HistoryRules,
             log) -> list[uuid.UUID]:
    """Insert the selection in chunks, each file execution taking its identity's reservation; returns
    the selected ids, numbered 1, 2, … in order. Only ids stay in memory, however many files."""
    file_ids: list[uuid.UUID] = []
    eligible = iter(eligible)
    while len(file_ids) < max_files:
        chunk = list(islice(eligible, min(LISTING_CHUNK, max_files - len(file_ids))))
        if not chunk:
            break
        file_ids += _reserve_chunk(execution, chunk, len(file_ids) + 1, rules, log)
    return file_ids


def _reserve_chunk(execution: Execution, chunk: list[Candidate], first_number: int, rules: HistoryRules,
                   log) -> list[uuid.UUID]:
    """Identities held elsewhere are skipped. History is checked again once the reservations are held:
    a run that finished a file after our first look wrote its history row in the same transaction
    that released the reservation."""
    rows = [_file_execution_values(execution, first_number + n, c) for n, c in enumerate(chunk)]
    db.session.execute(insert(FileExecution), rows)
    held = file_outcomes.reserve_many(execution.workflow_id, execution.id,
                                      [(row["file_path"], row["file_hash"], row["id"]) for row in rows])
    for row in rows:
        if row["id"] not in held:
            holder = file_outcomes.reservation_holder(execution.workflow_id, row["file_path"], row["file_hash"])
            log.info(Stage.SOURCE, f"Skipping file '{row['file_path']}': it is being processed by execution "
                                   f"{holder[0] if holder else 'unknown'}.")
    skipped = rules.skipped([(row["file_path"], row["file_hash"]) for row in rows if row["id"] in held], log)
    kept = [row for row in rows if row["id"] in held and (row["file_path"], row["file_hash"]) not in skipped]
    if len(kept) < len(rows):
        _drop(rows, kept, first_number)
    return [row["id"] for row in kept]


def _drop(rows: list[dict], kept: list[dict], first_number: int) -> None:
    """Delete the rows not kept (and their reservations); renumber the kept ones without gaps.
    Kept rows only move down, in order, so no two ever share a number."""
    kept_ids = {row["id"] for row in kept}
    dropped = [row["id"] for row in rows if row["id"] not in kept_ids]
    state.release_reservations(dropped)
    db.session.execute(delete(FileExecution).where(FileExecution.id.in_(dropped)))
    moved = [{"row_id": row["id"], "number": first_number + n} for n, row in enumerate(kept)
             if row["file_number"] != first_number + n]
    for change in moved:
        db.session.execute(update(FileExecution).where(FileExecution.id == change["row_id"])
                           .values(file_number=change["number"]))


def _file_execution_values(execution: Execution, number: int, candidate: Candidate) -> dict:
    path = candidate.entry.path
    return {"id": uuid.uuid4(), "execution_id": execution.id, "file_number": number, "status": Status.PENDING,
            "file_name": path.rsplit("/", 1)[-1], "file_path": path, "file_size": candidate.size,
            "file_hash": candidate.sha, "provider_file_uuid": candidate.entry.etag,
            "mime_type": io.mime_type_for(path), "source_mtime": candidate.entry.mtime}


def _after_listing(execution_id: uuid.UUID, file_ids: list[uuid.UUID], ctx: JobContext) -> None:
    """Zero files finalizes; STEP pauses before step 1; COMPLETE fans out a job per batch of files."""
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    if not file_ids:
        execution.phase = Phase.PROCESSING
        db.session.commit()
        state.finalize(execution_id, ctx.data_dir)
        return
    if execution.execution_type == ExecutionType.STEP:
        pause(execution, 1)
        return
    execution.phase = Phase.PROCESSING
    execution.lease_expires_at = None
    db.session.commit()
    size = execution.run_plan.batch_size
    jobs = ((queueing.file_batch_job_id(execution_id, index), tuple(str(fe_id) for fe_id in batch))
            for index, batch in enumerate(queueing.batched(file_ids, size)))
    try:
        queueing.enqueue_many(queueing.FILES_JOB, jobs)
    except Exception:  # noqa: BLE001 - the reaper re-enqueues PENDING files of PROCESSING runs (EXECUTION.md, Recovery)
        pass


def pause(execution: Execution, next_step: int) -> None:
    """Await an action before `next_step`; no job is queued or running meanwhile (docs/EXECUTION.md, Step mode)."""
    execution.awaiting_action = True
    execution.next_step = next_step
    execution.paused_at = utcnow()
    execution.phase = Phase.AWAITING_ACTION
    execution.lease_expires_at = None
    log = state.run_log(execution)
    log.info(Stage.PROCESSING, f"Waiting for an action before step {next_step}/{execution.total_steps}.")
    wakeups.note_settled(execution.id)  # a START/NEXT call waiting for this pause answers now
    log.commit()
