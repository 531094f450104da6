"""Schedule use cases: list, read, create, change and delete the cron schedules of a workflow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select

from unstract import errors
from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.models import Execution, Schedule, ScheduleRun, User, Workflow
from unstract.models.base import utcnow
from unstract.policy import Requester, get_visible_workflow, visible_workflows
from unstract.services import cron as crontab
from unstract.services.validation import raise_if_any

# Body fields in their documented order; error entries follow this order.
FIELDS = ("cron", "timezone", "is_active", "description", "allow_overlap")
UPCOMING = 5


# --- Reading -------------------------------------------------------------------------------------

def list_query(workflow: Workflow) -> Select:
    return select(Schedule).where(Schedule.workflow_id == workflow.id).order_by(Schedule.created_at, Schedule.id)


def org_schedules(organization_id: uuid.UUID) -> list[tuple[Schedule, str]]:
    """Every schedule of the organization with its workflow's name, by workflow name (the CLI's list)."""
    return list(db.session.execute(
        select(Schedule, Workflow.workflow_name).join(Workflow, Workflow.id == Schedule.workflow_id)
        .where(Schedule.organization_id == organization_id)
        .order_by(Workflow.workflow_name, Schedule.created_at, Schedule.id)).tuples())


def soonest(who: Requester, limit: int) -> list[tuple[Schedule, str]]:
    """The active schedules of the workflows `who` sees, soonest next run first, with the workflow's name
    (the overview's upcoming runs)."""
    visible = visible_workflows(who).with_only_columns(Workflow.id)
    return list(db.session.execute(
        select(Schedule, Workflow.workflow_name).join(Workflow, Workflow.id == Schedule.workflow_id)
        .where(Schedule.organization_id == who.org.id, Schedule.is_active.is_(True),
               Schedule.next_run_at.is_not(None), Schedule.workflow_id.in_(visible))
        .order_by(Schedule.next_run_at, Schedule.id).limit(limit)).tuples())


def runs_query(schedule: Schedule) -> Select:
    """The schedule's fired due times, newest first."""
    return (select(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id)
            .order_by(ScheduleRun.due_at.desc(), ScheduleRun.id))


def get_schedule(who: Requester, schedule_id: uuid.UUID, *, owner: bool = False) -> Schedule:
    """A schedule whose workflow is visible (404 otherwise); 403 when `owner` is needed and missing."""
    schedule = db.session.get(Schedule, schedule_id)
    if schedule is None:
        raise errors.NotFound()
    get_visible_workflow(who, schedule.workflow_id, owner=owner)
    return schedule


def last_run_status(schedule: Schedule) -> str | None:
    """The status of the last run's execution as it is now; SKIPPED or FAILED when none was started."""
    if schedule.last_execution_id is not None:
        status = db.session.scalar(select(Execution.status).where(Execution.id == schedule.last_execution_id))
        if status is not None:
            return status
    return schedule.last_run_status


def present(schedule: Schedule) -> dict:
    """The schedule representation."""
    creator = db.session.get(User, schedule.created_by) if schedule.created_by else None
    return {
        "id": schedule.id, "workflow": schedule.workflow_id, "cron": schedule.cron,
        "timezone": schedule.timezone, "is_active": schedule.is_active, "description": schedule.description,
        "allow_overlap": schedule.allow_overlap,
        "cron_description": crontab.describe(schedule.cron, schedule.timezone),
        "next_run_at": schedule.next_run_at, "last_run_at": schedule.last_run_at,
        "last_run_status": last_run_status(schedule), "last_execution_id": schedule.last_execution_id,
        "created_by": schedule.created_by, "created_by_email": creator.email if creator else None,
        "created_at": schedule.created_at, "modified_at": schedule.modified_at,
    }


def present_run(run: ScheduleRun) -> dict:
    return {"id": run.id, "due_at": run.due_at, "claimed_at": run.claimed_at, "status": run.status,
            "reason": run.reason, "execution_id": run.execution_id}


def upcoming(schedule: Schedule, now: datetime | None = None) -> list[datetime]:
    """The next UPCOMING due times (none while paused)."""
    if not schedule.is_active:
        return []
    return crontab.next_runs(schedule.cron, schedule.timezone, now or utcnow(), UPCOMING)


# --- Writing -------------------------------------------------------------------------------------

def _problems(data: dict) -> list[FieldMessage]:
    messages = []
    if "cron" in data:
        problem = crontab.cron_problem(data["cron"])
        if problem:
            messages.append(FieldMessage("invalid", problem, "cron"))
    if "timezone" in data:
        problem = crontab.timezone_problem(data["timezone"])
        if problem:
            messages.append(FieldMessage("invalid", problem, "timezone"))
    return messages


def _plan_next_run(schedule: Schedule, now: datetime) -> None:
    """A paused schedule has no next run; an active one runs next at its first due time after now
    (resuming never fires the times missed while paused)."""
    schedule.next_run_at = crontab.next_run_after(schedule.cron, schedule.timezone, now) \
        if schedule.is_active else None


def create(who: Requester, workflow_id: uuid.UUID, data: dict, field_errors: Sequence[FieldMessage]) -> dict:
    """POST workflow/{id}/schedules/: the workflow first (404/403), then the body."""
    workflow = get_visible_workflow(who, workflow_id, owner=True)
    raise_if_any([*field_errors, *_problems(data)], FIELDS)
    schedule = Schedule(organization_id=workflow.organization_id, workflow_id=workflow.id,
                        cron=crontab.normalized(data["cron"]), timezone=data.get("timezone", "UTC"),
                        is_active=data.get("is_active", True), description=data.get("description", ""),
                        allow_overlap=data.get("allow_overlap", False), created_by=who.user_id)
    _plan_next_run(schedule, utcnow())
    db.session.add(schedule)
    db.session.commit()
    return present(schedule)


def update(schedule: Schedule, data: dict, field_errors: Sequence[FieldMessage]) -> dict:
    """PATCH workflow/schedules/{id}/: any subset; a new cron, time zone or resume plans the next run anew."""
    raise_if_any([*field_errors, *_problems(data)], FIELDS)
    timing = ("cron", "timezone", "is_active")
    replan = any(name in data and data[name] != getattr(schedule, name) for name in timing)
    if "cron" in data:
        data = {**data, "cron": crontab.normalized(data["cron"])}
    for name in FIELDS:
        if name in data:
            setattr(schedule, name, data[name])
    if replan:
        _plan_next_run(schedule, utcnow())
    db.session.commit()
    return present(schedule)


def set_active(schedule: Schedule, active: bool) -> dict:
    """Pause or resume (the dashboard's buttons and the CLI)."""
    return update(schedule, {"is_active": active}, [])


def delete_schedule(schedule: Schedule) -> None:
    """DELETE workflow/schedules/{id}/: its history goes with it; executions it started stay."""
    db.session.delete(schedule)
    db.session.commit()
