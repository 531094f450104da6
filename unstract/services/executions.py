"""The execute protocol (docs/EXECUTION.md, The execute call): create, start, step, stop and wait for executions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import undefer

from unstract import errors
from unstract.config import Settings
from unstract.extensions import db
from unstract.models import (
    TERMINAL,
    DeploymentRun,
    Execution,
    ExecutionType,
    FileExecution,
    Phase,
    Status,
    Workflow,
)
from unstract.models.base import utcnow
from unstract.models.plan import ExecutionPlan
from unstract.policy import Requester, get_visible_workflow
from unstract.services import execution_state as state
from unstract.services import idempotency, queueing, wakeups
from unstract.services.plans import PlanError, build_plan, validate_plan
from unstract.services.uploads import UploadPart, check_parts, stage_parts

STEP_ACTIONS = ("NEXT", "CONTINUE")


@dataclass
class ExecuteCommand:
    """A validated execute request body."""

    workflow_id: uuid.UUID
    execution_id: uuid.UUID | None = None
    action: str | None = None
    timeout: int = 300
    use_file_history: bool | None = None
    parts: list[UploadPart] = field(default_factory=list)
    received_at: float = field(default_factory=time.monotonic)
    idempotency_key: str | None = None
    origin: RunOrigin | None = None  # set when an API deployment starts the run
    # The id a new execution gets (a schedule's run: a second start of it then collides on the key).
    new_execution_id: uuid.UUID | None = None


@dataclass(frozen=True)
class RunOrigin:
    """The API deployment and key that start an execution, with the call's tags and custom_data."""

    deployment_id: uuid.UUID
    key_id: uuid.UUID
    tags: tuple[str, ...] = ()
    custom_data: object = None


@dataclass(frozen=True)
class ExecuteResult:
    """Where one execute call left its execution: `terminal` or not, and the execute response."""

    terminal: bool
    response: dict


def execute(who: Requester, command: ExecuteCommand, settings: Settings) -> ExecuteResult:
    """Run one execute call and wait for its execution as the command asks. The workflow is looked up (404
    when the requester may not see it) before any Idempotency-Key is claimed or replayed, so a replay never
    answers someone who could not make the first call."""
    workflow = get_visible_workflow(who, command.workflow_id)
    if command.idempotency_key is None:
        execution_id = _start(who, workflow, command, settings)
    else:
        execution_id = _start_once(who, workflow, command, settings)
    return wait_for(execution_id, command, settings.sync_poll_seconds)


def _start_once(who: Requester, workflow: Workflow, command: ExecuteCommand, settings: Settings) -> uuid.UUID:
    """`_start` under the command's Idempotency-Key: a replay answers with the first call's execution."""
    claim_id, replayed = idempotency.claim(who.org.id, command.idempotency_key, _fingerprint(command))
    if replayed is not None:
        return replayed
    try:
        execution_id = _start(who, workflow, command, settings)
    except BaseException:
        idempotency.release(claim_id)
        raise
    idempotency.bind(claim_id, execution_id)
    return execution_id


def _fingerprint(command: ExecuteCommand) -> str:
    origin = str(command.origin.deployment_id) if command.origin else ""
    return idempotency.fingerprint(str(command.workflow_id), command.action or "", str(command.execution_id or ""),
                                   origin, *(idempotency.stream_hash(part.stream) for part in command.parts))


def _start(who: Requester, workflow: Workflow, command: ExecuteCommand, settings: Settings) -> uuid.UUID:
    """Create, start, step or stop as the command asks on the visible `workflow`; the execution's id."""
    if command.action in ("STOP", *STEP_ACTIONS) and command.execution_id is None:
        raise errors.field_error("execution_id", "required",
                                 "execution_id is required for NEXT, STOP and CONTINUE.")
    existing = _existing_execution(who, command)
    if command.parts and command.execution_id is not None:
        raise errors.field_error("files", "invalid", "Files can only be sent when a new execution is created.")
    if command.action == "STOP":
        request_stop(_check_stoppable(existing, workflow), settings.data_dir)
    elif command.action in STEP_ACTIONS:
        _resume_steps(existing, workflow, command.action)
    elif existing is not None:
        _start_existing(existing, workflow, command)
    else:
        existing = _create(who, workflow, command, settings)
    return existing.id


def start_queued(who: Requester, workflow_id: uuid.UUID, settings: Settings, *, execution_id: uuid.UUID) -> None:
    """A new queued execution of the workflow with the given id, as `execute` with `timeout: 0` creates
    one (the scheduler's start: a second start with the same id fails on the primary key)."""
    workflow = get_visible_workflow(who, workflow_id)
    _create(who, workflow, ExecuteCommand(workflow_id=workflow_id, timeout=0, new_execution_id=execution_id),
            settings)


def _existing_execution(who: Requester, command: ExecuteCommand) -> Execution | None:
    if command.execution_id is None:
        return None
    execution = db.session.scalar(select(Execution).where(
        Execution.id == command.execution_id, Execution.organization_id == who.org.id))
    if execution is None:
        raise errors.NotFound()
    return execution


def _invalid_execution() -> errors.ValidationFailed:
    return errors.field_error("execution_id", "invalid_execution_id", "Invalid execution_id")


def _check_stoppable(execution: Execution, workflow: Workflow) -> Execution:
    if execution.workflow_id != workflow.id or execution.status in TERMINAL:
        raise _invalid_execution()
    return execution


def check_startable(workflow: Workflow) -> ExecutionPlan:
    """Active workflow with runnable endpoints; returns the validated plan (the start checks of execute)."""
    if not workflow.is_active:
        raise errors.ValidationFailed("Workflow is inactive.", code="workflow_inactive")
    try:
        return validate_plan(build_plan(workflow))
    except PlanError as exc:
        raise errors.ValidationFailed(str(exc), code="endpoint_not_configured") from None


def check_throttle(who: Requester, settings: Settings) -> None:
    if _pending_count(who.org.id) >= settings.max_pending_executions:
        raise errors.Throttled()


def _pending_count(organization_id: uuid.UUID) -> int:
    return db.session.scalar(select(func.count()).select_from(Execution).where(
        Execution.organization_id == organization_id, Execution.status == Status.PENDING))


def _create(who: Requester, workflow: Workflow, command: ExecuteCommand, settings: Settings) -> Execution:
    plan = check_startable(workflow)
    check_throttle(who, settings)
    source_type = plan.source.connection_type
    uploads = _check_uploads(command, source_type, plan, settings)
    execution = _new_execution(who, workflow, plan, command)
    execution_id = execution.id
    upload_dir = state.run_dirs(settings.data_dir, execution_id)[0]
    try:
        if uploads is not None:
            kept, dropped = stage_parts(command.parts, uploads, upload_dir)
            execution.run_plan = ExecutionPlan(uploads=tuple(kept), duplicates=tuple(dropped))
        db.session.add(execution)
        if command.origin is not None:
            db.session.flush()  # the execution row first: the run row refers to it
            db.session.add(_run_of(execution_id, command.origin))
        db.session.commit()
        queueing.enqueue(queueing.LISTING_JOB, execution.id, queueing.listing_job_id(execution.id))
    except errors.DomainError:
        discard(execution_id, settings.data_dir)
        raise
    return execution


def _new_execution(who: Requester, workflow: Workflow, plan: ExecutionPlan, command: ExecuteCommand) -> Execution:
    return Execution(
        id=command.new_execution_id or uuid.uuid4(),
        workflow_id=workflow.id, organization_id=who.org.id, created_by=who.user_id,
        execution_mode="INSTANT" if command.timeout > 0 else "QUEUE",
        execution_type=ExecutionType.STEP if command.action == "START" else ExecutionType.COMPLETE,
        use_file_history=_use_history(command, plan.source.connection_type), timeout=command.timeout,
        total_steps=len(plan.tools), plan=None,
    )


@dataclass(frozen=True)
class QueuedStart:
    """One execution `start_queued` would create: the workflow, run as `who`, under the given id."""

    who: Requester
    workflow_id: uuid.UUID
    execution_id: uuid.UUID


def add_queued(starts: Sequence[QueuedStart], settings: Settings) -> dict[uuid.UUID, str]:
    """Many `start_queued` calls in one go (a scheduler's batch): each execution is checked as
    `start_queued` checks it (visible workflow, startable plan, no uploads needed, the organization's
    pending limit) and added to the session; nothing is committed or queued here. The checks run once per
    requester and workflow, the pending count once per organization. Returns the refusal of each start that
    cannot be made, by execution id; the caller commits, then calls `enqueue_listings`."""
    checked: dict[tuple, tuple[Workflow, ExecutionPlan] | str] = {}
    room: dict[uuid.UUID, int] = {}
    refused = {}
    for start in starts:
        key = (start.who.user_id, start.who.org.id, start.who.is_admin, start.workflow_id)
        if key not in checked:
            checked[key] = _queued_startable(start.who, start.workflow_id, settings)
        if isinstance(checked[key], str):
            refused[start.execution_id] = checked[key]
            continue
        org_id = start.who.org.id
        if org_id not in room:
            room[org_id] = settings.max_pending_executions - _pending_count(org_id)
        if room[org_id] <= 0:
            refused[start.execution_id] = str(errors.Throttled())
            continue
        room[org_id] -= 1
        workflow, plan = checked[key]
        command = ExecuteCommand(workflow_id=workflow.id, timeout=0, new_execution_id=start.execution_id)
        db.session.add(_new_execution(start.who, workflow, plan, command))
    return refused


def _queued_startable(who: Requester, workflow_id: uuid.UUID,
                      settings: Settings) -> tuple[Workflow, ExecutionPlan] | str:
    """The workflow and its plan when `who` may start it queued with no uploads, else why not."""
    try:
        workflow = get_visible_workflow(who, workflow_id)
        plan = check_startable(workflow)
        _check_uploads(ExecuteCommand(workflow_id=workflow_id, timeout=0), plan.source.connection_type, plan,
                       settings)
    except errors.DomainError as exc:
        return str(exc)
    return workflow, plan


def enqueue_listings(execution_ids: Sequence[uuid.UUID]) -> None:
    """The listing jobs of committed queued executions, a pipeline round trip per chunk."""
    queueing.enqueue_many(queueing.LISTING_JOB, ((queueing.listing_job_id(execution_id), (str(execution_id),))
                                                 for execution_id in execution_ids))


def _run_of(execution_id: uuid.UUID, origin: RunOrigin) -> DeploymentRun:
    return DeploymentRun(execution_id=execution_id, deployment_id=origin.deployment_id, key_id=origin.key_id,
                         tags=list(origin.tags), custom_data=origin.custom_data)


def _check_uploads(command: ExecuteCommand, source_type: str, plan: ExecutionPlan,
                   settings: Settings) -> list | None:
    if source_type != "API":
        if command.parts:
            raise errors.field_error("files", "uploads_not_allowed",
                                     "File uploads are allowed only when the workflow source is API.")
        return None
    if not command.parts:
        raise errors.field_error("files", "required", "At least one file is required when the source is API.")
    groups = plan.source.settings.get("fileExtensions") or []
    return check_parts(command.parts, settings.max_upload_files, groups)


def discard(execution_id: uuid.UUID, data_dir: Path) -> None:
    """Remove a half-created execution and its staged files (nothing remains on 4xx/5xx)."""
    db.session.rollback()
    db.session.execute(delete(Execution).where(Execution.id == execution_id)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    state.remove_run_files(data_dir, execution_id)


def _use_history(command: ExecuteCommand, source_type: str) -> bool:
    if command.use_file_history is not None:
        return command.use_file_history
    return source_type == "FILESYSTEM"


def _start_existing(execution: Execution, workflow: Workflow, command: ExecuteCommand) -> None:
    """Second row of the execute table: an unclaimed PENDING execution of this workflow is (re)started."""
    if execution.workflow_id != workflow.id or execution.status != Status.PENDING \
            or execution.phase != Phase.QUEUED:
        raise _invalid_execution()
    check_startable(workflow)
    values = {"execution_type": ExecutionType.STEP if command.action == "START" else ExecutionType.COMPLETE}
    if command.use_file_history is not None:
        values["use_file_history"] = command.use_file_history
    if not state.transition_execution(execution.id, Status.PENDING, when=(Status.PENDING,), **values):
        raise _invalid_execution()
    db.session.commit()
    job_id = queueing.listing_job_id(execution.id)
    if not queueing.job_is_live(job_id):
        queueing.enqueue(queueing.LISTING_JOB, execution.id, job_id)


def _resume_steps(execution: Execution, workflow: Workflow, action: str) -> None:
    """NEXT/CONTINUE: one conditional update decides between two concurrent calls (EXECUTION.md, Step mode)."""
    if execution.workflow_id != workflow.id or execution.execution_type != ExecutionType.STEP \
            or execution.status in TERMINAL:
        raise _invalid_execution()
    plan = replace(execution.run_plan, run_to_end=action == "CONTINUE").to_json()
    accepted = db.session.execute(
        update(Execution).where(Execution.id == execution.id, Execution.status == Status.EXECUTING,
                                Execution.awaiting_action.is_(True), Execution.stop_requested.is_(False))
        .values(awaiting_action=False, phase=Phase.RUNNING_STEP, plan=plan, lease_attempts=0,
                modified_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    if not accepted:
        raise errors.Conflict("The execution is running a step; retry when it awaits an action.",
                              code="execution_busy")
    queueing.enqueue(queueing.STEPS_JOB, execution.id, queueing.steps_job_id(execution.id))


def request_stop(execution: Execution, data_dir: Path) -> None:
    """Stop (docs/EXECUTION.md, Stop): flag it, then stop what no job holds; jobs stop their own files later."""
    execution_id = execution.id
    db.session.execute(update(Execution).where(Execution.id == execution_id, Execution.status.in_(
        (Status.PENDING, Status.EXECUTING))).values(stop_requested=True, modified_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    if execution.status == Status.PENDING and state.stop_unclaimed(execution_id, data_dir):
        return
    if execution.awaiting_action:
        state.end_open_files(execution_id, Status.STOPPED)
        state.finalize(execution_id, data_dir)
        return
    state.end_open_files(execution_id, Status.STOPPED, only=(Status.PENDING,))
    db.session.commit()
    if execution.phase == Phase.PROCESSING and not state.has_open_files(execution_id):
        state.finalize(execution_id, data_dir)


def wait_for(execution_id: uuid.UUID, command: ExecuteCommand, poll_seconds: float) -> ExecuteResult:
    """Until terminal, paused (START/NEXT) or the timeout (EXECUTION.md, Sync and async): woken when the
    execution settles (services/wakeups.py), re-reading the row at least every `poll_seconds`."""
    deadline = command.received_at + command.timeout
    if time.monotonic() >= deadline:
        return _result(_read(execution_id))
    with wakeups.waiter(execution_id) as woken:  # before the first read: no settlement slips in between
        while True:
            woken.clear()
            execution = _read(execution_id)
            remaining = deadline - time.monotonic()
            if _wait_is_over(execution, command) or remaining <= 0:
                return _result(execution)
            db.session.rollback()  # hand the connection back: waiting requests must not drain the pool
            woken.wait(min(poll_seconds, remaining))


def _read(execution_id: uuid.UUID) -> Execution:
    db.session.rollback()  # a fresh snapshot
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    if execution is None:
        raise errors.NotFound()
    return execution


def _wait_is_over(execution: Execution, command: ExecuteCommand) -> bool:
    return execution.status in TERMINAL or (command.action in ("START", "NEXT") and execution.awaiting_action)


def _result(execution: Execution) -> ExecuteResult:
    return ExecuteResult(execution.status in TERMINAL, execute_response(execution))


def execute_response(execution: Execution) -> dict:
    """The exact response keys of POST workflow/execute/."""
    terminal = execution.status in TERMINAL
    destination = execution.run_plan.destination_type
    result = None
    if terminal and destination == "API":
        files = db.session.scalars(select(FileExecution).where(FileExecution.execution_id == execution.id)
                                   .order_by(FileExecution.file_number).options(undefer(FileExecution.result)))
        result = [present_file_result(fe, execution) for fe in files]
    return {
        "workflow_id": str(execution.workflow_id),
        "execution_id": str(execution.id),
        "execution_status": execution.status,
        "log_id": str(execution.id),
        "error": execution.error_message if execution.status == Status.ERROR else None,
        "result": result,
    }


def present_file_result(fe: FileExecution, execution: Execution) -> dict:
    """One item of the execute response's `result` list."""
    tools = execution.run_plan.tool_ids
    return {
        "file_name": fe.file_name,
        "file_execution_id": str(fe.id),
        "status": fe.status,
        "result": fe.result,
        "error": fe.execution_error,
        "metadata": {
            "source_name": fe.file_name,
            "source_hash": fe.file_hash,
            "file_size": fe.file_size,
            "mime_type": fe.mime_type,
            "total_elapsed_time": fe.execution_time,
            "tools": tools,
        },
    }
