"""Read helpers the executions and file-history pages need beyond the API's list shapes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Select, and_, case, func, or_, select

from unstract.extensions import db
from unstract.models import Execution, ExecutionLog, FileExecution, Status, Workflow
from unstract.models.base import utcnow
from unstract.pager import Page, clamp
from unstract.paging import count_rows, page_rows
from unstract.services.execution_queries import LogFilter, file_executions_query, logs_query, tailable
from unstract.sizes import LIST_RESULT_BYTES


def page_of(query: Select, number: int, size: int, present: Callable | None = None) -> Page:
    """Rows of page `number` (1-based) of an ordered query; a page past the end shows the last one.
    The pager needs the total, so the count always runs; the rows are read keys first (unstract.paging)."""
    count = count_rows(query)
    number = clamp(number, count, size)
    rows = page_rows(query, (number - 1) * size, size)
    return Page([present(row) for row in rows] if present else rows, count, number, size)


# --- Executions --------------------------------------------------------------------------------

def fresh_execution(execution_id: uuid.UUID) -> Execution | None:
    """The execution as committed right now (live views poll it)."""
    db.session.rollback()
    return db.session.get(Execution, execution_id, populate_existing=True)


def elapsed_seconds(execution: Execution) -> float:
    """execution_time once terminal, else the time since creation."""
    if execution.is_terminal:
        return execution.execution_time or 0.0
    return max(0.0, (utcnow() - execution.created_at).total_seconds())


def file_status_counts(execution: Execution) -> dict[str, int]:
    """Number of file executions per status."""
    query = (select(FileExecution.status, func.count()).where(FileExecution.execution_id == execution.id)
             .group_by(FileExecution.status))
    return {status: count for status, count in db.session.execute(query)}


def retries_of(execution_id: uuid.UUID) -> list[Execution]:
    """The executions that retried this one's failed files, oldest first (few: one per retry click)."""
    return list(db.session.scalars(select(Execution).where(Execution.retry_of == execution_id)
                                   .order_by(Execution.created_at).limit(20)))


def file_choices(execution: Execution) -> list[tuple[uuid.UUID, str]]:
    """(id, file name) of every file execution in file_number order, for the log filter."""
    query = (select(FileExecution.id, FileExecution.file_name)
             .where(FileExecution.execution_id == execution.id).order_by(FileExecution.file_number))
    return [(row.id, row.file_name) for row in db.session.execute(query)]


@dataclass(frozen=True)
class FileFilter:
    """What the execution page's file list shows: some statuses, names containing a text, failed first."""

    statuses: tuple[str, ...] = ()
    name: str = ""
    failed_first: bool = False


# Failed files, then stopped ones, then the rest; each group in file order.
FAILED_FIRST = case((FileExecution.status == Status.ERROR, 0), (FileExecution.status == Status.STOPPED, 1), else_=2)


def file_list_query(execution: Execution, flt: FileFilter) -> Select:
    """The execution's file executions matching `flt`, ordered by file number (failed ones first on request).
    The name matches the file name or path anywhere, case-insensitively and literally (no wildcards)."""
    query = file_executions_query(execution, flt.statuses)
    if flt.name:
        query = query.where(or_(FileExecution.file_name.icontains(flt.name, autoescape=True),
                                FileExecution.file_path.icontains(flt.name, autoescape=True)))
    ordering = (FAILED_FIRST, FileExecution.file_number) if flt.failed_first else (FileExecution.file_number,)
    return query.order_by(*ordering)


def small_results(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """The results of these file executions that a list shows (up to LIST_RESULT_BYTES), in one query;
    larger ones stay in the database (the API's one-row reads return them)."""
    query = select(FileExecution.id, FileExecution.result).where(
        FileExecution.id.in_(ids), FileExecution.result_size > 0, FileExecution.result_size <= LIST_RESULT_BYTES)
    return {row.id: row.result for row in db.session.execute(query)} if ids else {}


def pretty_json(value) -> str:
    """Indented JSON text of a result, for display (escaped by the template)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


# --- Logs ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogWindow:
    """Log rows to show, the cursor to poll from next, and whether more rows already wait."""

    rows: list[ExecutionLog]
    cursor: int
    more: bool


def log_tail(execution: Execution, flt: LogFilter, limit: int) -> LogWindow:
    """The last `limit` matching rows in reading order; the cursor is the largest matching id."""
    flt = tailable(execution, flt)
    top = db.session.scalar(logs_query(execution, flt).order_by(None).with_only_columns(func.max(ExecutionLog.id)))
    if top is None:
        return LogWindow([], flt.after or 0, False)
    query = logs_query(execution, flt).where(ExecutionLog.id <= top).order_by(None)
    newest = query.order_by(ExecutionLog.event_time.desc(), ExecutionLog.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(newest))
    return LogWindow(list(reversed(rows[:limit])), top, len(rows) > limit)


def log_after(execution: Execution, flt: LogFilter, limit: int) -> LogWindow:
    """Up to `limit` rows with an id above `flt.after`, in reading order (the API's `after` cursor of logs/).

    The batch is bounded by id first, so a truncated batch never skips a row the next poll needs.
    """
    flt = tailable(execution, flt)
    ids = logs_query(execution, flt).order_by(None).with_only_columns(ExecutionLog.id)
    batch = list(db.session.scalars(ids.order_by(ExecutionLog.id).limit(limit + 1)))
    if not batch:
        return LogWindow([], flt.after or 0, False)
    top = batch[:limit][-1]
    rows = list(db.session.scalars(logs_query(execution, flt).where(ExecutionLog.id <= top)))
    return LogWindow(rows, top, len(batch) > limit)


def log_before(execution: Execution, flt: LogFilter, before: int, limit: int) -> LogWindow:
    """Up to `limit` matching rows that come before row `before` in reading order, in reading order (a page
    of earlier lines); the cursor is the oldest row's id and `more` says whether older rows remain."""
    first = db.session.get(ExecutionLog, before)
    if first is None or first.execution_id != execution.id:
        return LogWindow([], before, False)
    earlier = or_(ExecutionLog.event_time < first.event_time,
                  and_(ExecutionLog.event_time == first.event_time, ExecutionLog.id < first.id))
    query = logs_query(execution, replace(flt, after=None)).where(earlier).order_by(None)
    rows = list(db.session.scalars(
        query.order_by(ExecutionLog.event_time.desc(), ExecutionLog.id.desc()).limit(limit + 1)))
    shown = list(reversed(rows[:limit]))
    return LogWindow(shown, shown[0].id if shown else before, len(rows) > limit)


def file_names(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """File names of some file executions, to label log rows."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    query = select(FileExecution.id, FileExecution.file_name).where(FileExecution.id.in_(wanted))
    return {row.id: row.file_name for row in db.session.execute(query)}


# --- File history ------------------------------------------------------------------------------

def workflow_name_matches(workflow: Workflow, typed: str) -> bool:
    """The confirmation of "clear all markers": the exact workflow name, outer spaces ignored."""
    return typed.strip() == workflow.workflow_name
