"""Reading executions, file executions and logs; the engine writes them."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Select, bindparam, or_, select

from unstract import errors
from unstract.extensions import db
from unstract.models import LEVEL_ORDER, Execution, ExecutionLog, FileExecution, Workflow
from unstract.policy import Requester, prebuilt_visibility, visibility_parameters, visible_workflows
from unstract.schemas.representations import (
    ExecutionLogSchema,
    ExecutionSchema,
    FileExecutionSchema,
    bounded_result_columns,
    read_attributes,
    result_truncated,
    row_values,
)
from unstract.services.run_status import outcome_condition
from unstract.services.runlog import visible_log_bound
from unstract.services.usage import USAGE_COLUMNS, present_usage

BIGINT_MAX = 2**63 - 1  # larger cursors and bounds are clamped: no row can exceed them

# Ordering fields each list accepts, mapped to columns (the view applies them, docs/API.md, Ordering and filters).
EXECUTION_ORDERING = {"created_at": Execution.created_at, "execution_time": Execution.execution_time}
FILE_EXECUTION_ORDERING = {
    "file_number": FileExecution.file_number,
    "file_name": FileExecution.file_name,
    "execution_time": FileExecution.execution_time,
}


@dataclass(frozen=True)
class LogFilter:
    """Conditions of GET …/logs/: one file's rows or execution-level rows, minimum level, cursor."""

    file_execution_id: uuid.UUID | None = None
    execution_level_only: bool = False
    min_level: str | None = None
    after: int | None = None
    through: int | None = None  # only rows up to this id (runlog.visible_log_bound: all of them visible)


# --- Lookups -----------------------------------------------------------------------------------

def get_visible_execution(who: Requester, execution_id: uuid.UUID) -> tuple[Execution, Workflow]:
    """The execution and its workflow; 404 when unknown, of another org, or its workflow is invisible."""
    row = db.session.execute(_visible_execution_statement(who.is_admin),
                             {**visibility_parameters(who), "execution_id": execution_id}).first()
    if row is None:
        raise errors.NotFound()
    return row.Execution, row.Workflow


@functools.cache
def _visible_execution_statement(admin: bool) -> Select:
    """get_visible_execution's query, built once per kind of requester (building costs more than running)."""
    return (select(Execution, Workflow).join(Workflow, Workflow.id == Execution.workflow_id)
            .where(Execution.id == bindparam("execution_id"),
                   Execution.organization_id == bindparam("visible_org_id"), *prebuilt_visibility(admin)))


# --- Queries (unordered where the caller orders them) ------------------------------------------

def executions_query(workflow: Workflow, statuses: Sequence[str] = ()) -> Select:
    """Executions of one workflow, optionally limited to some statuses."""
    query = select(Execution).where(Execution.workflow_id == workflow.id)
    if statuses:
        query = query.where(Execution.status.in_(statuses))
    return query


@dataclass(frozen=True)
class RunFilter:
    """The runs page's conditions: one workflow, displayed outcomes (run_status.OUTCOMES), a created_at range."""

    workflow_id: uuid.UUID | None = None
    outcomes: Sequence[str] = ()
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


def runs_query(who: Requester, flt: RunFilter) -> Select:
    """Executions of every workflow the requester may see (unordered)."""
    visible = visible_workflows(who).with_only_columns(Workflow.id).scalar_subquery()
    query = select(Execution).where(Execution.organization_id == who.org.id, Execution.workflow_id.in_(visible))
    if flt.workflow_id is not None:
        query = query.where(Execution.workflow_id == flt.workflow_id)
    if flt.outcomes:
        query = query.where(or_(*(outcome_condition(key) for key in flt.outcomes)))
    if flt.created_from is not None:
        query = query.where(Execution.created_at >= flt.created_from)
    if flt.created_before is not None:
        query = query.where(Execution.created_at < flt.created_before)
    return query


def file_executions_query(execution: Execution, statuses: Sequence[str] = ()) -> Select:
    """File executions of one execution, optionally limited to some statuses."""
    query = select(FileExecution).where(FileExecution.execution_id == execution.id)
    if statuses:
        query = query.where(FileExecution.status.in_(statuses))
    return query


def logs_query(execution: Execution, flt: LogFilter) -> Select:
    """Log rows of one execution in reading order (event_time, then id), execution_id filtered first."""
    query = select(ExecutionLog).where(ExecutionLog.execution_id == execution.id)
    if flt.execution_level_only:
        query = query.where(ExecutionLog.file_execution_id.is_(None))
    elif flt.file_execution_id is not None:
        query = query.where(ExecutionLog.file_execution_id == flt.file_execution_id)
    if flt.min_level is not None:
        query = query.where(ExecutionLog.level_rank >= LEVEL_ORDER[flt.min_level])
    if flt.after is not None:
        # A tail reads the rows after the cursor through (execution_id, id), O(new rows), and sorts them;
        # paging it by keys first would let SQLite walk the whole execution in time order instead.
        query = query.where(ExecutionLog.id > min(flt.after, BIGINT_MAX)).execution_options(page_keys_first=False)
    if flt.through is not None:
        query = query.where(ExecutionLog.id <= flt.through)
    return query.order_by(ExecutionLog.event_time.asc(), ExecutionLog.id.asc())


def tailable(execution: Execution, flt: LogFilter) -> LogFilter:
    """The filter limited to rows no later commit can precede: the largest id a reader gets is a cursor
    it can trust (gap-free `after`; unstract.services.runlog). Call it right before reading the rows."""
    return replace(flt, through=visible_log_bound(execution.id))


# --- Presenters (model or plain row -> the values its schema dumps; unstract.schemas.representations) --

# The attributes each representation reads: what a list page selects (paging.page_rows).
EXECUTION_COLUMNS = (*read_attributes(ExecutionSchema, Execution), *USAGE_COLUMNS)
FILE_EXECUTION_COLUMNS = (*read_attributes(FileExecutionSchema, FileExecution), *USAGE_COLUMNS)
FILE_EXECUTION_LIST_COLUMNS = bounded_result_columns(FileExecution, FILE_EXECUTION_COLUMNS)
LOG_COLUMNS = read_attributes(ExecutionLogSchema, ExecutionLog)


def present_execution(execution: Execution, workflow_name: str) -> dict:
    """The Execution representation: its columns and what is computed from them."""
    return {**row_values(execution, EXECUTION_COLUMNS), "workflow_name": workflow_name, "pipeline_id": None,
            "execution_method": "DIRECT", "execution_log_id": str(execution.id),
            "execution_time": round(execution.execution_time or 0.0, 3), "usage": present_usage(execution)}


def present_file_execution(fe) -> dict:
    """The file execution item of GET workflow/execution/{id}/files/ (a plain row of FILE_EXECUTION_LIST_COLUMNS)."""
    return {**row_values(fe, FILE_EXECUTION_COLUMNS), "result_truncated": result_truncated(fe),
            "usage": present_usage(fe)}


def present_log(row: ExecutionLog) -> dict:
    """The log item of GET workflow/execution/{id}/logs/; `data` is returned exactly as stored."""
    return row_values(row, LOG_COLUMNS)
