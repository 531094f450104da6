"""Step mode: one job per NEXT/CONTINUE runs steps for every open file, in file order (docs/EXECUTION.md, Step mode)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from unstract.extensions import db
from unstract.models import NON_TERMINAL, Execution, FileExecution, Phase, Stage, Status
from unstract.models.base import utcnow
from unstract.services import execution_state as state
from unstract.worker import runner
from unstract.worker.context import JobContext
from unstract.worker.lease import execution_heartbeat
from unstract.worker.listing import pause

OUTPUT_LOG_LIMIT = 2000


def claim(execution_id: uuid.UUID, ctx: JobContext) -> Execution | None:
    """Hold the execution lease for this step job; lease_attempts counts restarts."""
    held = db.session.execute(
        update(Execution).where(Execution.id == execution_id, Execution.status == Status.EXECUTING,
                                Execution.phase == Phase.RUNNING_STEP)
        .values(lease_expires_at=utcnow() + timedelta(seconds=ctx.lease_seconds),
                lease_attempts=Execution.lease_attempts + 1, modified_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return db.session.get(Execution, execution_id, populate_existing=True) if held else None


def step_file(ctx: JobContext, execution_id: uuid.UUID, fe_id: uuid.UUID, step: int) -> Path:
    return ctx.data_dir / "executions" / str(execution_id) / str(fe_id) / f"step-{step}.json"


def run_steps(execution_id: uuid.UUID, ctx: JobContext) -> None:
    execution = claim(execution_id, ctx)
    if execution is None:
        return
    last = execution.total_steps if execution.run_plan.run_to_end else execution.next_step
    with execution_heartbeat(ctx.app, execution_id, Phase.RUNNING_STEP, ctx.lease_seconds):
        for fe in _open_files(execution_id):
            if runner.stop_requested(execution_id):
                break
            _advance(fe, execution, last, ctx)
    execution = db.session.get(Execution, execution_id, populate_existing=True)
    if execution.stop_requested:
        state.end_open_files(execution_id, Status.STOPPED)
        state.finalize(execution_id, ctx.data_dir)
    elif last < execution.total_steps:
        pause(execution, last + 1)
    else:
        _deliver(execution, ctx)


def _open_files(execution_id: uuid.UUID) -> list[FileExecution]:
    return list(db.session.scalars(select(FileExecution).where(
        FileExecution.execution_id == execution_id, FileExecution.status.in_(tuple(NON_TERMINAL)))
        .order_by(FileExecution.file_number)))


def _claim_without_lease(fe: FileExecution) -> None:
    """The first step job moves a file PENDING -> EXECUTING; it stays EXECUTING between steps."""
    now = utcnow()
    db.session.execute(
        update(FileExecution).where(FileExecution.id == fe.id, FileExecution.status == Status.PENDING)
        .values(status=Status.EXECUTING, attempts=FileExecution.attempts + 1, modified_at=now,
                claimed_at=func.coalesce(FileExecution.claimed_at, now))
        .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(fe)


def _advance(fe: FileExecution, execution: Execution, last: int, ctx: JobContext) -> None:
    """Run steps steps_done+1..last for one file, keeping each output on disk (resumable)."""
    _claim_without_lease(fe)
    log = state.run_log(execution)
    try:
        source = runner.read_source(fe, execution, ctx)
        first = fe.steps_done + 1
        for step in range(first, last + 1):
            if step > first and runner.stop_requested(execution.id):  # run_steps checked before the first
                raise runner.FileStopped()
            previous = _load(step_file(ctx, execution.id, fe.id, step - 1)) if step > 1 else None
            produced = runner.run_tools(fe, execution, source, [step], log, previous)
            output = produced.output
            _save(step_file(ctx, execution.id, fe.id, step), output)
            _keep_extracted_text(fe, produced.extracted_text)
            text = json.dumps(output, ensure_ascii=False)[:OUTPUT_LOG_LIMIT]
            tool_id = execution.run_plan.tool(step).tool_id
            log.info(Stage.TOOL, f"Step {step}/{execution.total_steps} ({tool_id}) output: {text}",
                     file_execution_id=fe.id, step=step)
            fe.steps_done = step
            log.commit()
    except runner.FileStopped:
        log.commit()
    except runner.FileFailed as exc:
        runner.record(fe, execution, None, runner.Outcome(Status.ERROR, error=str(exc)), log)


def _keep_extracted_text(fe: FileExecution, text: str | None) -> None:
    values = runner.keep_extracted_text(text)
    if values:
        db.session.execute(update(FileExecution).where(FileExecution.id == fe.id).values(**values)
                           .execution_options(synchronize_session=False))


def _save(path: Path, output: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(output, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _deliver(execution: Execution, ctx: JobContext) -> None:
    """After the last step: destinations and outcomes per file (EXECUTION.md, Processing one file, steps 6–8)."""
    for fe in _open_files(execution.id):
        log = state.run_log(execution)
        output = _load(step_file(ctx, execution.id, fe.id, execution.total_steps))
        outcome = runner.deliver(fe, execution, output, ctx, log)
        runner.record(fe, execution, None, outcome, log)
    execution.phase = Phase.PROCESSING
    db.session.commit()
    state.finalize(execution.id, ctx.data_dir)
