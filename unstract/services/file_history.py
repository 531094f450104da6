"""Reading and clearing a workflow's file history (docs/EXECUTION.md, File history)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import undefer

from unstract import errors
from unstract.extensions import db
from unstract.models import FileHistory, Workflow
from unstract.policy import Requester, is_owner
from unstract.schemas.representations import (
    FileHistorySchema,
    bounded_result_columns,
    read_attributes,
    result_truncated,
    row_values,
)

BATCH_SIZE = 500
VACUUM_AFTER = 10_000  # rows deleted by one clear from which PostgreSQL's visibility map is refreshed
VACUUM_EVERY = 25_000  # ... and refreshed again during a clear, each time this many more rows are gone
INT_MAX = 2**31 - 1  # execution_count is a 32-bit column: larger bounds are clamped
NO_FILTER = ("At least one filter (ids, status, execution_count_min, execution_count_max, "
             "or file_path) must be provided.")
HISTORY_ORDERING = {
    "created_at": FileHistory.created_at,
    "modified_at": FileHistory.modified_at,
    "execution_count": FileHistory.execution_count,
    "file_path": FileHistory.file_path,
}


@dataclass(frozen=True)
class HistoryFilter:
    """Conditions on one workflow's history rows, combined with AND; `ids`, when set, replace the rest.

    `path_pattern` is a LIKE pattern matched against lower(file_path) with backslash as escape
    (the API builds it from the requested prefix), so rows with a null path never match.
    """

    ids: tuple[uuid.UUID, ...] = ()
    statuses: tuple[str, ...] = ()
    count_min: int | None = None
    count_max: int | None = None
    path_pattern: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.ids or self.statuses or self.path_pattern
                    or self.count_min is not None or self.count_max is not None)

    def conditions(self) -> list:
        """SQL conditions on FileHistory (the workflow condition is added by the caller)."""
        if self.ids:
            return [FileHistory.id.in_(self.ids)]
        conditions = []
        if self.statuses:
            conditions.append(FileHistory.status.in_(self.statuses))
        if self.count_min is not None:
            conditions.append(FileHistory.execution_count >= min(self.count_min, INT_MAX))
        if self.count_max is not None:
            conditions.append(FileHistory.execution_count <= min(self.count_max, INT_MAX))
        if self.path_pattern:
            conditions.extend(path_prefix_conditions(self.path_pattern))
        return conditions


def path_prefix_conditions(pattern: str) -> list:
    """lower(file_path) LIKE pattern, as the range of strings starting with its prefix, which an index on
    lower(file_path) can search (text_pattern_ops on PostgreSQL, whose ~>=~ ~<~ compare bytes like SQLite).
    Both sides are lower case, so the range is exactly the LIKE; the LIKE stays only where it is not."""
    path = func.lower(FileHistory.file_path)
    prefix = re.sub(r"\\(.)", r"\1", pattern.removesuffix("%"))
    postgres = db.engine.dialect.name == "postgresql"
    conditions = [path.op("~>=~", is_comparison=True)(prefix) if postgres else path >= prefix]
    upper = prefix_successor(prefix)
    if upper is None or len(upper) != len(prefix):
        conditions.append(path.like(pattern, escape="\\"))
    if upper is not None:
        conditions.append(path.op("~<~", is_comparison=True)(upper) if postgres else path < upper)
    return conditions


def prefix_successor(prefix: str) -> str | None:
    """The least string greater than every string starting with `prefix` (code point order), if any."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if last == 0xD800:
            last = 0xE000  # surrogates cannot be stored
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


# --- Reading -----------------------------------------------------------------------------------

def histories_query(workflow: Workflow, flt: HistoryFilter = HistoryFilter()) -> Select:
    """History rows of one workflow matching `flt` (unordered; the caller orders them).

    With a path prefix on PostgreSQL, pages are cut from the matches found through the path index
    (api.common.fenced_keys): file paths follow time (date folders), which the planner cannot know,
    so it would otherwise walk the date index through most of the workflow's rows for a late prefix."""
    query = select(FileHistory).where(FileHistory.workflow_id == workflow.id, *flt.conditions())
    if flt.path_pattern and not flt.ids and db.engine.dialect.name == "postgresql":
        query = query.execution_options(page_keys_fenced=True)
    return query


def get_history(workflow: Workflow, history_id: uuid.UUID) -> FileHistory:
    """One row of this workflow; 404 when unknown or belonging to another workflow."""
    row = db.session.scalar(
        select(FileHistory).where(FileHistory.id == history_id, FileHistory.workflow_id == workflow.id)
        .options(undefer(FileHistory.result))
    )
    if row is None:
        raise errors.NotFound()
    return row


# The attributes the representation reads; a list page selects them with a bounded result (paging.page_rows).
HISTORY_COLUMNS = read_attributes(FileHistorySchema, FileHistory)
HISTORY_LIST_COLUMNS = bounded_result_columns(FileHistory, HISTORY_COLUMNS)


def present_history(row: FileHistory, max_count: int, *, listed: bool = False) -> dict:
    """The FileHistory representation: its columns and the computed fields; a `listed` row (a plain row of
    HISTORY_LIST_COLUMNS) may have left its result out."""
    return {**row_values(row, HISTORY_COLUMNS), "result_truncated": listed and result_truncated(row),
            "max_execution_count": max_count, "has_exceeded_limit": row.execution_count >= max_count}


# --- Deleting ----------------------------------------------------------------------------------

def delete_history(who: Requester, workflow: Workflow, history_id: uuid.UUID) -> None:
    """Delete one row (404 when not this workflow's, then 403 for non-owners); it becomes eligible again."""
    row = get_history(workflow, history_id)
    if not is_owner(workflow, who):
        raise errors.PermissionDenied()
    db.session.delete(row)
    db.session.commit()


def clear_histories(workflow: Workflow, flt: HistoryFilter, *, dry_run: bool = False) -> int:
    """Delete (or with `dry_run` count) the matching rows, BATCH_SIZE rows per transaction."""
    if flt.is_empty:
        raise errors.ValidationFailed(NO_FILTER, code="no_filter")
    if dry_run:
        return db.session.scalar(select(func.count()).select_from(histories_query(workflow, flt).subquery()))
    workflow_id, conditions = workflow.id, flt.conditions()
    vacuums = db.engine.dialect.name == "postgresql"
    deleted = unvacuumed = 0
    while batch := _next_batch(workflow_id, conditions):
        removed = _delete_batch(batch)
        deleted, unvacuumed = deleted + removed, unvacuumed + removed
        if vacuums and unvacuumed >= VACUUM_EVERY:
            vacuum_histories()
            unvacuumed = 0
    if vacuums and unvacuumed and deleted >= VACUUM_AFTER:
        vacuum_histories()
    return deleted


def vacuum_histories() -> None:
    """VACUUM (ANALYZE) during and after a large clear on PostgreSQL: until the pages it touched are marked
    all-visible again, every count of the table reads them (docs/PERFORMANCE.md, item 10),
    so listings running meanwhile slow down with every batch; autovacuum waits for 20 % of a
    table to change, if it runs at all. It blocks neither reads nor writes."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE) file_history")


def _next_batch(workflow_id: uuid.UUID, conditions: list) -> list[uuid.UUID]:
    """Ids of up to BATCH_SIZE matching rows (the batch's transaction starts here)."""
    query = select(FileHistory.id).where(FileHistory.workflow_id == workflow_id, *conditions)
    return list(db.session.scalars(query.limit(BATCH_SIZE)))


def _delete_batch(ids: list[uuid.UUID]) -> int:
    """One transaction: delete the listed rows and commit."""
    result = db.session.execute(
        delete(FileHistory).where(FileHistory.id.in_(ids)).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def present_clear(count: int, *, dry_run: bool) -> dict:
    """The body of POST …/file-histories/clear/."""
    verb = "would be deleted" if dry_run else "deleted"
    return {"deleted_count": count, "message": f"{count} file history records {verb}"}
