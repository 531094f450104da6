"""Numbers for the overview page: executions and files per day, failure rates, slowest workflows.

Every query is limited to the requester's org and the workflows the requester may see, groups in
the database (one GROUP BY per figure) and buckets days in UTC on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select

from unstract.extensions import db
from unstract.models import NON_TERMINAL, STATUS_VALUES, Execution, FileExecution, Status, Workflow
from unstract.models.base import utcnow
from unstract.policy import Requester, visible_workflows
from unstract.services.run_status import COMPLETED_WITH_ERRORS, display_key

WINDOW_DAYS = 30
SLOWEST_LIMIT = 5
FILE_OUTCOMES = (Status.COMPLETED.value, Status.ERROR.value)
# Executions are counted by the outcome the pages show: a COMPLETED run with failed files is not a clean one.
EXECUTION_OUTCOMES = (*STATUS_VALUES, COMPLETED_WITH_ERRORS)
TERMINAL_ORDER = (Status.COMPLETED.value, COMPLETED_WITH_ERRORS, Status.ERROR.value, Status.STOPPED.value)
# Finished runs that did not process every file: the failure rate's numerator.
FAILED_OUTCOMES = (Status.ERROR.value, COMPLETED_WITH_ERRORS)


def window(today: date | None = None, days: int = WINDOW_DAYS) -> list[date]:
    """The last `days` UTC dates, oldest first, ending today."""
    today = today or utcnow().date()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def day_bucket(column: Any) -> ColumnElement:
    """The UTC calendar day of a timestamp column: date() on SQLite, date_trunc on PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Literal (not bound) arguments keep SELECT and GROUP BY the very same expression.
        utc = func.timezone(literal_column("'UTC'"), column)
        return func.date_trunc(literal_column("'day'"), utc)
    return func.date(column)


def as_date(value: Any) -> date:
    """A bucket value as a date (SQLite gives 'YYYY-MM-DD', PostgreSQL a timestamp)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _visible_ids(who: Requester):
    return visible_workflows(who).with_only_columns(Workflow.id).scalar_subquery()


def _scoped(query, who: Requester):
    return query.where(Execution.organization_id == who.org.id, Execution.workflow_id.in_(_visible_ids(who)))


def executions_per_day(who: Requester, since: datetime) -> dict[date, dict[str, int]]:
    """Executions created per UTC day since `since`, counted by displayed outcome (services.run_status)."""
    day = day_bucket(Execution.created_at)
    had_failures = Execution.failed_files > literal_column("0")  # literal: the same expression in GROUP BY
    query = (select(day, Execution.status, had_failures, func.count()).where(Execution.created_at >= since)
             .group_by(day, Execution.status, had_failures))
    counts: dict[date, dict[str, int]] = {}
    for bucket, status, failed, count in db.session.execute(_scoped(query, who)):
        outcomes = counts.setdefault(as_date(bucket), {})
        key = display_key(status, 1 if failed else 0)
        outcomes[key] = outcomes.get(key, 0) + count
    return counts


def files_per_day(who: Requester, since: datetime) -> dict[date, dict[str, int]]:
    """Files that finished (COMPLETED or ERROR) per UTC day since `since`."""
    day = day_bucket(FileExecution.modified_at)
    query = (select(day, FileExecution.status, func.count()).join(Execution, FileExecution.execution_id == Execution.id)
             .where(FileExecution.modified_at >= since, FileExecution.status.in_(FILE_OUTCOMES))
             .group_by(day, FileExecution.status))
    counts: dict[date, dict[str, int]] = {}
    for bucket, status, count in db.session.execute(_scoped(query, who)):
        counts.setdefault(as_date(bucket), {})[status] = count
    return counts


def slowest_workflows(who: Requester, since: datetime, limit: int = SLOWEST_LIMIT) -> list[dict]:
    """Workflows by average duration of their COMPLETED runs since `since`, slowest first."""
    average = func.avg(Execution.execution_time)
    query = (select(Workflow.id, Workflow.workflow_name, average, func.max(Execution.execution_time), func.count())
             .join(Workflow, Workflow.id == Execution.workflow_id)
             .where(Execution.created_at >= since, Execution.status == Status.COMPLETED)
             .group_by(Workflow.id, Workflow.workflow_name)
             .order_by(average.desc(), Workflow.workflow_name).limit(limit))
    return [{"workflow_id": row[0], "name": row[1], "avg_seconds": float(row[2] or 0),
             "max_seconds": float(row[3] or 0), "runs": row[4]} for row in db.session.execute(_scoped(query, who))]


def running_now(who: Requester) -> int:
    """Executions not yet terminal (PENDING or EXECUTING), whenever they started."""
    query = select(func.count()).select_from(Execution).where(Execution.status.in_(tuple(NON_TERMINAL)))
    return db.session.scalar(_scoped(query, who)) or 0


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summary(who: Requester, today: date | None = None) -> dict:
    """Everything the overview page shows, for the last WINDOW_DAYS UTC days including today."""
    days = window(today)
    since = datetime.combine(days[0], time.min, tzinfo=UTC)
    executions, files = executions_per_day(who, since), files_per_day(who, since)
    exec_rows = [{"day": day, "counts": {s: executions.get(day, {}).get(s, 0) for s in EXECUTION_OUTCOMES}}
                 for day in days]
    file_rows = [{"day": day, "counts": {s: files.get(day, {}).get(s, 0) for s in FILE_OUTCOMES}} for day in days]
    for row in exec_rows:
        terminal = sum(row["counts"][s] for s in TERMINAL_ORDER)
        failed = sum(row["counts"][s] for s in FAILED_OUTCOMES)
        row["total"], row["failure_rate"] = sum(row["counts"].values()), _rate(failed, terminal)
    for row in file_rows:
        row["total"] = sum(row["counts"].values())
    totals = _totals(exec_rows, file_rows)
    totals["running"] = running_now(who)
    return {"days": days, "executions": exec_rows, "files": file_rows, "totals": totals,
            "slowest": slowest_workflows(who, since)}


def _totals(exec_rows: list[dict], file_rows: list[dict]) -> dict:
    by_status = {s: sum(row["counts"][s] for row in exec_rows) for s in EXECUTION_OUTCOMES}
    terminal = sum(by_status[s] for s in TERMINAL_ORDER)
    failed = sum(by_status[s] for s in FAILED_OUTCOMES)
    files_ok = sum(row["counts"]["COMPLETED"] for row in file_rows)
    files_failed = sum(row["counts"]["ERROR"] for row in file_rows)
    return {"executions": sum(by_status.values()), "by_status": by_status, "terminal": terminal,
            "failed": failed, "failure_rate": _rate(failed, terminal), "files": files_ok + files_failed,
            "files_failed": files_failed, "file_failure_rate": _rate(files_failed, files_ok + files_failed)}
