"""The "Schedules" section of the workflow page, built from loaded rows (templates never query)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from unstract.errors import FieldMessage
from unstract.extensions import db
from unstract.models import Execution, Schedule, ScheduleRun, Workflow
from unstract.services import cron, schedules
from unstract.web.schema_forms import errors_by_attr, friendly

HISTORY_ROWS = 10
COMMON_ZONES = ("UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
                "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney")


@dataclass
class ScheduleRow:
    id: uuid.UUID
    cron: str
    timezone: str
    words: str
    description: str
    is_active: bool
    allow_overlap: bool
    last_run_status: str | None
    last_execution: Execution | None  # the badge shows its failed files too
    upcoming: list[tuple[datetime, str]]  # (UTC, the same moment on the schedule's wall clock)
    runs: list[ScheduleRun]


@dataclass
class SchedulesSection:
    workflow_id: uuid.UUID
    can_edit: bool
    rows: list[ScheduleRow]
    zones: Sequence[str] = COMMON_ZONES
    form: dict = field(default_factory=lambda: {"cron": "", "timezone": "UTC", "description": ""})
    errors: dict = field(default_factory=dict)
    message: str = ""


def wall_clock(moment: datetime, timezone: str) -> str:
    return moment.astimezone(cron.zone(timezone)).strftime("%a %Y-%m-%d %H:%M %Z")


def _row(schedule: Schedule) -> ScheduleRow:
    runs = list(db.session.scalars(schedules.runs_query(schedule).limit(HISTORY_ROWS)))
    return ScheduleRow(id=schedule.id, cron=schedule.cron, timezone=schedule.timezone,
                       words=cron.describe(schedule.cron, schedule.timezone), description=schedule.description,
                       is_active=schedule.is_active, allow_overlap=schedule.allow_overlap,
                       last_run_status=schedules.last_run_status(schedule),
                       last_execution=db.session.get(Execution, schedule.last_execution_id)
                       if schedule.last_execution_id else None,
                       upcoming=[(moment, wall_clock(moment, schedule.timezone))
                                 for moment in schedules.upcoming(schedule)], runs=runs)


def schedules_section(workflow: Workflow, *, can_edit: bool, form: dict | None = None,
                      messages: Sequence[FieldMessage] = (), message: str = "") -> SchedulesSection:
    rows = [_row(s) for s in db.session.scalars(select(Schedule).where(Schedule.workflow_id == workflow.id)
                                                .order_by(Schedule.created_at, Schedule.id))]
    errors = errors_by_attr(messages)
    errors[""] = [friendly(m) for m in messages if m.attr not in ("cron", "timezone", "description")]
    section = SchedulesSection(workflow_id=workflow.id, can_edit=can_edit, rows=rows, errors=errors,
                               message=message)
    if form is not None:
        section.form = form
    return section
