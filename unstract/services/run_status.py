"""How the dashboard names an execution's outcome: the one rule that tells a clean run from one with failures.

The API keeps its status values (COMPLETED covers a run whose files partly failed); people reading a page
must not mistake such a run for a success, so pages show it as "Completed with errors" with its counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_

from unstract.models import STATUS_VALUES, Execution, Status

# The display-only outcome of a COMPLETED execution with failed files; never stored, never in the API.
COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
# What a page may filter runs by: COMPLETED there means a clean run (every file succeeded).
OUTCOMES = (Status.PENDING.value, Status.EXECUTING.value, Status.COMPLETED.value, COMPLETED_WITH_ERRORS,
            Status.STOPPED.value, Status.ERROR.value)
assert set(OUTCOMES) >= set(STATUS_VALUES)


@dataclass(frozen=True)
class DisplayStatus:
    """What a badge shows: `key` picks its colour (status-<key>), `label` its words, `detail` the counts."""

    key: str
    label: str
    detail: str = ""


def display_key(status: str | None, failed_files: int | None) -> str | None:
    """The API status, except COMPLETED with at least one failed file, which is COMPLETED_WITH_ERRORS."""
    if status == Status.COMPLETED and (failed_files or 0) > 0:
        return COMPLETED_WITH_ERRORS
    return status


def outcome_label(key: str) -> str:
    """A display key in words for legends and tables: "Completed with errors", "Error", "Stopped"."""
    return "Completed with errors" if key == COMPLETED_WITH_ERRORS else key.capitalize()


def display_status(status: str | None, failed_files: int | None = 0, total_files: int | None = 0) -> DisplayStatus:
    """The badge of an execution, or of a bare status or outcome (a filter's choice) when counts are unknown."""
    key = display_key(status, failed_files)
    if key == COMPLETED_WITH_ERRORS:
        counts = f"{failed_files:,} of {max(total_files or 0, failed_files or 0):,} failed" if failed_files else ""
        return DisplayStatus(COMPLETED_WITH_ERRORS.lower(), outcome_label(key), counts)
    return DisplayStatus((status or "unknown").lower(), status or "—")


def of_execution(execution) -> DisplayStatus:
    """display_status of anything carrying status, failed_files and total_files (a model row or a query row)."""
    return display_status(execution.status, execution.failed_files, execution.total_files)


def outcome_condition(key: str) -> ColumnElement[bool]:
    """display_key as SQL: the executions whose displayed outcome is `key` (one of OUTCOMES)."""
    if key == COMPLETED_WITH_ERRORS:
        return and_(Execution.status == Status.COMPLETED, Execution.failed_files > 0)
    if key == Status.COMPLETED:
        return and_(Execution.status == Status.COMPLETED, Execution.failed_files == 0)
    return Execution.status == key
